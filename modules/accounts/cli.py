"""`berakhlak users ...`: accounts, roles and rosters from the command line."""

from __future__ import annotations

import getpass
import hashlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app import clock, commands, i18n
from app.auth import ROLES
from app.i18n import tr
from modules.accounts import grants, roster, roster_file
from modules.accounts import service as accounts_service
from modules.accounts.models import User
from modules.accounts.nip import NipError, grades_for, parse_nip
from modules.accounts.schemas import FormError, parse_registration
from modules.agencies import service as agencies_service

users_cli = typer.Typer(help="User accounts.", no_args_is_help=True)


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

    if role is not None and role not in ROLES:
        typer.echo(
            f"error: role: unknown role {role!r}; choose one of {', '.join(ROLES)}",
            err=True,
        )
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    with commands.session() as session:
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
            data = parse_registration(
                form,
                {found.id} if found.id else set(),
                agency_names={found.id: found.name} if found.id else {},
            )
            user = accounts_service.register(session=session, data=data, verified=True)
            if role:
                # HR sees the people of an agency: their own, until grants can be edited
                scope = found.id if role == "hr" else None
                grants.grant(session=session, user=user, role=role, agency_id=scope, address="cli")
        except (FormError, grants.GrantError) as exc:
            detail = exc.errors if isinstance(exc, FormError) else {"role": i18n.gettext(str(exc))}
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

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    with commands.session() as session:
        user = _user_or_exit(session, nip)
        try:
            accounts_service.reset_password(session=session, user=user, new=password)
        except FormError as exc:
            reason = exc.errors["password"]
            typer.echo(tr("error: {problem}", problem=i18n.gettext(reason)), err=True)
            raise typer.Exit(2) from None
    typer.echo(tr("password changed for {nip}; their sessions have ended", nip=nip))


def _user_or_exit(session: Session, nip: str) -> User:

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

    with commands.session() as session:
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

    with commands.session() as session:
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

    with commands.session() as session:
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

    settings = commands.settings()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    with commands.session() as session:
        officer = _user_or_exit(session, as_nip)
        scope = grants.hr_scope(session=session, user_id=officer.id or 0)
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
