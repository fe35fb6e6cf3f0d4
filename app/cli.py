"""The `berakhlak` command line: the platform's own commands (serve, worker, db) and, as a
composition root, every module's commands (`modules/<name>/cli.py`)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated

import typer
from sqlmodel import Session

from app import (
    commands,
    i18n,
    jobs,
    migrate,
    models_registry,  # noqa: F401 - every table known: foreign keys cross modules
)
from app.i18n import tr
from app.observability import configure_logging, use_folder
from app.settings import Settings
from modules.accounts.cli import users_cli
from modules.agencies import service as agencies_service
from modules.agencies.cli import agencies_cli
from modules.certificates.cli import certificates_cli, keys_cli
from modules.courses.cli import content_cli
from modules.learning.cli import learning_cli
from modules.quizzes import cli as quizzes_cli

cli = typer.Typer(help="BerAKHLAK learning platform.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
quizzes_cli.register(content_cli)
cli.add_typer(db_cli, name="db")
cli.add_typer(content_cli, name="content")
cli.add_typer(users_cli, name="users")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(agencies_cli, name="agencies")
cli.add_typer(certificates_cli, name="certificates")
cli.add_typer(learning_cli, name="learning")


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


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply Alembic migrations up to REVISION (default: head), then add the reference
    agencies that are missing (so that `users create --agency` works on a new database)."""
    engine = commands.engine()
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
