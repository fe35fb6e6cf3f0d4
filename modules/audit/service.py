"""Record and read the audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from app import personal_data
from app.i18n import N_
from modules.audit.models import AuditEvent, AuditScope

# What each recorded action means, for the people who read the trail (the code stays in the
# database and in the filter).
ACTION_LABELS = {
    "plan.write": N_("Wrote an action plan, the course's last activity"),
    "plan.rewrite": N_("Changed an action plan before reporting on it"),
    "plan.report": N_("Reported how an action plan went"),
    "plan.supervisor": N_("A supervisor answered on a shared action plan through its link"),
    "account.password_reset": N_("Set a new password through a mailed link"),
    "account.email_verified": N_("Confirmed the email address from a mailed link"),
    "account.email_change": N_("Changed the email address, confirmed from the new address"),
    "account.invite": N_("Mailed an invitation to claim an account"),
    "account.reminders": N_("Turned due-date reminders on or off"),
    "account.sessions_end": N_("Logged out on other devices"),
    "account.move": N_("Moved to another agency or work unit"),
    "account.move_request": N_("Asked to move to another agency or work unit"),
    "account.move_refuse": N_("Refused a move to another agency or work unit"),
    "dispute.file": N_("Reported that a NIP is used by someone else"),
    "dispute.suspend": N_("Suspended an account while a NIP dispute is looked into"),
    "dispute.transfer": N_("Gave an account to the rightful holder of its NIP"),
    "dispute.keep": N_("Kept an account with its holder after a NIP dispute"),
    "erasure.request": N_("Asked for their account to be erased"),
    "erasure.withdraw": N_("Withdrew a request to erase their account"),
    "erasure.approve": N_("Approved a request to erase an account"),
    "erasure.refuse": N_("Refused a request to erase an account"),
    "erasure.done": N_("Erased an account on request"),
    "agency.create": N_("Added an agency"),
    "agency.update": N_("Changed an agency"),
    "agency.import": N_("Imported agencies"),
    "api.people": N_("API: read status per person"),
    "api.jp": N_("API: read the JP recap"),
    "api_token.create": N_("Made an API token"),
    "api_token.revoke": N_("Revoked an API token"),
    "certificate.bulk_download": N_("Downloaded certificates in bulk"),
    "certificate.issue": N_("Issued a certificate"),
    "certificate.reissue": N_("Re-issued a certificate"),
    "certificate.revoke": N_("Revoked a certificate"),
    "certificate.view": N_("Viewed a certificate's record"),
    "certificate.list": N_("Listed certificates with their holders"),
    "job.retry": N_("Retried a failed background job"),
    "course.assign": N_("Assigned a course"),
    "course.create": N_("Started a new course in the browser"),
    "course.edit": N_("Changed a course's draft"),
    "course.publish": N_("Published a course's draft as its live version"),
    "course.rollback": N_("Rolled a course back to an earlier version"),
    "course.access": N_("Changed who owns or is offered a course, or its review rule"),
    "course.review_ask": N_("Asked for a review of a course's draft"),
    "course.approve": N_("Approved a course's draft for publishing"),
    "report.people": N_("Viewed status per person"),
    "report.jp": N_("Viewed the JP recap"),
    "report.export": N_("Started an export"),
    "report.download": N_("Downloaded an export"),
    "role.grant": N_("Granted a role"),
    "role.withdraw": N_("Withdrew a role"),
    "roster.import": N_("Imported a roster"),
    "user.claim": N_("Claimed an account made by a roster"),
    "user.search": N_("Searched people"),
    "user.view": N_("Viewed a person's account"),
}


def details(event: AuditEvent) -> list[tuple[str, str]]:
    """An event's details as (name, value) pairs for reading; nested values stay compact."""
    try:
        data = json.loads(event.detail) if event.detail else {}
    except ValueError:
        return [("", str(event.detail))]
    if not isinstance(data, dict):
        return [("", str(data))]
    pairs = []
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, ""))
        pairs.append((str(key), str(value)))
    return pairs


def record(
    *,
    session: Session,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    detail: dict[str, Any] | None = None,
    address: str = "",
    covers: Iterable[tuple[int | None, str | None]] = (),
) -> None:
    """Add an audit event to the caller's transaction (the caller commits, so the event and
    the change it describes land together or not at all). `covers`: for a view of many
    people (a report), whose records it could show, as (agency, work unit) pairs, None for
    all (`covering`)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        detail=json.dumps(detail or {}, ensure_ascii=False, default=str),
        address=address[:64],
    )
    session.add(event)
    pairs = list(dict.fromkeys(covers))
    if pairs:
        session.flush()
        assert event.id is not None
        for agency_id, unit in pairs:
            unit = " ".join(unit.split()).lower() if unit else None
            session.add(AuditScope(event_id=event.id, agency_id=agency_id, work_unit=unit))


def covering(
    *,
    session: Session,
    placements: Iterable[tuple[int, str, Any, Any]],
    names: Names | None = None,
) -> list[dict[str, Any]]:
    """Views of many people that could have shown someone placed, in turn, in each
    (agency, work unit, from, until) of `placements` (None: open-ended): who, what, when
    and with which filters, oldest first."""
    found: dict[int, AuditEvent] = {}
    for agency_id, unit, since, until in placements:
        unit = " ".join(unit.split()).lower()
        stmt = (
            select(AuditEvent)
            .join(AuditScope, col(AuditScope.event_id) == col(AuditEvent.id))
            .where(
                or_(col(AuditScope.agency_id).is_(None), col(AuditScope.agency_id) == agency_id),
                or_(col(AuditScope.work_unit).is_(None), col(AuditScope.work_unit) == unit),
            )
        )
        if since is not None:
            stmt = stmt.where(col(AuditEvent.at) >= since)
        if until is not None:
            stmt = stmt.where(col(AuditEvent.at) < until)
        for event in session.exec(stmt):
            found[event.id or 0] = event
    events = [found[k] for k in sorted(found)]
    who = names({e.actor_id for e in events if e.actor_id is not None}) if names else {}
    views = []
    for event in events:
        try:
            detail = json.loads(event.detail or "{}")
        except ValueError:
            detail = {}
        views.append(
            {
                "at": personal_data.plain(event.at),
                "action": event.action,
                "actor": who.get(event.actor_id, "") if event.actor_id else "",
                "filters": detail.get("filters", {}) if isinstance(detail, dict) else {},
            }
        )
    return views


Names = Callable[[Iterable[int]], dict[int, str]]


Row = tuple[AuditEvent, str | None]


def _with_names(events: list[AuditEvent], names: Names | None) -> list[Row]:
    """Each event with the name of who acted (None: the command line, or no `names` given).
    The names come from whoever asks (accounts knows people; this module does not)."""
    known = names({e.actor_id for e in events if e.actor_id is not None}) if names else {}
    return [(e, known.get(e.actor_id) if e.actor_id is not None else None) for e in events]


def for_subject(
    *, session: Session, subject_type: str, subject_id: str | int, names: Names | None = None
) -> list[tuple[AuditEvent, str | None]]:
    """The events about one record, oldest first, each with the name of who acted."""
    events = session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.subject_type) == subject_type,
            col(AuditEvent.subject_id) == str(subject_id),
        )
        .order_by(col(AuditEvent.id))
    ).all()
    return _with_names(list(events), names)


def recent(
    *,
    session: Session,
    action: str = "",
    subject: str = "",
    before_id: int | None = None,
    limit: int = 100,
    names: Names | None = None,
) -> list[tuple[AuditEvent, str | None]]:
    """The newest events first (keyset paging below `before_id`), optionally only actions
    starting with `action` and one subject (a NIP, a certificate number…), with the actor's
    name."""
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(col(AuditEvent.action).startswith(action, autoescape=True))
    if subject:
        stmt = stmt.where(col(AuditEvent.subject_id) == subject)
    if before_id is not None:
        stmt = stmt.where(col(AuditEvent.id) < before_id)
    events = session.exec(stmt.order_by(col(AuditEvent.id).desc()).limit(limit)).all()
    return _with_names(list(events), names)


def export_for(
    *,
    session: Session,
    user_id: int,
    nip: str,
    certificates: Iterable[str] = (),
    since: Any = None,
    names: Names | None = None,
    placements: Iterable[tuple[int, str, Any, Any]] = (),
) -> dict[str, Any]:
    """For a person's data download: what they did (as the actor), and every event about
    them or their certificates with who did it (who viewed or changed their records). Others'
    addresses and the details of events about the person (which may name third parties, a
    NIP dispute's claimant) are left out. `since`: only events from then (an account passed
    to the rightful holder of its NIP: the former holder's history is not theirs).
    `placements`: where the person was when (`covering`), for the reports that could have
    shown them."""
    after = [col(AuditEvent.at) >= since] if since is not None else []
    done = personal_data.rows_of(
        session, AuditEvent, col(AuditEvent.actor_id) == user_id, *after, order=col(AuditEvent.id)
    )
    about = personal_data.rows_of(
        session,
        AuditEvent,
        or_(
            and_(col(AuditEvent.subject_type) == "user", col(AuditEvent.subject_id) == nip),
            and_(
                col(AuditEvent.subject_type) == "certificate",
                col(AuditEvent.subject_id).in_(list(certificates)),
            ),
        ),
        *after,
        omit=("address", "detail"),
        order=col(AuditEvent.id),
    )
    who = names({e["actor_id"] for e in about if e["actor_id"]}) if names else {}
    for event in about:
        event["actor"] = who.get(event["actor_id"], "") if event["actor_id"] else ""
    if since is not None:
        placements = [
            (a, u, max(since, start) if start is not None else since, end)
            for a, u, start, end in placements
        ]
    in_reports = covering(session=session, placements=placements, names=names)
    return {"done_by_you": done, "about_you": about, "in_reports": in_reports}


def minimise(*, session: Session, nip: str, certificates: Iterable[str]) -> None:
    """An erasure's audit part: the events about the person and their certificates stay
    (who acted, what, when: the record of access), without their details, which may hold the
    person's name or address."""
    session.execute(
        update(AuditEvent)
        .where(
            or_(
                and_(col(AuditEvent.subject_type) == "user", col(AuditEvent.subject_id) == nip),
                and_(
                    col(AuditEvent.subject_type) == "certificate",
                    col(AuditEvent.subject_id).in_(list(certificates)),
                ),
            )
        )
        .values(detail="{}")
    )


PERSONAL_TABLES = ("audit_event", "audit_scope")
