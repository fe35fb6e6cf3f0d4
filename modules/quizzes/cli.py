"""`berakhlak content import-gift|import-aiken|import-moodle-xml`: Moodle question files
into quiz files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.i18n import tr
from modules.quizzes import gift, moodle_xml


def _import_quiz(
    kind: str, source: Path, out: Path, quiz_id: str | None, title: str | None, pass_mark: int
) -> None:
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(tr("error: cannot read {file}: {problem}", file=source, problem=exc), err=True)
        raise typer.Exit(2) from None
    ident = quiz_id or gift.slug(source.stem, "kuis")
    convert = {
        "gift": gift.convert_gift,
        "aiken": gift.convert_aiken,
        "moodle": moodle_xml.convert_moodle_xml,
    }[kind]
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


def import_gift(
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


def import_aiken(
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


def import_moodle_xml(
    file: Annotated[Path, typer.Argument(help="Moodle XML question export.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the quiz file (a module).")],
    quiz_id: Annotated[
        str | None, typer.Option("--id", help="Quiz id (default: file name).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Quiz title.")] = None,
    pass_mark: Annotated[int, typer.Option(help="Pass mark, percent.")] = 70,
) -> None:
    """Convert a Moodle XML question export into a quiz file; what cannot be kept is
    reported with its line."""
    _import_quiz("moodle", file, out, quiz_id, title, pass_mark)


def register(content_cli: typer.Typer) -> None:
    """Add the import commands to the `content` group (the courses module owns the group)."""
    content_cli.command("import-gift")(import_gift)
    content_cli.command("import-aiken")(import_aiken)
    content_cli.command("import-moodle-xml")(import_moodle_xml)
