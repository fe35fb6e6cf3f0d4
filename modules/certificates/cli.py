"""`berakhlak keys ...` and `berakhlak certificates ...`: signing keys, revocation and
re-issue from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from app import commands, i18n
from app.i18n import tr
from modules.certificates import keys
from modules.certificates import service as certificates_service
from modules.certificates.models import Certificate

keys_cli = typer.Typer(help="Signing keys for certificates.", no_args_is_help=True)
certificates_cli = typer.Typer(help="Certificates.", no_args_is_help=True)


@keys_cli.command("generate")
def keys_generate() -> None:
    """Make a new signing key; it signs from now on (the others stay published)."""

    settings = commands.settings()
    with commands.session() as session:
        row = keys.generate(session=session, secret=settings.secret_key)
    typer.echo(tr("new signing key {kid}", kid=row.kid))


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Retire the current signing key(s) and make a new one; retired keys stay published so
    credentials they signed still verify."""

    settings = commands.settings()
    with commands.session() as session:
        retired, row = keys.rotate(session=session, secret=settings.secret_key)
    for kid in retired:
        typer.echo(tr("retired {kid} (still published)", kid=kid))
    typer.echo(tr("new signing key {kid}", kid=row.kid))


@keys_cli.command("list")
def keys_list() -> None:
    """Every signing key, newest first: key id, algorithm, made, retired."""

    with commands.session() as session:
        for row in keys.listing(session=session):
            retired = row.retired_at.isoformat(timespec="seconds") if row.retired_at else "-"
            made = row.created_at.isoformat(timespec="seconds")
            typer.echo(f"{row.kid}\t{row.alg}\t{made}\t{retired}")


def _certificate_or_exit(session: Session, ref: str) -> Certificate:

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

    with commands.session() as session:
        certificate = _certificate_or_exit(session, ref)
        try:
            certificates_service.revoke(
                session=session,
                certificate=certificate,
                reason=reason,
                actor_id=None,
                address="cli",
                log=commands.settings().issuance_log,
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

    settings = commands.settings()
    with commands.session() as session:
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
