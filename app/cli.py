"""The `berakhlak` command line."""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app import (
    clock,
    i18n,
    migrate,
    models_registry,  # noqa: F401 - every table known: foreign keys cross modules
)
from app.db import make_engine
from app.i18n import tr
from app.settings import Settings

cli = typer.Typer(help="BerAKHLAK learning platform.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
content_cli = typer.Typer(help="Course content.", no_args_is_help=True)
users_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
keys_cli = typer.Typer(help="Signing keys for certificates.", no_args_is_help=True)
agencies_cli = typer.Typer(help="The agency list.", no_args_is_help=True)
certificates_cli = typer.Typer(help="Certificates.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(content_cli, name="content")
cli.add_typer(users_cli, name="users")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(agencies_cli, name="agencies")
cli.add_typer(certificates_cli, name="certificates")


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


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"configuration error: {err['msg']}", err=True)
        raise typer.Exit(2) from None


def prepare(settings: Settings) -> None:
    """Upgrade the schema, seed reference data and sync content: what `serve` does first."""
    from modules.agencies import service as agencies_service
    from modules.courses import service as courses_service

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        agencies_service.seed_reference(session=session)
    courses_service.sync_content(engine=engine, root=settings.content_dir)
    engine.dispose()


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes.")] = None,
) -> None:
    """Upgrade the database, load the content, and run the web server."""
    import uvicorn

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    prepare(settings)
    uvicorn.run(
        "app.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        proxy_headers=True,
        log_level="info",
    )


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply Alembic migrations up to REVISION (default: head)."""
    engine = make_engine(_settings().database_url)
    migrate.upgrade(engine, revision)
    typer.echo(f"database upgraded to {revision}")


@db_cli.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", help="What the migration does.")],
) -> None:
    """(Developers) autogenerate a migration from the models."""
    migrate.revision(make_engine(_settings().database_url), message)


@content_cli.command("check")
def content_check(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Validate course content; print every problem as path:line: message."""
    from modules.courses.content import load_content_dir

    root = directory or _settings().content_dir
    courses, errors = load_content_dir(root)
    for course in courses:
        errors.extend(course.errors)
    for error in sorted(set(errors)):
        typer.echo(str(error))
    for course in courses:
        if course.content:
            lessons = sum(len(m.lessons) for m in course.content.modules)
            summary = tr(
                "ok: {course} {version} ({modules} modules, {lessons} lessons)",
                course=course.content.id,
                version=course.content.version_label,
                modules=len(course.content.modules),
                lessons=lessons,
            )
            typer.echo(summary, err=True)
    if errors:
        typer.echo(tr("{count} problem(s) found", count=len(set(errors))), err=True)
        raise typer.Exit(1)


@content_cli.command("sync")
def content_sync(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Load content into the database; a broken course keeps its last good version live."""
    from modules.courses import service as courses_service

    settings = _settings()
    engine = make_engine(settings.database_url)
    results = courses_service.sync_content(engine=engine, root=directory or settings.content_dir)
    failed = False
    for result in results:
        for error in result.errors:
            typer.echo(str(error))
        if result.errors:
            failed = True
            name = result.course_id or result.folder
            line = (
                tr(
                    "broken: {course} (still serving {version})",
                    course=name,
                    version=result.version,
                )
                if result.kept_previous
                else tr("broken: {course} (not served)", course=name)
            )
            typer.echo(line, err=True)
        else:
            line = (
                tr(
                    "synced: {course} {version} (new version)",
                    course=result.course_id,
                    version=result.version,
                )
                if result.created
                else tr(
                    "synced: {course} {version} (unchanged)",
                    course=result.course_id,
                    version=result.version,
                )
            )
            typer.echo(line, err=True)
    if failed:
        raise typer.Exit(1)


def _import_quiz(
    kind: str, source: Path, out: Path, quiz_id: str | None, title: str | None, pass_mark: int
) -> None:
    from modules.quizzes import gift

    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(tr("error: cannot read {file}: {problem}", file=source, problem=exc), err=True)
        raise typer.Exit(2) from None
    ident = quiz_id or gift.slug(source.stem, "kuis")
    convert = gift.convert_gift if kind == "gift" else gift.convert_aiken
    result = convert(text, ident, title or source.stem, pass_mark)
    for line, message in result.skipped:
        typer.echo(f"{source}:{line}: {message}", err=True)
    if not result.count:
        typer.echo(tr("error: no question could be converted"), err=True)
        raise typer.Exit(1)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{ident}.quiz.md"
    target.write_text(result.text, encoding="utf-8")
    typer.echo(
        tr(
            "{count} question(s) written to {file}; {skipped} note(s) above",
            count=result.count,
            file=target,
            skipped=len(result.skipped),
        )
    )


@content_cli.command("import-gift")
def content_import_gift(
    file: Annotated[Path, typer.Argument(help="Moodle GIFT file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the quiz file (a module).")],
    quiz_id: Annotated[
        str | None, typer.Option("--id", help="Quiz id (default: file name).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Quiz title.")] = None,
    pass_mark: Annotated[int, typer.Option(help="Pass mark, percent.")] = 70,
) -> None:
    """Convert a Moodle GIFT question file into a quiz file; unsupported questions are
    reported with their line and skipped."""
    _import_quiz("gift", file, out, quiz_id, title, pass_mark)


@content_cli.command("import-aiken")
def content_import_aiken(
    file: Annotated[Path, typer.Argument(help="Aiken question file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the quiz file (a module).")],
    quiz_id: Annotated[
        str | None, typer.Option("--id", help="Quiz id (default: file name).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Quiz title.")] = None,
    pass_mark: Annotated[int, typer.Option(help="Pass mark, percent.")] = 70,
) -> None:
    """Convert an Aiken question file into a quiz file."""
    _import_quiz("aiken", file, out, quiz_id, title, pass_mark)


@users_cli.command("create")
def users_create(
    nip: Annotated[str, typer.Option(help="18-digit NIP or NI PPPK.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Email address.")],
    agency: Annotated[str, typer.Option(help="Agency code, e.g. LB-BKN.")],
    work_unit: Annotated[str, typer.Option(help="Work unit (unit kerja).")] = "-",
    position: Annotated[str, typer.Option(help="Position (jabatan).")] = "-",
    grade: Annotated[str | None, typer.Option(help="Grade, e.g. III/a or IX.")] = None,
    role: Annotated[str | None, typer.Option(help="Extra role: trainer, hr or admin.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Create an account (use --role admin for the first administrator)."""
    from modules.accounts import service as accounts_service
    from modules.accounts.nip import NipError, grades_for, parse_nip
    from modules.accounts.schemas import FormError, parse_registration
    from modules.agencies import service as agencies_service

    if role is not None and role not in accounts_service.ROLES:
        typer.echo(
            f"error: role: unknown role {role!r}; choose one of "
            f"{', '.join(accounts_service.ROLES)}",
            err=True,
        )
        raise typer.Exit(2)
    settings = _settings()
    engine = make_engine(settings.database_url)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    with Session(engine) as session:
        found = agencies_service.get_by_code(session=session, code=agency)
        if found is None:
            typer.echo(f"error: unknown agency code {agency!r}", err=True)
            raise typer.Exit(2)
        try:
            kind = parse_nip(nip).employment_type
        except NipError as exc:
            typer.echo(f"error: nip: {exc}", err=True)
            raise typer.Exit(2) from None
        form = {
            "nip": nip,
            "name": name,
            "email": email,
            "agency_id": str(found.id),
            "work_unit": work_unit,
            "position": position,
            "grade": grade or grades_for(kind)[0],
            "password": password,
            "password_confirm": password,
        }
        try:
            data = parse_registration(form, {found.id} if found.id else set())
            user = accounts_service.register(session=session, data=data)
            if role:
                # HR sees the people of an agency: their own, until grants can be edited
                scope = found.id if role == "hr" else None
                accounts_service.grant_role(session=session, user=user, role=role, agency_id=scope)
        except (FormError, ValueError) as exc:
            detail = exc.errors if isinstance(exc, FormError) else {"role": str(exc)}
            for field, message in detail.items():
                typer.echo(f"error: {field}: {message}", err=True)
            raise typer.Exit(2) from None
        created = f"created user {data.nip} ({data.name})"
    typer.echo(created + (f" with role {role}" if role else ""))


@users_cli.command("set-password")
def users_set_password(
    nip: Annotated[str, typer.Option(help="NIP or NI PPPK of the account.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Set a new password for a learner who forgot theirs; their sessions end and any login
    lockout is lifted."""
    from modules.accounts import service as accounts_service
    from modules.accounts.schemas import FormError

    engine = make_engine(_settings().database_url)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    with Session(engine) as session:
        user = _user_or_exit(session, nip)
        try:
            accounts_service.reset_password(session=session, user=user, new=password)
        except FormError as exc:
            reason = exc.errors["password"]
            typer.echo(tr("error: {problem}", problem=i18n.gettext(reason)), err=True)
            raise typer.Exit(2) from None
    typer.echo(tr("password changed for {nip}; their sessions have ended", nip=nip))


def _user_or_exit(session: Session, nip: str):  # type: ignore[no-untyped-def]
    from modules.accounts import service as accounts_service

    user = accounts_service.get_by_nip(session=session, nip=nip)
    if user is None:
        typer.echo(tr("error: no account with NIP {nip}", nip=nip), err=True)
        raise typer.Exit(2)
    return user


@users_cli.command("grant")
def users_grant(
    nip: Annotated[str, typer.Option(help="NIP or NI PPPK of the account.")],
    role: Annotated[str, typer.Option(help="trainer, hr or admin.")],
    agency: Annotated[
        str | None, typer.Option(help="HR: code of the agency whose people it covers.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="HR: only this work unit of the agency.")] = None,
    course: Annotated[
        str | None, typer.Option(help="Trainer: the course id (default: every course).")
    ] = None,
) -> None:
    """Grant a role with its scope (recorded in the audit trail)."""
    from modules.accounts import grants
    from modules.agencies import service as agencies_service

    engine = make_engine(_settings().database_url)
    with Session(engine) as session:
        user = _user_or_exit(session, nip)
        agency_id = None
        if agency is not None:
            found = agencies_service.get_by_code(session=session, code=agency)
            if found is None:
                typer.echo(tr("error: unknown agency code {code}", code=agency), err=True)
                raise typer.Exit(2)
            agency_id = found.id
        try:
            grants.grant(
                session=session,
                user=user,
                role=role,
                agency_id=agency_id,
                work_unit=unit,
                course_id=course,
                address="cli",
            )
        except grants.GrantError as exc:
            typer.echo(tr("error: {problem}", problem=i18n.gettext(str(exc))), err=True)
            raise typer.Exit(2) from None
        except IntegrityError:
            typer.echo(tr("error: unknown course {course}", course=course), err=True)
            raise typer.Exit(2) from None
    typer.echo(tr("{nip} is now {role}", nip=nip, role=role))


@users_cli.command("grants")
def users_grants(nip: Annotated[str, typer.Option(help="NIP or NI PPPK of the account.")]) -> None:
    """List a user's grants: id, role, agency, unit, course."""
    from modules.accounts import grants

    engine = make_engine(_settings().database_url)
    with Session(engine) as session:
        user = _user_or_exit(session, nip)
        for row in grants.grants_of(session=session, user_id=user.id):  # type: ignore[arg-type]
            fields = (row.id, row.role, row.agency_id, row.work_unit, row.course_id)
            typer.echo("\t".join("-" if v is None else str(v) for v in fields))


@users_cli.command("withdraw")
def users_withdraw(
    nip: Annotated[str, typer.Option(help="NIP or NI PPPK of the account.")],
    grant_id: Annotated[int, typer.Option("--grant", help="Grant id (see `users grants`).")],
) -> None:
    """Withdraw one grant (recorded in the audit trail)."""
    from modules.accounts import grants
    from modules.accounts import service as accounts_service

    engine = make_engine(_settings().database_url)
    with Session(engine) as session:
        user = accounts_service.get_by_nip(session=session, nip=nip)
        if user is None or not grants.withdraw(
            session=session, user=user, grant_id=grant_id, actor_id=None, address="cli"
        ):
            typer.echo(tr("error: no such grant"), err=True)
            raise typer.Exit(2)
    typer.echo(tr("grant {id} withdrawn", id=grant_id))


@users_cli.command("import")
def users_import(
    file: Annotated[Path, typer.Argument(help="Roster: CSV (UTF-8, , or ;) or XLSX.")],
    as_nip: Annotated[
        str, typer.Option("--as", help="NIP of the HR officer or admin whose scope applies.")
    ],
    apply: Annotated[bool, typer.Option(help="Apply the valid rows (default: dry run).")] = False,
) -> None:
    """Add and update people from a roster, within the scope of the HR officer given with
    --as; prints each row that is created, updated or rejected, then the counts. A dry run
    unless --apply; exit 1 when the file or a row is refused."""

    from modules.accounts import grants, roster, roster_file

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    with Session(engine) as session:
        officer = _user_or_exit(session, as_nip)
        scope = grants.hr_scope(session=session, user_id=officer.id)
        if scope.empty:
            typer.echo(
                tr("error: {nip} manages nobody (no HR or admin role)", nip=as_nip), err=True
            )
            raise typer.Exit(2)
        try:
            table = roster_file.read(raw, max_rows=settings.roster_max_rows)
        except roster_file.RosterFileError as exc:
            typer.echo(f"{file}: {i18n.gettext(exc.message) % exc.values}", err=True)
            raise typer.Exit(1) from None
        today = clock.today(settings.tz)
        try:
            if apply:
                plan = roster.apply(
                    session=session,
                    table=table,
                    scope=scope,
                    today=today,
                    actor_id=officer.id,
                    address="cli",
                    filename=file.name,
                    sha256=hashlib.sha256(raw).hexdigest(),
                )
            else:
                plan = roster.check(session=session, table=table, scope=scope, today=today)
        except roster.RosterError as exc:
            typer.echo(f"{file}: {i18n.gettext(str(exc))}", err=True)
            raise typer.Exit(1) from None
    for result in plan.results:
        for reason in result.reasons:
            column = plan.headers.get(reason.column, reason.column)
            message = i18n.gettext(reason.message) % reason.values
            typer.echo(f"{file}:{result.row}: {column}: {message}")
        if result.outcome in ("created", "updated"):
            changed = ", ".join(plan.headers.get(c, c) for c in result.fields)
            outcome = i18n.gettext(roster.OUTCOME_LABELS[result.outcome])
            typer.echo(
                f"{file}:{result.row}: {result.nip} {outcome}"
                + (f" ({changed})" if changed else "")
            )
    counts = ", ".join(
        f"{i18n.gettext(roster.OUTCOME_LABELS[k])} {v}" for k, v in plan.counts.items()
    )
    typer.echo(
        tr("applied: {counts}", counts=counts) if apply else tr("dry run: {counts}", counts=counts)
    )
    if plan.count("rejected"):
        raise typer.Exit(1)


@agencies_cli.command("import")
def agencies_import(
    file: Annotated[Path, typer.Argument(help="CSV: code,name,kind,parent_code[,active].")],
    apply: Annotated[bool, typer.Option(help="Apply the valid rows (default: dry run).")] = False,
) -> None:
    """Add and update agencies from a CSV; prints each row's outcome. A dry run unless
    --apply; exit 1 when a row or the file is refused."""
    from modules.agencies import editing

    engine = make_engine(_settings().database_url)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    with Session(engine) as session:
        report = editing.import_csv(
            session=session, raw=raw, apply=apply, actor_id=None, address="cli"
        )
    if report.problem:
        typer.echo(f"{file}: {i18n.gettext(report.problem)}", err=True)
        raise typer.Exit(1)
    for row in report.rows:
        if row.outcome == "rejected":
            for column, message in row.reasons.items():
                typer.echo(f"{file}:{row.line}: {column}: {i18n.gettext(message)}")
    counts = {o: report.count(o) for o in ("created", "updated", "unchanged", "rejected")}
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    typer.echo(("applied: " if apply else "dry run: ") + summary)
    if counts["rejected"]:
        raise typer.Exit(1)


@keys_cli.command("generate")
def keys_generate() -> None:
    """Make a new signing key; it signs from now on (the others stay published)."""
    from modules.certificates import keys

    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        row = keys.generate(session=session, secret=settings.secret_key)
    typer.echo(tr("new signing key {kid}", kid=row.kid))


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Retire the current signing key(s) and make a new one; retired keys stay published so
    credentials they signed still verify."""
    from modules.certificates import keys

    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        retired, row = keys.rotate(session=session, secret=settings.secret_key)
    for kid in retired:
        typer.echo(tr("retired {kid} (still published)", kid=kid))
    typer.echo(tr("new signing key {kid}", kid=row.kid))


@keys_cli.command("list")
def keys_list() -> None:
    """Every signing key, newest first: key id, made, retired."""
    from modules.certificates import keys

    engine = make_engine(_settings().database_url)
    with Session(engine) as session:
        for row in keys.listing(session=session):
            retired = row.retired_at.isoformat(timespec="seconds") if row.retired_at else "-"
            typer.echo(f"{row.kid}\t{row.created_at.isoformat(timespec='seconds')}\t{retired}")


def _certificate_or_exit(session: Session, ref: str):  # type: ignore[no-untyped-def]
    from modules.certificates import service as certificates_service

    found = certificates_service.find(session=session, ref=ref)
    if found is None:
        typer.echo(tr("error: no certificate {ref}", ref=ref), err=True)
        raise typer.Exit(2)
    return found


@certificates_cli.command("revoke")
def certificates_revoke(
    ref: Annotated[str, typer.Argument(help="Certificate number or verification code.")],
    reason: Annotated[str, typer.Option(help="Why (shown on the verification page).")],
) -> None:
    """Revoke a certificate with a reason (recorded in the audit trail)."""
    from modules.certificates import service as certificates_service

    engine = make_engine(_settings().database_url)
    with Session(engine) as session:
        certificate = _certificate_or_exit(session, ref)
        try:
            certificates_service.revoke(
                session=session,
                certificate=certificate,
                reason=reason,
                actor_id=None,
                address="cli",
            )
        except certificates_service.CertificateError as exc:
            typer.echo(tr("error: {problem}", problem=i18n.gettext(str(exc))), err=True)
            raise typer.Exit(2) from None
        typer.echo(tr("revoked {number}", number=certificate.number))


@certificates_cli.command("reissue")
def certificates_reissue(
    ref: Annotated[str, typer.Argument(help="Certificate number or verification code.")],
) -> None:
    """Issue a new certificate with the holder's current details (after a name correction);
    the old one is revoked and points to the new one."""
    from modules.certificates import service as certificates_service

    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        certificate = _certificate_or_exit(session, ref)
        old = certificate.number
        try:
            new = certificates_service.reissue(
                session=session,
                certificate=certificate,
                policy=certificates_service.policy_from(settings),
                actor_id=None,
                address="cli",
            )
        except certificates_service.CertificateError as exc:
            typer.echo(tr("error: {problem}", problem=i18n.gettext(str(exc))), err=True)
            raise typer.Exit(2) from None
        typer.echo(tr("{old} replaced by {new}", old=old, new=new.number))


def main() -> None:
    """Entry point of the `berakhlak` console script."""
    cli()
