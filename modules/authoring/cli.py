"""`berakhlak content import-zip`: take in a course uploaded as a zip of its folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import commands
from app.i18n import tr
from modules.authoring import archive


def limits_from(settings: object) -> archive.Limits:
    """The archive limits of the settings."""
    return archive.Limits(
        archive_bytes=settings.upload_max_bytes,  # type: ignore[attr-defined]
        files=settings.upload_max_files,  # type: ignore[attr-defined]
        unpacked_bytes=settings.upload_max_unpacked_bytes,  # type: ignore[attr-defined]
    )


def import_zip(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    replace: Annotated[
        bool, typer.Option(help="Replace the course of the same id already in the folder.")
    ] = False,
) -> None:
    """Check a course archive (a zip of its folder) and put it in the content folder when all
    of it is sound; print every problem otherwise and write nothing. `content sync` publishes
    it."""
    settings = commands.settings()
    result = archive.take_in(
        file.read_bytes(), settings.content_dir, limits_from(settings), replace=replace
    )
    for name in result.ignored:
        typer.echo(tr("ignored: {name}", name=name), err=True)
    for problem in result.problems:
        typer.echo(problem)
    if result.problems:
        typer.echo(tr("{count} problem(s) found", count=len(result.problems)), err=True)
        raise typer.Exit(1)
    typer.echo(
        tr("taken in: {course} in {folder}", course=result.course_id, folder=result.folder),
        err=True,
    )


def register(content_cli: typer.Typer) -> None:
    """Add the command to the `content` group (the courses module owns the group)."""
    content_cli.command("import-zip")(import_zip)
