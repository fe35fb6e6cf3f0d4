"""The `berakhlak` command line: the platform's own commands (serve, worker, db) and, as a
composition root, every module's commands (`modules/<name>/cli.py`)."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app import (
    backup,
    commands,
    i18n,
    jobs,
    mail,
    migrate,
    models_registry,  # noqa: F401 - every table known: foreign keys cross modules
    preview,
    privacy,
)
from app.db import make_engine
from app.i18n import tr
from app.observability import configure_logging, use_folder
from app.settings import DEFAULT_SECRET, Settings
from modules.accounts.cli import users_cli
from modules.agencies import service as agencies_service
from modules.agencies.cli import agencies_cli
from modules.authoring import cli as authoring_cli
from modules.certificates import keys
from modules.certificates.cli import certificates_cli, keys_cli
from modules.courses.cli import content_cli
from modules.learning.cli import after_restore as learning_after_restore
from modules.learning.cli import learning_cli
from modules.learning.cli import report as learning_report
from modules.quizzes import cli as quizzes_cli

cli = typer.Typer(help="BerAKHLAK learning platform.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
mail_cli = typer.Typer(help="Outgoing mail.", no_args_is_help=True)
quizzes_cli.register(content_cli)
authoring_cli.register(content_cli)
cli.add_typer(db_cli, name="db")
cli.add_typer(content_cli, name="content")
cli.add_typer(users_cli, name="users")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(agencies_cli, name="agencies")
cli.add_typer(certificates_cli, name="certificates")
cli.add_typer(learning_cli, name="learning")
cli.add_typer(mail_cli, name="mail")


@cli.callback()
def _language(
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of messages: id or en (default: the site default)."),
    ] = None,
) -> None:
    """BerAKHLAK learning platform."""
    i18n.load_catalogues()
    chosen = lang or os.environ.get("BERAKHLAK_DEFAULT_LOCALE", "id")
    if chosen not in i18n.LOCALES:
        typer.echo(f"error: --lang must be one of {', '.join(i18n.LOCALES)}", err=True)
        raise typer.Exit(2)
    i18n.set_locale(chosen)


def _observe(settings: Settings, *, fresh: bool) -> None:
    """Logs with request ids (text or JSON), and the folder where this machine's processes
    keep their metrics (emptied by `serve`, which owns it)."""
    configure_logging(settings.log_format)
    use_folder(settings.metrics_dir, fresh=fresh)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes.")] = None,
    no_migrate: Annotated[
        bool,
        typer.Option(
            "--no-migrate",
            help="Do not upgrade the schema (several instances: run `db upgrade` once, as its "
            "own step); refuse to start if it is not current.",
        ),
    ] = False,
) -> None:
    """Upgrade the database, load the content, and run the web server (with a background
    worker in each process when BERAKHLAK_WORKER_IN_PROCESS says so: on SQLite by default)."""
    import uvicorn

    from app.main import prepare

    settings = commands.settings()
    _observe(settings, fresh=True)
    try:
        prepare(settings, migrate_schema=not no_migrate)
    except migrate.SchemaBehind as exc:
        raise commands.fail(f"error: {exc}") from None
    uvicorn.run(
        "app.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        proxy_headers=True,
        log_level="info",
    )


@cli.command()
def worker(
    once: Annotated[
        bool, typer.Option(help="Run what is ready now, then stop (for cron or a test).")
    ] = False,
) -> None:
    """Run background jobs: owed certificates, exports, attempt expiry, re-evaluation after a
    content change, retention. Any number of workers may run; stop with Ctrl-C or SIGTERM
    (a job in hand is finished first)."""
    from app.main import build_state, make_worker

    settings = commands.settings()
    _observe(settings, fresh=False)
    state = build_state(settings)
    runner = make_worker(state)
    if once:
        ran = runner.run_until_idle()
        typer.echo(tr("{count} job(s) run", count=ran))
        state.engine.dispose()
        return
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()
        jobs.wake()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.run_forever(stop)
    state.engine.dispose()


@mail_cli.command("test")
def mail_test(
    to: Annotated[str, typer.Option(help="Address to send the test mail to.")],
    name: Annotated[str, typer.Option(help="The reader's name.")] = "",
    lang: Annotated[str, typer.Option(help="Its language: id or en.")] = "id",
) -> None:
    """Queue a test mail (the worker sends it) to check the mail settings."""
    settings = commands.settings()
    with commands.session() as session:
        try:
            row = mail.queue(
                session,
                settings,
                to=to,
                name=name or to,
                locale=lang,
                template="test",
                context={"name": name or to},
                purpose="test",
            )
        except mail.MailRefused as exc:
            raise commands.fail(tr("error: {problem}", problem=str(exc))) from None
        session.commit()
        typer.echo(tr("mail {id} queued for {address}", id=row.id, address=row.to_address))


@mail_cli.command("list")
def mail_list() -> None:
    """The mail written to BERAKHLAK_MAIL_DIR (when no SMTP server is set), oldest first."""
    settings = commands.settings()
    for name, message in mail.folder_messages(settings.mail_dir):
        typer.echo(f"{name}  {message['Date']}  {message['To']}  {message['Subject']}")


@mail_cli.command("show")
def mail_show(
    name: Annotated[str, typer.Argument(help="A name from `mail list`, or `last`.")],
) -> None:
    """One mail of the folder: its headers and text."""
    settings = commands.settings()
    found = mail.folder_messages(settings.mail_dir)
    chosen = found[-1:] if name == "last" else [(n, m) for n, m in found if n == name]
    if not chosen:
        raise commands.fail(
            tr("error: no mail {name} in {folder}", name=name, folder=str(settings.mail_dir))
        )
    message = chosen[0][1]
    for header in ("Date", "From", "To", "Subject", "Message-ID"):
        typer.echo(f"{header}: {message[header]}")
    body = message.get_body(preferencelist=("plain",))
    typer.echo("")
    typer.echo(body.get_content() if body is not None else "")


@mail_cli.command("bounce")
def mail_bounce(
    source: Annotated[
        Path | None, typer.Argument(help="A delivery status notification (.eml); none: stdin.")
    ] = None,
) -> None:
    """Record a bounce: the mail system pipes each delivery status notification (RFC 3464)
    here; the mail it names is marked failed with the reason. Exits 0 also for a report that
    names no mail of ours (a pipe must not bounce the bounce)."""
    raw = source.read_bytes() if source is not None else sys.stdin.buffer.read()
    engine = commands.engine()
    try:
        found = mail.record_bounces(engine, raw)
    finally:
        engine.dispose()
    if not found:
        typer.echo(tr("no failed delivery in this report"))
    for bounce in found:
        line = tr(
            "{address}: {status} {diagnostic}",
            address=bounce.recipient,
            status=bounce.status,
            diagnostic=bounce.diagnostic,
        )
        typer.echo(line if bounce.recorded else tr("{line} (no mail of ours)", line=line))


def _backup(settings: Settings, target: Path) -> None:
    """Back up into `target` and say so (exit with the problem otherwise)."""
    engine = make_engine(settings.database_url, settings.db_limits)
    try:
        manifest = backup.backup(
            engine,
            settings.database_admin_url or settings.database_url,
            settings.secret_key,
            migrate.current_revision(engine) or "",
            target,
        )
    except backup.BackupError as exc:
        raise _backup_problem(exc) from None
    finally:
        engine.dispose()
    typer.echo(
        tr(
            "backed up to {folder}: {count} certificate(s), restore generation {generation}",
            folder=str(target),
            count=manifest.certificates,
            generation=manifest.generation,
        )
    )


def _preview_start(directory: Path, base: Settings) -> Any:
    """The temporary installation of `content preview`: schema, agencies, the content, and a
    learner to log in as (its password is printed)."""
    from app.main import create_app, prepare
    from modules.accounts import service as accounts_service
    from modules.accounts.schemas import parse_registration

    work, root, settings = preview.installation(directory, base)
    prepare(settings)
    app = create_app(settings)
    password = secrets.token_urlsafe(12)
    with Session(app.state.engine) as session:
        agency = agencies_service.get_by_code(session=session, code="LB-BKN")
        assert agency is not None and agency.id is not None
        data = parse_registration(
            {
                "nip": "199001012015031001",
                "name": "Pratinjau Penulis",
                "email": preview.PREVIEW_EMAIL,
                "agency_id": str(agency.id),
                "work_unit": "Pratinjau",
                "position": "Penulis",
                "grade": "III/a",
                "password": password,
                "password_confirm": password,
                "privacy": "yes",
            },
            {agency.id},
        )
        accounts_service.register(
            session=session, data=data, verified=True, privacy_version=privacy.version(settings)
        )
    return preview.Preview(
        app, directory.resolve(), root, work, password, preview.fingerprint(directory)
    )


def _preview_reload(shown: Any) -> bool:
    from modules.courses import service as courses_service

    return preview.reload_if_changed(shown, courses_service.sync_content)


@content_cli.command("preview")
def content_preview(
    directory: Annotated[Path, typer.Argument(help="A course's folder, or a content folder.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve course content from disk for its author, on a temporary database of its own (the
    learners' data is never touched); the content is loaded again whenever a file changes:
    save, then reload the page."""
    import uvicorn

    from modules.courses.content import load_for_check

    if not directory.is_dir():
        raise commands.fail(tr("error: {folder} is not a folder", folder=directory))
    courses, errors = load_for_check(directory)
    for error in sorted({*errors, *(e for c in courses for e in c.errors)}):
        typer.echo(str(error))
    if not any(c.content for c in courses):
        raise commands.fail(tr("error: no course without problems to show"))
    shown = _preview_start(directory, commands.settings())
    typer.echo(
        tr(
            "Preview on http://{host}:{port}/ — log in as {email} with the password {password} "
            "(a temporary database in {work}; learners' data is not touched).",
            host=host,
            port=port,
            email=preview.PREVIEW_EMAIL,
            password=shown.password,
            work=shown.work,
        )
    )
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(1.0):
            if _preview_reload(shown):
                found, problems = load_for_check(directory)
                for error in sorted({*problems, *(e for c in found for e in c.errors)}):
                    typer.echo(str(error))
                typer.echo(tr("content loaded again"), err=True)

    threading.Thread(target=watch, daemon=True, name="preview-watch").start()
    try:
        uvicorn.run(shown.app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        preview.close(shown)


@cli.command("backup")
def backup_command(
    target: Annotated[Path, typer.Argument(help="A new folder to back up into.", metavar="FOLDER")],
) -> None:
    """Back the database up (signing keys included) into a new folder, while the platform
    runs. Keep BERAKHLAK_SECRET_KEY (never in the backup) and the issuance log apart from it."""
    _backup(commands.settings(), target)


def _backup_problem(exc: backup.BackupError) -> typer.Exit:
    return commands.fail(tr("error: {problem}", problem=tr(exc.message, **exc.values)))


_LOG_HELP = (
    "Another issuance log to read besides BERAKHLAK_ISSUANCE_LOG (another machine's); repeat "
    "the option for each file."
)


def _logs_or_exit(settings: Settings, logs: list[Path] | None) -> list[Path]:
    """The logs a restore reads: this machine's, and those given (each must exist)."""
    for given in logs or []:
        if not given.is_file():
            raise commands.fail(tr("error: there is no issuance log {file}", file=str(given)))
    if not settings.issuance_log.is_file():
        typer.echo(
            tr(
                "warning: the issuance log {file} does not exist: certificates issued after the "
                "backup cannot be put back from it",
                file=str(settings.issuance_log),
            )
        )
    return logs or []


def _confirm(settings: Settings, question: str, yes: bool) -> None:
    if settings.secret_key == DEFAULT_SECRET:
        raise commands.fail(
            tr(
                "error: BERAKHLAK_SECRET_KEY is the development default: load the installation's "
                "settings (its environment file) first"
            )
        )
    if not yes and not typer.confirm(question):
        typer.echo(tr("nothing was changed"))
        raise typer.Exit(1)


def _stopped_or_exit(admin_url: str, force: bool) -> None:
    users = [] if force else backup.in_use(admin_url)
    if users:
        typer.echo(
            tr(
                "error: the database is in use: stop every server and worker (and PgBouncer) "
                "first, or pass --force:"
            ),
            err=True,
        )
        for user in users:
            typer.echo(f"  {user}", err=True)
        raise typer.Exit(2)


@cli.command("verify-backup")
def verify_backup_command(
    source: Annotated[Path, typer.Argument(help="The backup folder.", metavar="FOLDER")],
) -> None:
    """Check a backup without restoring it: finished, readable, as its manifest says."""
    try:
        manifest = backup.verify(source)
    except backup.BackupError as exc:
        raise _backup_problem(exc) from None
    typer.echo(
        tr(
            "backup of {date} is readable: {count} certificate(s), schema {schema}",
            date=manifest.created_at,
            count=manifest.certificates,
            schema=manifest.schema,
        )
    )


@cli.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="The backup folder.", metavar="FOLDER")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    new_secret: Annotated[
        bool,
        typer.Option(
            "--new-secret",
            help="The backup was made under another BERAKHLAK_SECRET_KEY that is lost: make "
            "a new signing key with this one.",
        ),
    ] = False,
    log: Annotated[list[Path] | None, typer.Option(help=_LOG_HELP)] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Restore although the database is in use.")
    ] = False,
) -> None:
    """Replace the database with a backup (stop every server and worker first), bring its
    schema up to date, start a new restore generation of certificate numbers and put back,
    from the issuance log, the certificates issued and revoked since the backup."""
    from alembic.script import ScriptDirectory

    settings = commands.settings()
    admin_url = settings.database_admin_url or settings.database_url
    logs = _logs_or_exit(settings, log)
    engine = make_engine(admin_url, settings.db_limits)
    scripts = ScriptDirectory.from_config(migrate.alembic_config(engine))
    engine.dispose()
    known = {rev.revision for rev in scripts.walk_revisions()}
    try:
        manifest = backup.check(
            admin_url,
            settings.secret_key,
            source,
            new_secret=new_secret,
            known=known,
        )
    except backup.BackupError as exc:
        raise _backup_problem(exc) from None
    target = make_url(admin_url).render_as_string(hide_password=True)
    read = ", ".join(str(p) for p in [settings.issuance_log, *logs])
    _confirm(
        settings,
        tr(
            "Replace the database {database} with the backup of {date} in {folder}, then put "
            "back what {logs} have?",
            database=target,
            date=manifest.created_at,
            folder=str(source),
            logs=read,
        ),
        yes,
    )
    _stopped_or_exit(admin_url, force)
    try:
        backup.restore(admin_url, source, manifest)
    except backup.BackupError as exc:
        raise _backup_problem(exc) from None
    typer.echo(tr("restored the backup of {date}", date=manifest.created_at))
    _after_restore(settings, logs, rotate=new_secret)


@cli.command("restored")
def restored_command(
    log: Annotated[list[Path] | None, typer.Option(help=_LOG_HELP)] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Go on although the database is in use.")
    ] = False,
) -> None:
    """After a restore done another way (PostgreSQL point-in-time recovery, pg_restore by
    hand, a disk snapshot), before any server starts: check the schema and the signing keys,
    start a new restore generation and put back what the issuance log has. Run it once per
    restore: each run starts a new generation."""
    settings = commands.settings()
    admin_url = settings.database_admin_url or settings.database_url
    logs = _logs_or_exit(settings, log)
    target = make_url(admin_url).render_as_string(hide_password=True)
    _confirm(
        settings,
        tr(
            "Start a new restore generation of certificate numbers on {database} (it was "
            "restored from a backup), and put back what the issuance logs have?",
            database=target,
        ),
        yes,
    )
    _stopped_or_exit(admin_url, force)
    _after_restore(settings, logs, rotate=False)


def _after_restore(settings: Settings, logs: list[Path], *, rotate: bool) -> None:
    engine = make_engine(settings.database_admin_url or settings.database_url, settings.db_limits)
    try:
        with migrate.exclusive(engine):
            migrate.upgrade(engine)
        with Session(engine) as session:
            if rotate:
                keys.rotate(session=session, secret=settings.secret_key)
            elif not keys.usable(session=session, secret=settings.secret_key):
                raise commands.fail(
                    tr(
                        "error: the signing keys do not open with this BERAKHLAK_SECRET_KEY: "
                        "use the secret the backup was made with, or `berakhlak keys rotate`"
                    )
                )
    finally:
        engine.dispose()
    done = learning_after_restore(logs)
    typer.echo(tr("restore generation {generation}", generation=done.generation))
    learning_report(done)


@db_cli.command("upgrade")
def db_upgrade(
    revision: str = "head",
    backup_to: Annotated[
        Path | None,
        typer.Option("--backup", help="Back up into this new folder before migrating."),
    ] = None,
) -> None:
    """Apply Alembic migrations up to REVISION (default: head), over
    BERAKHLAK_DATABASE_ADMIN_URL when it is set, then add the reference agencies that are
    missing (so that `users create --agency` works on a new database)."""
    if backup_to is not None:
        _backup(commands.settings(), backup_to)
    settings = commands.settings()
    engine = make_engine(settings.database_admin_url or settings.database_url, settings.db_limits)
    try:
        migrate.upgrade(engine, revision)
        if revision == "head":
            with Session(engine) as session:
                agencies_service.seed_reference(session=session)
    finally:
        engine.dispose()
    typer.echo(f"database upgraded to {revision}")


@db_cli.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", help="What the migration does.")],
) -> None:
    """(Developers) autogenerate a migration from the models."""
    migrate.revision(commands.engine(), message)


def main() -> None:
    """Entry point of the `berakhlak` console script."""
    cli()
