"""`berakhlak learning settle`: decide again what learners of a course have completed (what
the worker does after a content change), for an operator repairing a record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import commands
from app.clock import utcnow
from app.i18n import tr
from modules.accounts import service as accounts_service
from modules.certificates import service as certificates_service
from modules.courses import service as courses_service
from modules.learning import workflow
from modules.progress import service as progress_service

learning_cli = typer.Typer(help="The learning workflow.", no_args_is_help=True)


@learning_cli.command("settle")
def settle(
    course_id: Annotated[str, typer.Argument(help="Course id, e.g. berakhlak.")],
    nip: Annotated[str | None, typer.Option(help="Only this learner (NIP or NI PPPK).")] = None,
) -> None:
    """Settle the course's enrolled learners against its live version: complete those whose
    requirements are met (their certificates become owed). Completions are never taken back."""
    with commands.session() as session:
        catalogue = courses_service.Catalogue(session.get_bind())  # type: ignore[arg-type]
        course = catalogue.get(course_id)
        if course is None:
            raise commands.fail(tr("error: unknown course {course}", course=course_id))
        if nip is not None:
            user = accounts_service.get_by_nip(session=session, nip=nip)
            if user is None or user.id is None:
                raise commands.fail(tr("error: no account with NIP {nip}", nip=nip))
            learners = [user.id]
        else:
            learners, after = [], 0
            while page := progress_service.learners_to_settle(
                session=session, course_id=course_id, after_user_id=after, limit=1000
            ):
                learners += page
                after = page[-1]
        completed = 0
        for user_id in learners:
            if workflow.settle(session=session, user_id=user_id, course=course).completed_now:
                completed += 1
    typer.echo(
        tr(
            "{count} learner(s) settled, {completed} completed now",
            count=len(learners),
            completed=completed,
        )
    )


def _logs(extra: list[Path] | None) -> list[Path]:
    return [commands.settings().issuance_log, *(extra or [])]


def report(done: workflow.Reinstated) -> None:
    """Print what putting back the issuance log did, and what is left to a person."""
    typer.echo(
        tr(
            "{certificates} certificate(s) put back from the issuance log, {revocations} "
            "revocation(s) applied again",
            certificates=len(done.certificates),
            revocations=len(done.revocations),
        )
    )
    for entry in done.unplaced:
        typer.echo(
            tr(
                "not put back: {number} ({nip}, {name}, {course}): no account with that NIP "
                "or no such course; run `berakhlak learning reinstate` once there is",
                number=entry["number"],
                nip=entry["holder_nip"],
                name=entry["holder_name"],
                course=entry["course_id"],
            )
        )
    for entry, problem in done.failed:
        typer.echo(
            tr(
                "not put back: {number} ({nip}, {name}): {problem}",
                number=entry["number"],
                nip=entry["holder_nip"],
                name=entry["holder_name"],
                problem=problem,
            )
        )
    for entry in done.conflicts:
        typer.echo(
            tr(
                "conflict: certificate id {id} is {number} in the issuance log and another "
                "certificate in the database (or in another log line)",
                id=entry["id"],
                number=entry["number"],
            )
        )


def after_restore(extra_logs: list[Path] | None = None) -> workflow.Reinstated:
    """`berakhlak restore`'s last step (and `berakhlak restored`'s): a new restore generation
    and the issuance log's certificates put back, recorded in the log."""
    settings = commands.settings()
    entries = list(certificates_service.read_issuance_log(_logs(extra_logs)))
    with commands.session() as session:
        done = workflow.after_restore(session=session, entries=entries)
    restored = {
        "event": certificates_service.RESTORED,
        "generation": done.generation,
        "at": utcnow().isoformat(),
    }
    try:  # the database has the generation already; the log line helps a later restore
        certificates_service.append_to_issuance_log(settings.issuance_log, [restored])
    except OSError as exc:
        typer.echo(
            tr(
                "warning: the issuance log {file} could not be written ({problem})",
                file=str(settings.issuance_log),
                problem=str(exc),
            ),
            err=True,
        )
    return done


@learning_cli.command("reinstate")
def reinstate(
    log: Annotated[
        list[Path] | None,
        typer.Option(help="Another machine's issuance log (repeat for several)."),
    ] = None,
) -> None:
    """Put back the certificates (and their completions) and revocations that the issuance
    logs have and the database lacks, e.g. once a holder missing after a restore has
    registered again."""
    entries = list(certificates_service.read_issuance_log(_logs(log)))
    with commands.session() as session:
        report(workflow.reinstate(session=session, entries=entries))
