"""HR imports a roster: every row of a file is checked against the people already known, within
the uploader's scope (the dry run), then every valid row is applied in one transaction. The
same file applied twice changes nothing the second time. Reading the file is roster_file.py's
work, checking one row on its own roster_rows.py's, and keeping uploads between the dry run and
the confirmation roster_uploads.py's."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, case, delete, insert, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.clock import utcnow
from app.i18n import N_
from modules.accounts import erasure
from modules.accounts.grants import Scope
from modules.accounts.models import RosterEntry, RosterUpload, User
from modules.accounts.roster_file import RosterTable
from modules.accounts.roster_rows import Person, Reason, RowResult, validate
from modules.agencies import service as agencies_service
from modules.audit import service as audit

OUTCOMES = ("created", "updated", "unchanged", "rejected")
CHUNK = 1000  # values per IN list: well under every driver's parameter limit
ANALYZE_AFTER = 1000  # new people in one import that make PostgreSQL statistics stale
_USER = User.__table__  # type: ignore[attr-defined]
_ENTRY = RosterEntry.__table__  # type: ignore[attr-defined]


class RosterError(ValueError):
    """An import that cannot go ahead; the message is a translatable id."""


@dataclass
class Plan:
    headers: dict[str, str]  # canonical column -> the header as the file writes it
    results: list[RowResult]
    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)  # roster_entry rows to record
    # people the roster moves to another agency or unit: (nip, from, to), audited one by one
    # (a person's "who viewed my records" follows where they were)
    moves: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {outcome: self.count(outcome) for outcome in OUTCOMES}


_LOOKUP = (
    _USER.c.id,
    _USER.c.nip,
    _USER.c.email,
    _USER.c.name,
    _USER.c.agency_id,
    _USER.c.work_unit,
    _USER.c.position,
    _USER.c.grade,
    _USER.c.password_hash,
    _USER.c.email_verified_at,
)


def _existing(session: Session, key: str, values: Iterable[str]) -> dict[str, Any]:
    """People whose `key` column (nip or email) is one of `values`, in chunks (never one query
    per row); Core rows, which cost a fraction of ORM objects at this count."""
    wanted = sorted(set(values))
    column = _USER.c[key]
    at = [c.key for c in _LOOKUP].index(key)
    connection = session.connection()
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for row in connection.execute(sa_select(*_LOOKUP).where(column.in_(chunk))):
            found[row[at]] = row
    return found


def check(*, session: Session, table: RosterTable, scope: Scope, today: date) -> Plan:
    """What each row would do: created, updated (with the columns that change), unchanged or
    rejected (with column and reason). Nothing is written."""
    agencies = agencies_service.all_by_code(session=session)
    plan = Plan(table.headers, [])
    people: list[Person] = []
    first_nip: dict[str, int] = {}
    first_email: dict[str, int] = {}
    for row in table.rows:
        person, result = validate(row, agencies, scope, today)
        plan.results.append(result)
        # a later row repeating a NIP or an email is refused: which one is meant is unclear
        email = row.cells[2].strip().lower()
        bad = {reason.column for reason in result.reasons}
        if "nip" not in bad and result.nip in first_nip:
            message = N_("This NIP already appears in row %(row)s.")
            result.reasons.append(Reason("nip", message, {"row": first_nip[result.nip]}))
        elif "email" not in bad and email and email in first_email:
            message = N_("This email already appears in row %(row)s.")
            result.reasons.append(Reason("email", message, {"row": first_email[email]}))
        if "nip" not in bad:
            first_nip.setdefault(result.nip, row.row)
        if "email" not in bad and email:
            first_email.setdefault(email, row.row)
        if person is not None and not result.reasons:
            people.append(person)
    by_nip = _existing(session, "nip", (p.nip for p in people))
    by_email = _existing(session, "email", (p.email for p in people if p.email))
    erased = erasure.erased_among(session=session, nips=[p.nip for p in people])
    now = utcnow()
    for person in people:
        if person.nip in erased:
            # the person asked for their account to be erased: never re-created silently
            message = N_(
                "The account of this NIP was erased at the person's request: a roster does "
                "not create it again."
            )
            person.result.reasons.append(Reason("nip", message, {}))
            continue
        _compare(plan, person, by_nip.get(person.nip), by_email.get(person.email), scope, now)
    return plan


def _email_for(person: Person, current: Any) -> str | None:
    """The address a roster gives: the address of a claimed account, or of one whose address
    was confirmed (a NIP dispute's transfer), is the person's own (changed only through the
    confirmation mailed to the new one); an empty cell keeps the one known."""
    if current is None:
        return person.email or None
    if current.password_hash or current.email_verified_at is not None or not person.email:
        return current.email
    return person.email


def _compare(
    plan: Plan, person: Person, current: Any, holder: Any, scope: Scope, now: object
) -> None:
    result = person.result
    if current is not None and not scope.covers(current.agency_id, current.work_unit):
        # never say which agency: HR must not learn where someone else's people work
        message = N_("This NIP belongs to a person outside the agencies and units you manage.")
        result.reasons.append(Reason("nip", message, {}))
        return
    if person.email and holder is not None and holder.nip != person.nip:
        message = N_("Another person's account already uses this email.")
        result.reasons.append(Reason("email", message, {}))
        return
    values = {
        "name": person.name,
        "email": _email_for(person, current),
        "agency_id": person.agency_id,
        "work_unit": person.unit,
        "position": person.position,
        "grade": person.grade,
    }
    plan.entries.append(
        {
            "nip": person.nip,
            "agency_id": person.agency_id,
            "work_unit": person.unit,
            "email": person.email or None,
            "recorded_at": now,
        }
    )
    if current is None:
        result.outcome = "created"
        plan.creates.append(
            {
                **values,
                "nip": person.nip,
                "employment_type": person.employment_type,
                "password_hash": "",  # no password: claimed through a mailed invitation
                "active": True,
                "locale": None,
                "created_at": now,
            }
        )
        return
    changed = tuple(column for column, key in _COMPARED if getattr(current, key) != values[key])
    if "agency" in changed or "unit" in changed:
        plan.moves.append(
            (
                person.nip,
                {"agency_id": current.agency_id, "work_unit": current.work_unit},
                {"agency_id": person.agency_id, "work_unit": person.unit},
            )
        )
    result.outcome = "updated" if changed else "unchanged"
    result.fields = changed
    if changed:
        plan.updates.append({f"b_{k}": v for k, v in values.items()} | {"b_id": current.id})


_COMPARED = (
    ("name", "name"),
    ("email", "email"),
    ("agency", "agency_id"),
    ("unit", "work_unit"),
    ("position", "position"),
    ("grade", "grade"),
)
_UPDATE = (
    update(_USER)
    .where(_USER.c.id == bindparam("b_id"))
    .values(
        {key: bindparam(f"b_{key}") for _c, key in _COMPARED if key != "email"}
        # an account claimed (or confirmed) while the import ran keeps its own address
        | {
            "email": case(
                (
                    (_USER.c.password_hash == "") & _USER.c.email_verified_at.is_(None),
                    bindparam("b_email"),
                ),
                else_=_USER.c.email,
            )
        }
    )
)


def apply(
    *,
    session: Session,
    table: RosterTable,
    scope: Scope,
    today: date,
    actor_id: int | None,
    address: str,
    filename: str,
    sha256: str,
    upload_id: str | None = None,
) -> Plan:
    """Check the rows again (the data may have changed since the dry run), then write every
    valid row in one transaction with one audit event; mark the upload applied. Raises
    RosterError when the upload was applied already or a concurrent change collided."""
    try:
        if upload_id is not None:
            # the first write takes the lock: a second confirmation waits here, then finds
            # the upload applied
            marked = session.exec(
                update(RosterUpload)
                .where(
                    col(RosterUpload.id) == upload_id,
                    col(RosterUpload.applied_at).is_(None),
                )
                .values(applied_at=utcnow())
            )
            if marked.rowcount != 1:
                raise RosterError(N_("This file was applied already."))
        plan = check(session=session, table=table, scope=scope, today=today)
        connection = session.connection()
        if plan.creates:
            connection.execute(insert(_USER), plan.creates)
        if plan.updates:
            connection.execute(_UPDATE, plan.updates)
        _record_entries(connection, plan.entries)
        for nip, before, after in plan.moves:
            audit.record(
                session=session,
                actor_id=actor_id,
                action="account.move",
                subject_type="user",
                subject_id=nip,
                detail={"from": before, "to": after, "roster": upload_id or sha256[:32]},
                address=address,
            )
        audit.record(
            session=session,
            actor_id=actor_id,
            action="roster.import",
            subject_type="roster_upload",
            subject_id=upload_id or sha256[:32],
            detail={"filename": filename, "sha256": sha256, **plan.counts},
            address=address,
        )
        session.commit()
        if len(plan.creates) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
            # PostgreSQL plans the next import's IN look-ups from table statistics; right after
            # thousands of new rows (before autovacuum notices) it would expect a tiny table and
            # scan it for every chunk: measured 2 minutes instead of 3 s for 50,000 rows.
            session.exec(text('ANALYZE "user"'))  # type: ignore[call-overload]
            session.commit()
    except IntegrityError:
        session.rollback()
        raise RosterError(
            N_("Someone changed the same people while the import ran; check the file again.")
        ) from None
    except BaseException:
        session.rollback()
        raise
    return plan


def _record_entries(connection: Any, entries: list[dict[str, Any]]) -> None:
    """Record this agency's roster as the one holding each applied NIP (replacing another
    agency's entry: the latest roster to list a person holds them)."""
    for start in range(0, len(entries), CHUNK):
        chunk = entries[start : start + CHUNK]
        connection.execute(delete(_ENTRY).where(_ENTRY.c.nip.in_([e["nip"] for e in chunk])))
        connection.execute(insert(_ENTRY), chunk)


OUTCOME_LABELS = {
    "created": N_("created"),
    "updated": N_("updated"),
    "unchanged": N_("unchanged"),
    "rejected": N_("rejected"),
}
REPORT_HEADER = (N_("Row"), "NIP", N_("Name"), N_("Outcome"), N_("Column"), N_("Reason"))


def report_messages(plan: Plan) -> set[str]:
    """Every message the report of `plan` shows, to translate before it is streamed."""
    found = {*OUTCOME_LABELS.values(), *REPORT_HEADER}
    for result in plan.results:
        found.update(reason.message for reason in result.reasons)
    return found


def report_lines(plan: Plan, say: Callable[[str], str]) -> Iterator[list[Any]]:
    """The per-row report as CSV cells: row, NIP, name, outcome, column, reason (one line per
    reason of a rejected row; the changed columns of an updated one). `say` translates."""
    yield [say(text) for text in REPORT_HEADER]
    for r in plan.results:
        outcome = say(OUTCOME_LABELS[r.outcome])
        if r.outcome == "rejected":
            for reason in r.reasons:
                column = plan.headers.get(reason.column, reason.column)
                yield [
                    r.row,
                    r.nip,
                    r.name,
                    outcome,
                    column,
                    say(reason.message) % reason.values,
                ]
        else:
            columns = ", ".join(plan.headers.get(c, c) for c in r.fields)
            yield [r.row, r.nip, r.name, outcome, columns, ""]
