"""Action plans: the learner writes one as the course's last activity (through the learning
workflow, since writing it may complete the course), reports on it when the worker reminds
them, and may share it with their supervisor, who confirms or comments through a mailed link
that expires and needs no account. The public verification page never shows a plan."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app import mail
from app.clock import as_utc, utcnow
from app.i18n import N_
from modules.accounts import service as accounts
from modules.audit import service as audit
from modules.courses.schemas import PlanContent
from modules.plans.models import ActionPlan, ActionPlanItem

OUTCOMES = ("done", "partly", "not_yet")
OUTCOME_LABELS = {
    "done": N_("Done as planned"),
    "partly": N_("Partly done"),
    "not_yet": N_("Not done yet"),
}
TEXT_MIN, TEXT_MAX = 10, 500
NOTE_MAX = 1000
NAME_MAX = 120
# a learner can send their supervisor a link this many times per plan (a changed address, a
# lost mail), no more: the platform's mail is not a way to write to anyone
MAX_SUPERVISOR_MAILS = 3
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REPORT_JOB = "plans.remind"


class PlanFormError(ValueError):
    """The form has problems; `errors` maps a field name to a message id (translated where
    the form shows it)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ItemInput:
    value_tag: str
    behaviour: str
    evidence: str
    due_on: date


@dataclass(frozen=True)
class PlanInput:
    items: list[ItemInput]
    supervisor_name: str | None
    supervisor_email: str | None


@dataclass(frozen=True)
class ReportInput:
    outcomes: dict[int, tuple[str, str]]  # item id -> (outcome, note)
    note: str
    share: bool
    supervisor_name: str | None
    supervisor_email: str | None


@dataclass
class PlanView:
    """A plan with its items, as the learner (and, when shared, their supervisor) sees it."""

    plan: ActionPlan
    items: list[ActionPlanItem] = field(default_factory=list)

    @property
    def reported(self) -> bool:
        return self.plan.reported_at is not None


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _unprintable(data: dict[str, str], errors: dict[str, str]) -> None:
    """Control characters (a NUL byte stops PostgreSQL) are refused, field by field."""
    for key, value in data.items():
        if key != "csrf_token" and value and not _text(value).isprintable():
            errors[key] = N_("Remove the characters that are not allowed (control characters).")


def _supervisor(
    data: dict[str, str], errors: dict[str, str], own_email: str | None, needed: bool
) -> tuple[str | None, str | None]:
    name = _text(data.get("supervisor_name")) or None
    email = (data.get("supervisor_email") or "").strip().lower() or None
    if name and len(name) > NAME_MAX:
        errors["supervisor_name"] = N_("Use at most 120 characters for the name.")
    if email and (len(email) > 254 or not EMAIL.match(email)):
        errors["supervisor_email"] = N_("Write your supervisor's address as name@instansi.go.id.")
    elif email and own_email and email == own_email.strip().lower():
        errors["supervisor_email"] = N_(
            "This is your own address: give your supervisor's, or leave it empty."
        )
    elif needed and not email:
        errors["supervisor_email"] = N_("Give your supervisor's address to share the plan.")
    if email and not name:
        errors["supervisor_name"] = N_("Write your supervisor's name.")
    return name, email


def parse_plan(
    data: dict[str, str],
    plan: PlanContent,
    values: dict[str, str],
    today: date,
    own_email: str | None = None,
) -> PlanInput:
    """The plan form: per value (tag) a behaviour, how it will be seen and by when; a value
    is chosen when its behaviour is written. Between the activity's `min_values` and
    `max_values` values; dates from tomorrow to a year ahead."""
    errors: dict[str, str] = {}
    items, chosen = [], 0
    for tag in values:
        behaviour = _text(data.get(f"behaviour-{tag}"))
        evidence = _text(data.get(f"evidence-{tag}"))
        due_text = (data.get(f"due-{tag}") or "").strip()
        if not behaviour:
            if evidence or due_text:
                errors[f"behaviour-{tag}"] = N_(
                    "Write the behaviour for this value, or clear its other fields."
                )
            continue
        chosen += 1
        if not TEXT_MIN <= len(behaviour) <= TEXT_MAX:
            errors[f"behaviour-{tag}"] = N_(
                "Describe one concrete behaviour in 10 to 500 characters."
            )
        if not TEXT_MIN <= len(evidence) <= TEXT_MAX:
            errors[f"evidence-{tag}"] = N_(
                "Say in 10 to 500 characters how you or others will see it happen."
            )
        try:
            due_on = date.fromisoformat(due_text)
        except ValueError:
            errors[f"due-{tag}"] = N_("Choose the date by which you will have done it.")
            continue
        if not today < due_on <= today + timedelta(days=366):
            errors[f"due-{tag}"] = N_("Choose a date from tomorrow to one year from today.")
            continue
        items.append(ItemInput(tag, behaviour, evidence, due_on))
    if not errors and not plan.min_values <= chosen <= plan.max_values:
        errors["values"] = (
            N_("Choose at least as many values as the plan asks and write their behaviour.")
            if chosen < plan.min_values
            else N_("Choose fewer values: a short plan is one you will carry out.")
        )
    name, email = _supervisor(data, errors, own_email, needed=False)
    _unprintable(data, errors)
    if errors:
        raise PlanFormError(errors)
    return PlanInput(items, name, email)


def get(*, session: Session, user_id: int, course_id: str) -> PlanView | None:
    """A learner's plan for a course with its items, or None."""
    plan = session.exec(
        select(ActionPlan).where(
            ActionPlan.user_id == user_id, col(ActionPlan.course_id) == course_id
        )
    ).first()
    if plan is None:
        return None
    items = session.exec(
        select(ActionPlanItem)
        .where(ActionPlanItem.plan_id == plan.id)
        .order_by(col(ActionPlanItem.position))
    ).all()
    return PlanView(plan, list(items))


def written(*, session: Session, user_id: int, course_id: str) -> bool:
    """Whether the learner has written their plan for the course."""
    return (
        session.exec(
            select(ActionPlan.id).where(
                ActionPlan.user_id == user_id, col(ActionPlan.course_id) == course_id
            )
        ).first()
        is not None
    )


def write(
    *,
    session: Session,
    user_id: int,
    course_id: str,
    version_id: int,
    plan_input: PlanInput,
    address: str = "",
) -> ActionPlan:
    """Record (or, until it is reported on, rewrite) the learner's plan in the caller's
    transaction. A plan already reported on stays as it was (ValueError)."""
    found = get(session=session, user_id=user_id, course_id=course_id)
    if found is not None and found.reported:
        raise ValueError("a plan reported on is not rewritten")
    if found is None:
        plan = ActionPlan(user_id=user_id, course_id=course_id, content_version_id=version_id)
    else:
        plan = found.plan
        session.execute(delete(ActionPlanItem).where(col(ActionPlanItem.plan_id) == plan.id))
    plan.supervisor_name = plan_input.supervisor_name
    plan.supervisor_email = plan_input.supervisor_email
    session.add(plan)
    session.flush()
    assert plan.id is not None
    for position, item in enumerate(plan_input.items):
        session.add(
            ActionPlanItem(
                plan_id=plan.id,
                position=position,
                value_tag=item.value_tag,
                behaviour=item.behaviour,
                evidence=item.evidence,
                due_on=item.due_on,
            )
        )
    audit.record(
        session=session,
        actor_id=user_id,
        action="plan.write" if found is None else "plan.rewrite",
        subject_type="user",
        subject_id=accounts.get(session=session, user_id=user_id).nip,
        detail={"course": course_id, "values": [i.value_tag for i in plan_input.items]},
        address=address,
    )
    return plan


def report_due(plan: ActionPlan, now: datetime, report_days: int) -> bool:
    """Whether the learner is asked to report on the plan now (and has not)."""
    return plan.reported_at is None and as_utc(plan.written_at) + timedelta(days=report_days) <= now


def follow_up_opens(plan: ActionPlan | None, follow_up_days: int) -> datetime | None:
    """When the follow-up self-assessment opens for the learner: some time after the plan."""
    return as_utc(plan.written_at) + timedelta(days=follow_up_days) if plan else None


def parse_report(data: dict[str, str], view: PlanView, own_email: str | None) -> ReportInput:
    """The report form: per plan item how it went (and a note), an overall note, and whether
    to share plan and report with the supervisor (whose address is then needed)."""
    errors: dict[str, str] = {}
    outcomes = {}
    for item in view.items:
        outcome = (data.get(f"outcome-{item.id}") or "").strip()
        note = _text(data.get(f"note-{item.id}"))
        if outcome not in OUTCOMES:
            errors[f"outcome-{item.id}"] = N_("Say how this part of the plan went.")
        if len(note) > NOTE_MAX:
            errors[f"note-{item.id}"] = N_("Use at most 1,000 characters.")
        assert item.id is not None
        outcomes[item.id] = (outcome, note)
    note = _text(data.get("note"))
    if len(note) > NOTE_MAX:
        errors["note"] = N_("Use at most 1,000 characters.")
    share = data.get("share") == "yes"
    name, email = _supervisor(data, errors, own_email, needed=share)
    _unprintable(data, errors)
    if errors:
        raise PlanFormError(errors)
    return ReportInput(outcomes, note, share, name, email)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ReportFrozen(ValueError):
    """The supervisor answered: the report they answered on stays as it was."""


def record_report(
    *,
    session: Session,
    settings: Any,
    view: PlanView,
    report: ReportInput,
    learner: Any,
    course_title: str,
    address: str = "",
) -> bool:
    """Record the learner's report in the caller's transaction. Shared, the supervisor is
    mailed a link (valid `BERAKHLAK_SUPERVISOR_LINK_DAYS`) showing the plan and the report,
    nothing else: once per address, `MAX_SUPERVISOR_MAILS` times per plan at most. Not shared
    (any more), an earlier link stops working. Once the supervisor has answered, the report
    is not changed (ReportFrozen). Returns whether a supervisor was mailed."""
    plan, now = view.plan, utcnow()
    if plan.confirmed_at is not None:
        raise ReportFrozen(plan.id)
    if set(report.outcomes) != {item.id for item in view.items}:
        raise PlanFormError({"values": N_("Your plan changed meanwhile: read it again.")})
    new_address = report.share and (
        report.supervisor_email != plan.supervisor_email
        or plan.supervisor_mailed_at is None
        or plan.supervisor_token_hash is None  # unshared before: a new link
    )
    if new_address and plan.supervisor_mails >= MAX_SUPERVISOR_MAILS:
        raise PlanFormError(
            {"supervisor_email": N_("The link has been mailed three times for this plan: no more.")}
        )
    for item in view.items:
        assert item.id is not None
        item.outcome, note = report.outcomes[item.id]
        item.outcome_note = note or None
        session.add(item)
    plan.reported_at = plan.reported_at or now
    plan.report_note = report.note or None
    plan.share_with_supervisor = report.share
    if report.supervisor_email:
        plan.supervisor_name = report.supervisor_name
        plan.supervisor_email = report.supervisor_email
    if not report.share:
        plan.supervisor_token_hash = None  # not shared (any more): an earlier link stops
    elif new_address and plan.supervisor_email:
        token = secrets.token_urlsafe(32)
        plan.supervisor_token_hash = _hash(token)
        plan.supervisor_link_expires_at = now + timedelta(days=settings.supervisor_link_days)
        plan.supervisor_mailed_at = now
        plan.supervisor_mails += 1
        plan.supervisor_on_roster = accounts.colleague_with_address(
            session=session, user_id=plan.user_id, email=plan.supervisor_email
        )
        mail.queue(
            session,
            settings,
            to=plan.supervisor_email,
            name=plan.supervisor_name or "",
            locale=learner.locale or settings.default_locale,
            template="plan_supervisor",
            context={
                "supervisor": plan.supervisor_name or "",
                "learner": learner.name,
                "course": course_title,
                "link": f"{settings.base_url.rstrip('/')}/plans/confirm/{token}",
                "days": settings.supervisor_link_days,
            },
            purpose="plan_supervisor",
            user_id=learner.id,
        )
    session.add(plan)
    audit.record(
        session=session,
        actor_id=learner.id,
        action="plan.report",
        subject_type="user",
        subject_id=learner.nip,
        detail={"course": plan.course_id, "shared": report.share, "mailed": bool(new_address)},
        address=address,
    )
    return bool(new_address)


def by_supervisor_token(*, session: Session, token: str) -> PlanView | None:
    """The shared plan a supervisor's link opens, while the link is valid; else None."""
    if not token or len(token) > 100:
        return None
    plan = session.exec(
        select(ActionPlan).where(ActionPlan.supervisor_token_hash == _hash(token))
    ).first()
    if (
        plan is None
        or not plan.share_with_supervisor
        or plan.supervisor_link_expires_at is None
        or as_utc(plan.supervisor_link_expires_at) <= utcnow()
    ):
        return None
    return get(session=session, user_id=plan.user_id, course_id=plan.course_id)


def parse_confirmation(data: dict[str, str]) -> tuple[bool, str]:
    """The supervisor's answer: whether they saw the plan carried out, and a comment."""
    errors: dict[str, str] = {}
    seen = data.get("seen")
    if seen not in ("yes", "no"):
        errors["seen"] = N_("Choose one answer.")
    comment = _text(data.get("comment"))
    if len(comment) > NOTE_MAX:
        errors["comment"] = N_("Use at most 1,000 characters.")
    if errors:
        raise PlanFormError(errors)
    return seen == "yes", comment


def confirm(
    *, session: Session, token: str, seen: bool, comment: str, address: str = ""
) -> PlanView | None:
    """Record the supervisor's answer (they may change it while the link is valid); None when
    the link is no longer valid. Commits."""
    view = by_supervisor_token(session=session, token=token)
    if view is None:
        return None
    plan = view.plan
    plan.confirmed_at, plan.supervisor_seen = utcnow(), seen
    plan.supervisor_comment = comment or None
    session.add(plan)
    audit.record(
        session=session,
        actor_id=None,
        action="plan.supervisor",
        subject_type="user",
        subject_id=accounts.get(session=session, user_id=plan.user_id).nip,
        detail={"course": plan.course_id, "seen": seen},
        address=address,
    )
    session.commit()
    return view


@dataclass(frozen=True)
class Due:
    plan_id: int
    user_id: int
    course_id: str
    kind: str  # "report" or "follow_up"


def reminders_due(
    *,
    session: Session,
    now: datetime,
    report_days: int,
    follow_up_days: int,
    recipients: Any,
    follow_up_courses: list[str],
    limit: int = 200,
) -> list[Due]:
    """Plans whose report (after `report_days`) or follow-up (after `follow_up_days`, for
    the courses that have one) reminder is due and not sent yet, for the people in
    `recipients` (a query of user ids: those who take reminders)."""
    found = []
    report_before = now - timedelta(days=report_days)
    rows = session.exec(
        select(ActionPlan.id, ActionPlan.user_id, ActionPlan.course_id)
        .where(
            col(ActionPlan.user_id).in_(recipients),
            col(ActionPlan.written_at) <= report_before,
            col(ActionPlan.reported_at).is_(None),
            col(ActionPlan.report_reminded_at).is_(None),
        )
        .order_by(col(ActionPlan.id))
        .limit(limit)
    ).all()
    found += [Due(int(i or 0), u, c, "report") for i, u, c in rows]
    follow_before = now - timedelta(days=follow_up_days)
    rows = session.exec(
        select(ActionPlan.id, ActionPlan.user_id, ActionPlan.course_id)
        .where(
            col(ActionPlan.user_id).in_(recipients),
            col(ActionPlan.course_id).in_(follow_up_courses),
            col(ActionPlan.written_at) <= follow_before,
            col(ActionPlan.follow_up_reminded_at).is_(None),
        )
        .order_by(col(ActionPlan.id))
        .limit(limit)
    ).all()
    found += [Due(int(i or 0), u, c, "follow_up") for i, u, c in rows]
    return found


def mark_reminded(*, session: Session, due: Due) -> bool:
    """Claim a reminder (one conditional UPDATE, so two workers cannot both send it)."""
    name = "report_reminded_at" if due.kind == "report" else "follow_up_reminded_at"
    column = getattr(ActionPlan, name)
    result = session.execute(
        update(ActionPlan)
        .where(col(ActionPlan.id) == due.plan_id, col(column).is_(None))
        .values({name: utcnow()})
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def export_for(*, session: Session, user_id: int) -> dict[str, list[dict[str, object]]]:
    """A learner's plans and reports, for their own data download."""
    plans = session.exec(select(ActionPlan).where(ActionPlan.user_id == user_id)).all()
    ids = [p.id for p in plans]
    items = (
        session.exec(select(ActionPlanItem).where(col(ActionPlanItem.plan_id).in_(ids))).all()
        if ids
        else []
    )
    hidden = {"supervisor_token_hash"}
    return {
        "action_plans": [p.model_dump(exclude=hidden) for p in plans],
        "action_plan_items": [i.model_dump() for i in items],
    }


def erase_for(*, session: Session, user_id: int) -> None:
    """An erasure's part here: the person's plans, their items, reports and supervisors'
    answers are deleted (they describe the person's own work)."""
    ids = select(ActionPlan.id).where(ActionPlan.user_id == user_id)
    session.execute(delete(ActionPlanItem).where(col(ActionPlanItem.plan_id).in_(ids)))
    session.execute(delete(ActionPlan).where(col(ActionPlan.user_id) == user_id))


PERSONAL_TABLES = ("action_plan", "action_plan_item")
