"""`berakhlak learning settle`: decide again what learners of a course have completed (what
the worker does after a content change), for an operator repairing a record."""

from __future__ import annotations

from typing import Annotated

import typer

from app import commands
from app.i18n import tr
from modules.accounts import service as accounts_service
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
