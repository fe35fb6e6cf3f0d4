"""`berakhlak agencies import`: the agency list from a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import commands, i18n
from modules.agencies import editing

agencies_cli = typer.Typer(help="The agency list.", no_args_is_help=True)


@agencies_cli.command("import")
def agencies_import(
    file: Annotated[Path, typer.Argument(help="CSV: code,name,kind,parent_code[,active].")],
    apply: Annotated[bool, typer.Option(help="Apply the valid rows (default: dry run).")] = False,
) -> None:
    """Add and update agencies from a CSV; prints each row's outcome. A dry run unless
    --apply; exit 1 when a row or the file is refused."""

    try:
        raw = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    with commands.session() as session:
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
