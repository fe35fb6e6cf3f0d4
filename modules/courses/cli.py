"""`berakhlak content check|sync`: validate course folders, and publish them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import commands
from app.i18n import tr
from modules.courses import item_check, service
from modules.courses.content import load_for_check

content_cli = typer.Typer(help="Course content.", no_args_is_help=True)


@content_cli.command("check")
def content_check(
    directory: Annotated[Path | None, typer.Argument()] = None,
    items: Annotated[
        str,
        typer.Option(
            help="The item-writing check: warn (print its warnings), fail (they count as "
            "problems) or off."
        ),
    ] = "warn",
) -> None:
    """Validate course content (the content folder, or one course's folder); print every
    problem as path:line: message, then the item-writing warnings."""
    if items not in ("warn", "fail", "off"):
        raise typer.BadParameter(tr("--items is warn, fail or off"))
    root = directory or commands.settings().content_dir
    courses, errors = load_for_check(root)
    for course in courses:
        errors.extend(course.errors)
    for error in sorted(set(errors)):
        typer.echo(str(error))
    warnings = []
    if items != "off":
        for course in courses:
            if course.content is not None:
                warnings += item_check.check_course(course.content, _shown(course.folder))
    for warning in sorted(set(warnings), key=lambda w: (w.path, w.line, w.message)):
        typer.echo(str(warning))
    if items == "fail" and warnings:
        errors = [*errors, *warnings]  # type: ignore[list-item]
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


def _sync_line(result: service.CourseSync) -> str:
    name = result.course_id or result.folder
    if result.errors:
        if result.kept_previous:
            return tr(
                "broken: {course} (still serving {version})", course=name, version=result.version
            )
        return tr("broken: {course} (not served)", course=name)
    if result.created:
        return tr("synced: {course} {version} (new version)", course=name, version=result.version)
    return tr("synced: {course} {version} (unchanged)", course=name, version=result.version)


@content_cli.command("sync")
def content_sync(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Load content into the database; a broken course keeps its last good version live. A
    new live version is published: the worker settles its learners again."""
    settings = commands.settings()
    engine = commands.engine()
    try:
        results = service.sync_content(engine=engine, root=directory or settings.content_dir)
    finally:
        engine.dispose()
    for result in results:
        for error in result.errors:
            typer.echo(str(error))
        typer.echo(_sync_line(result), err=True)
    if any(result.errors for result in results):
        raise typer.Exit(1)


def _shown(folder: Path) -> str:
    """A course folder as `content check` prints paths: relative to where it runs."""
    try:
        return folder.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return folder.as_posix()
