"""Reports for HR and admins, shared by the pages, the exports and the JSON API: parsing what
was asked for, and assembling the figures from the grouped queries in `queries`."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app import personal_data
from app.i18n import N_
from modules.accounts.schemas import PNS_GRADES, PPPK_GRADES
from modules.accounts.service import Scope
from modules.courses.schemas import CourseContent
from modules.reports import queries
from modules.reports.models import ReportJob
from modules.reports.queries import GROUPS, STATUSES, Filters, GroupRow, PersonRow, Window

__all__ = [
    "GROUPS",
    "STATUSES",
    "Filters",
    "GroupRow",
    "PersonRow",
    "Window",
    "completion_report",
    "decode_cursor",
    "encode_cursor",
    "jp_page",
    "parse_filters",
    "self_assessment_change",
]

_ID = re.compile(r"^[0-9]{1,9}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
JP_STATUSES = ("met", "below", "within", "above")  # PNS: minimum; PPPK: ceiling


class ReportError(ValueError):
    """A report that cannot be made as asked (the message is a translatable id)."""


def parse_filters(
    params: dict[str, str], course_ids: list[str], *, jp: bool = False
) -> tuple[Filters, dict[str, str]]:
    """Filters from query parameters (or an API call), and a message per parameter that
    made no sense; a wrong value is dropped, so the report still shows."""
    errors: dict[str, str] = {}
    course = (params.get("course") or "").strip()
    if course not in course_ids:
        if course:
            errors["course"] = N_("Choose a course from the list.")
        course = course_ids[0] if course_ids else ""
    agency: int | None = None
    if params.get("agency"):
        if _ID.match(params["agency"]):
            agency = int(params["agency"])
        else:
            errors["agency"] = N_("Choose an agency from the list.")
    unit = " ".join((params.get("unit") or "").split())[:200] or None
    if unit and not unit.isprintable():
        errors["unit"] = N_("Give the work unit as it appears in the people's profiles.")
        unit = None
    grade = (params.get("grade") or "").strip() or None
    if grade and grade not in PNS_GRADES + PPPK_GRADES:
        errors["grade"] = N_("Choose a grade from the list.")
        grade = None
    kind = (params.get("type") or "").strip().upper() or None
    if kind and kind not in ("PNS", "PPPK"):
        errors["type"] = N_("Choose PNS or PPPK.")
        kind = None
    status = (params.get("status") or "").strip() or None
    if status and status not in (JP_STATUSES if jp else STATUSES):
        errors["status"] = N_("Choose a status from the list.")
        status = None
    since, until = _day(params, "since", errors), _day(params, "until", errors)
    if since and until and since > until:
        errors["until"] = N_("The end of the period comes before its start.")
        since = until = None
    search = " ".join((params.get("q") or "").split())[:80] or None
    if search and not search.isprintable():
        errors["q"] = N_("The search contains characters that cannot be searched for.")
        search = None
    filters = Filters(course, agency, unit, grade, kind, status, since, until, search)
    return filters, errors


def _day(params: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        if not _DATE.match(text):
            raise ValueError
        day = date.fromisoformat(text)
        if not 2000 <= day.year <= 2100:
            raise ValueError
    except ValueError:
        errors[name] = N_("Give a date such as 2026-06-30.")
        return None
    return day


def check_scope(scope: Scope, filters: Filters) -> None:
    """Refuse a report on an agency outside the scope (the caller answers 403)."""
    if filters.agency_id is not None and not scope.allows_agency(filters.agency_id):
        raise PermissionError(filters.agency_id)


def default_group(scope: Scope, filters: Filters, asked: str | None) -> str:
    """What to group by: as asked, else units within one agency, else agencies."""
    if asked in GROUPS:
        return asked
    single = filters.agency_id is not None or (
        not scope.everything and len(scope.agencies | {a for a, _u in scope.units}) == 1
    )
    return "unit" if single else "agency"


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor for the next page (the last row's sort key)."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, shape: tuple[type, ...]) -> list[Any] | None:
    """The sort key in a cursor, or None if it is not one of ours."""
    if not text or len(text) > 400:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(shape):
        return None
    if not all(
        isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, shape, strict=True)
    ):
        return None
    return values


@dataclass
class CompletionReport:
    """The completion report: totals, groups, modules and completions by month."""

    groups: list[GroupRow]
    total: GroupRow
    modules: list[tuple[str, str, int, float]]  # id, title, people done, percent
    months: list[tuple[str, int]]
    group_by: str
    module_groups: dict[tuple[str, str], int] = field(default_factory=dict)

    def module_share(self, group: GroupRow, module_id: str) -> float:
        """Percent of a group's people who completed a module."""
        done = self.module_groups.get((group.key, module_id), 0)
        return round(100 * done / group.people, 1) if group.people else 0.0


def _total(groups: list[GroupRow]) -> GroupRow:
    def add(name: str) -> int:
        return sum(getattr(g, name) for g in groups)

    return GroupRow(
        key="*",
        label="*",
        people=add("people"),
        completed=add("completed"),
        overdue=add("overdue"),
        in_progress=add("in_progress"),
        not_started=add("not_started"),
        completed_in_period=add("completed_in_period"),
        assigned=add("assigned"),
        jp=add("jp"),
    )


def completion_report(
    *,
    conn: Any,
    scope: Scope,
    filters: Filters,
    course: CourseContent,
    group_by: str,
    tz: ZoneInfo,
    today: date,
    with_charts: bool = True,
) -> CompletionReport:
    """Completion of one course for the people in scope, grouped by agency, unit, grade or
    employment type, with module completion and completions by month. Three grouped
    queries; for an agency report pass `agency_id`, for the national summary an admin's
    scope and `group_by="agency"`."""
    window = Window.of(filters, tz, today)
    groups = queries.group_counts(
        conn=conn, scope=scope, filters=filters, window=window, group_by=group_by
    )
    total = _total(groups)
    modules: list[tuple[str, str, int, float]] = []
    months: list[tuple[str, int]] = []
    by_group: dict[tuple[str, str], int] = {}
    if with_charts:
        by_group = queries.module_counts_by_group(
            conn=conn, scope=scope, filters=filters, window=window, group_by=group_by
        )
        done: dict[str, int] = {}
        for (_key, module_id), count in by_group.items():
            done[module_id] = done.get(module_id, 0) + count
        for module in course.modules:
            count = done.get(module.id, 0)
            share = round(100 * count / total.people, 1) if total.people else 0.0
            modules.append((module.id, module.title, count, share))
        months = queries.completions_by_month(
            conn=conn, scope=scope, filters=filters, window=window, tz=tz
        )
    return CompletionReport(groups, total, modules, months, group_by, by_group)


@dataclass
class ValueChange:
    """One value's (tag's) mean self-assessment before and after the course."""

    tag: str
    before: float | None
    after: float | None
    answers_before: int
    answers_after: int

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 2)


def self_assessments(course: CourseContent) -> tuple[Any, Any] | None:
    """The course's self-assessments compared (before, after): the opening one and the
    follow-up, or in a course without a follow-up its first and last."""
    return course.self_assessment_pair()


def self_assessment_change(
    *, conn: Any, scope: Scope, filters: Filters, course: CourseContent
) -> list[ValueChange]:
    """Mean self-assessment per value (question tag) before and after, over each person's
    latest answers, for the people in scope; empty when the course has no pair."""
    pair = self_assessments(course)
    if pair is None:
        return []
    before, after = pair
    tags: dict[str, list[str]] = {}
    for quiz in (before, after):
        for question in quiz.questions:
            if question.type == "likert":
                tags[f"{quiz.id}/{question.id}"] = question.tags or ["-"]
    means = queries.self_assessment_means(
        conn=conn,
        scope=scope,
        filters=filters,
        quiz_ids=[before.id, after.id],
        question_ids=sorted({key.split("/", 1)[1] for key in tags}),
    )
    sums: dict[tuple[str, str], list[float]] = {}  # (tag, quiz) -> [sum, count]
    for quiz_id, question_id, mean, count in means:
        for tag in tags.get(f"{quiz_id}/{question_id}", []):
            acc = sums.setdefault((tag, quiz_id), [0.0, 0])
            acc[0] += mean * count
            acc[1] += count
    order = list(dict.fromkeys(t for key in tags for t in tags[key]))
    result = []
    for tag in order:
        b = sums.get((tag, before.id))
        a = sums.get((tag, after.id))
        result.append(
            ValueChange(
                tag=tag,
                before=round(b[0] / b[1], 2) if b else None,
                after=round(a[0] / a[1], 2) if a else None,
                answers_before=int(b[1]) if b else 0,
                answers_after=int(a[1]) if a else 0,
            )
        )
    return result


def after_quizzes(course: CourseContent) -> dict[str, str | None]:
    """The quizzes the after-course report reads: pre-test, post-test, survey, and the
    opening self-assessment with its follow-up."""
    pair = course.self_assessment_pair()
    follow = course.quizzes_of_kind("follow_up")

    def first(kind: str) -> str | None:
        found = course.quizzes_of_kind(kind)
        return found[0].id if found else None

    return {
        "pre_test": first("pre_test"),
        "post_test": first("post_test"),
        "survey": first("survey"),
        "opening": pair[0].id if pair and follow else None,
        "follow_up": follow[0].id if follow else None,
    }


AFTER_GROUPS = ("unit", "agency")


def after_course(
    *,
    conn: Any,
    scope: Scope,
    filters: Filters,
    course: CourseContent,
    group_by: str,
    min_group: int,
) -> list[queries.AfterRow]:
    """The after-course report, per group and for everyone in scope (the last row). A group
    of fewer than `min_group` people who completed keeps only its count: survey answers and
    self-assessments of three or four people would say who answered what."""
    rows = queries.after_course(
        conn=conn,
        scope=scope,
        filters=filters,
        group_by=group_by if group_by in AFTER_GROUPS else "unit",
        quizzes=after_quizzes(course),
    )
    for row in rows:
        if row.completed < min_group:
            row.pre = row.post = row.reaction = row.change = None
            row.pairs = row.reacted = row.followed = 0
            row.plans = row.reported = row.confirmed = row.confirmed_roster = 0
            row.hidden = True
    return rows


def jp_targets(settings: Any) -> dict[str, int]:
    """The JP figures by employment type, from the settings: for a PNS the yearly minimum,
    for a PPPK the contract-year ceiling."""
    return {"PNS": settings.jp_target, "PPPK": settings.jp_ceiling_pppk}


def jp_page(
    *,
    conn: Any,
    scope: Scope,
    filters: Filters,
    year: int,
    tz: ZoneInfo,
    targets: dict[str, int],
    after: tuple[str, int] | None,
    limit: int,
) -> list[Any]:
    """One page of the JP recap ordered by name, after the (name, id) cursor."""
    query = queries.jp_query(scope=scope, filters=filters, year=year, tz=tz, targets=targets)
    user = queries.user_t
    if after is not None:
        name, last_id = after
        query = query.where((user.c.name > name) | ((user.c.name == name) & (user.c.id > last_id)))
    return list(conn.execute(query.order_by(user.c.name, user.c.id).limit(limit)).all())


def person_dict(row: PersonRow) -> dict[str, Any]:
    """A person's row as plain data (JSON API)."""
    return {
        "nip": row.nip,
        "name": row.name,
        "agency": row.agency,
        "unit": row.unit,
        "position": row.position,
        "grade": row.grade,
        "employment_type": row.employment_type,
        "status": row.status,
        "due_on": row.due_on.isoformat() if row.due_on else None,
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
        "jp": row.jp,
        "certificate_number": row.certificate,
    }


def export_for(*, session: Session, user_id: int) -> dict[str, Any]:
    """The exports a person (as HR) started, for their data download (not the files)."""
    return {
        "exports": personal_data.rows_of(
            session, ReportJob, col(ReportJob.user_id) == user_id, omit=("user_id",)
        )
    }


def erase_for(*, session: Session, user_id: int, export_dir: Any) -> None:
    """An erasure's part of exports: the exports the person started as HR, and their files
    (the audit keeps that they were made)."""
    for job in session.exec(select(ReportJob).where(col(ReportJob.user_id) == user_id)):
        Path(export_dir, f"{job.id}.{job.format}").unlink(missing_ok=True)
    session.execute(delete(ReportJob).where(col(ReportJob.user_id) == user_id))


PERSONAL_TABLES = ("report_job",)
