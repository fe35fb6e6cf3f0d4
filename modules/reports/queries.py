"""The SQL behind every report. A report is one query over the people in scope, grouped in the
database, so an agency of 50,000 or a national view of millions never passes through Python
row by row (exports stream their rows).

Reports are a read model over other modules' tables (people, enrolments, completions,
certificates, quiz answers): this is the one place that reads them directly, because a report
at national scale has to be a single query, not a walk through each module's service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)

from app import clock
from app.clock import as_utc
from modules.accounts.models import User
from modules.accounts.service import Scope
from modules.agencies.models import Agency
from modules.certificates.models import Certificate
from modules.plans.models import ActionPlan
from modules.progress.models import CourseCompletion, Enrollment, LearningEvent
from modules.quizzes.models import QuizAnswer, QuizAttempt

GROUPS = ("agency", "unit", "grade", "employment_type")
STATUSES = ("completed", "overdue", "in_progress", "not_started")

user_t = User.__table__  # type: ignore[attr-defined]
agency_t = Agency.__table__  # type: ignore[attr-defined]
enrol_t = Enrollment.__table__  # type: ignore[attr-defined]
completion_t = CourseCompletion.__table__  # type: ignore[attr-defined]
event_t = LearningEvent.__table__  # type: ignore[attr-defined]
certificate_t = Certificate.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Filters:
    """What HR narrowed a report to. `until` is the day the statuses are read at (default
    today); `since` starts the period whose completions are counted apart."""

    course_id: str
    agency_id: int | None = None
    unit: str | None = None
    grade: str | None = None
    employment_type: str | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None
    search: str | None = None

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        values = {
            "course": self.course_id,
            "agency": self.agency_id,
            "unit": self.unit,
            "grade": self.grade,
            "type": self.employment_type,
            "status": self.status,
            "since": self.since,
            "until": self.until,
            "q": self.search,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class Window:
    """The period as UTC instants: statuses at the end of `until` (local time), completions
    counted from the start of `since`."""

    today: date
    start: datetime | None
    end: datetime

    @classmethod
    def of(cls, filters: Filters, tz: ZoneInfo, today: date) -> Window:
        until = min(filters.until or today, today)

        def utc(day: date) -> datetime:
            return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)

        start = utc(filters.since) if filters.since else None
        return cls(today=until, start=start, end=utc(until + timedelta(days=1)))


def _joined(course_id: str) -> Any:
    """People with their enrolment and completion in one course (both optional)."""
    return user_t.outerjoin(
        enrol_t, and_(enrol_t.c.user_id == user_t.c.id, enrol_t.c.course_id == course_id)
    ).outerjoin(
        completion_t,
        and_(completion_t.c.user_id == user_t.c.id, completion_t.c.course_id == course_id),
    )


def _completed(window: Window) -> Any:
    return completion_t.c.completed_at < window.end


def status_expr(window: Window) -> Any:
    """One status per person: completed, else overdue (due date passed), else in progress
    (opened a lesson), else not started."""
    return case(
        (_completed(window), literal("completed")),
        (enrol_t.c.due_on < window.today, literal("overdue")),
        (enrol_t.c.last_lesson_id.is_not(None), literal("in_progress")),
        else_=literal("not_started"),
    )


def _conditions(scope: Scope, filters: Filters, window: Window) -> list[Any]:
    conditions: list[Any] = [user_t.c.active == true()]
    limit = scope.where(user_t.c.agency_id, user_t.c.work_unit)
    if limit is not None:
        conditions.append(limit)
    if filters.agency_id is not None:
        conditions.append(user_t.c.agency_id == filters.agency_id)
    if filters.unit:
        conditions.append(func.lower(user_t.c.work_unit) == filters.unit.lower())
    if filters.grade:
        conditions.append(user_t.c.grade == filters.grade)
    if filters.employment_type:
        conditions.append(user_t.c.employment_type == filters.employment_type)
    if filters.status:
        conditions.append(status_expr(window) == filters.status)
    if filters.search:
        text = filters.search.strip()
        if text.isdigit():
            conditions.append(user_t.c.nip.startswith(text, autoescape=True))
        else:
            conditions.append(func.lower(user_t.c.name).contains(text.lower(), autoescape=True))
    return conditions


def _group_column(group_by: str) -> Any:
    return {
        "agency": user_t.c.agency_id,
        "unit": user_t.c.work_unit,
        "grade": user_t.c.grade,
        "employment_type": user_t.c.employment_type,
    }[group_by]


@dataclass
class GroupRow:
    """Counts for one group of people (an agency, unit, grade or employment type)."""

    key: str
    label: str
    people: int
    completed: int
    overdue: int
    in_progress: int
    not_started: int
    completed_in_period: int
    assigned: int
    jp: int

    @property
    def rate(self) -> float:
        """Completed, in percent of the people in the group."""
        return round(100 * self.completed / self.people, 1) if self.people else 0.0

    def share(self, status: str) -> float:
        """One status's share of the group, in percent (for the stacked bars)."""
        return 100 * getattr(self, status) / self.people if self.people else 0.0


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def group_counts(
    *, conn: Any, scope: Scope, filters: Filters, window: Window, group_by: str
) -> list[GroupRow]:
    """Status counts per group, largest group first. One grouped query; agencies are
    named by a second, small one."""
    key = _group_column(group_by)
    status = status_expr(window)
    in_period = _completed(window)
    if window.start is not None:
        in_period = and_(in_period, completion_t.c.completed_at >= window.start)
    query = (
        select(
            key.label("key"),
            func.count().label("people"),
            _count(status == "completed").label("completed"),
            _count(status == "overdue").label("overdue"),
            _count(status == "in_progress").label("in_progress"),
            _count(in_period).label("in_period"),
            _count(enrol_t.c.due_on.is_not(None)).label("assigned"),
            func.coalesce(func.sum(case((_completed(window), completion_t.c.jp))), 0).label("jp"),
        )
        .select_from(_joined(filters.course_id))
        .where(*_conditions(scope, filters, window))
        .group_by(key)
        .order_by(func.count().desc(), key)
    )
    rows = conn.execute(query).all()
    labels: dict[Any, str] = {}
    if group_by == "agency" and rows:
        ids = [r.key for r in rows]
        names = select(agency_t.c.id, agency_t.c.name).where(agency_t.c.id.in_(ids))
        labels = {agency: name for agency, name in conn.execute(names)}
    result = []
    for r in rows:
        people, completed, overdue, in_progress = (
            r.people,
            r.completed or 0,
            r.overdue or 0,
            r.in_progress or 0,
        )
        result.append(
            GroupRow(
                key=str(r.key),
                label=labels.get(r.key, str(r.key)),
                people=people,
                completed=completed,
                overdue=overdue,
                in_progress=in_progress,
                not_started=people - completed - overdue - in_progress,
                completed_in_period=r.in_period or 0,
                assigned=r.assigned or 0,
                jp=int(r.jp or 0),
            )
        )
    return result


def module_counts_by_group(
    *, conn: Any, scope: Scope, filters: Filters, window: Window, group_by: str
) -> dict[tuple[str, str], int]:
    """People in scope who completed each module, per group: {(group key, module): people}.
    One grouped query; the totals per module are its sums."""
    key = _group_column(group_by)
    status_free = filters.status is None
    source = (
        event_t.join(user_t, user_t.c.id == event_t.c.user_id)
        if status_free  # the status needs the enrolment and completion joined in
        else _joined(filters.course_id).join(event_t, event_t.c.user_id == user_t.c.id)
    )
    query = (
        select(key, event_t.c.subject, func.count())
        .select_from(source)
        .where(
            event_t.c.course_id == filters.course_id,
            event_t.c.kind == "module_completed",
            event_t.c.at < window.end,
            *_conditions(scope, filters, window),
        )
        .group_by(key, event_t.c.subject)
    )
    return {(str(k), subject): count for k, subject, count in conn.execute(query)}


def month_expr(column: Any, dialect: str, tz: ZoneInfo) -> Any:
    """The local calendar month (YYYY-MM) of a UTC timestamp column."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(tz.key, column), "YYYY-MM")
    offset = clock.local_now(tz).utcoffset() or timedelta()  # Indonesia has no summer time
    hours = int(offset.total_seconds() // 3600)
    return func.strftime("%Y-%m", column, f"{hours:+d} hours")


def completions_by_month(
    *, conn: Any, scope: Scope, filters: Filters, window: Window, tz: ZoneInfo, months: int = 12
) -> list[tuple[str, int]]:
    """Completions per local month over the last `months` months up to the period's end,
    oldest first, months without completions included as 0."""
    end_local = window.today
    first = date(end_local.year, end_local.month, 1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    start = datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC)
    month = month_expr(completion_t.c.completed_at, conn.dialect.name, tz)
    conditions = _conditions(scope, Filters(**{**filters.__dict__, "status": None}), window)
    query = (
        select(month.label("month"), func.count())
        .select_from(
            completion_t.join(
                user_t,
                and_(
                    user_t.c.id == completion_t.c.user_id,
                    completion_t.c.course_id == filters.course_id,
                ),
            )
        )
        .where(
            completion_t.c.completed_at >= start,
            completion_t.c.completed_at < window.end,
            *conditions,
        )
        .group_by(month)
    )
    found = dict(conn.execute(query).all())
    result, cursor = [], first
    for _ in range(months):
        label = cursor.strftime("%Y-%m")
        result.append((label, int(found.get(label, 0))))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return result


@dataclass
class PersonRow:
    """One person's standing in a course."""

    id: int
    nip: str
    name: str
    agency: str
    unit: str
    position: str
    grade: str
    employment_type: str
    status: str
    due_on: date | None
    completed_at: datetime | None
    jp: int
    certificate: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _person_columns() -> tuple[Any, ...]:
    """Who a person is, as every per-person report and export lists them."""
    return (
        user_t.c.id,
        user_t.c.nip,
        user_t.c.name,
        agency_t.c.name.label("agency"),
        user_t.c.work_unit,
        user_t.c.position,
        user_t.c.grade,
        user_t.c.employment_type,
    )


def people_query(*, scope: Scope, filters: Filters, window: Window) -> Select[Any]:
    """Everyone in scope with their status, ordered by agency, unit, name (stable: id)."""
    valid_certificate = and_(
        certificate_t.c.user_id == user_t.c.id,
        certificate_t.c.course_id == filters.course_id,
        certificate_t.c.revoked_at.is_(None),
    )
    return (
        select(
            *_person_columns(),
            status_expr(window).label("status"),
            enrol_t.c.due_on,
            case((_completed(window), completion_t.c.completed_at), else_=null()).label(
                "completed_at"
            ),
            case((_completed(window), completion_t.c.jp), else_=0).label("jp"),
            certificate_t.c.number.label("certificate"),
        )
        .select_from(
            _joined(filters.course_id)
            .join(agency_t, agency_t.c.id == user_t.c.agency_id)
            .outerjoin(certificate_t, valid_certificate)
        )
        .where(*_conditions(scope, filters, window))
    )


def _person(row: Any) -> PersonRow:
    return PersonRow(
        id=row.id,
        nip=row.nip,
        name=row.name,
        agency=row.agency,
        unit=row.work_unit,
        position=row.position,
        grade=row.grade,
        employment_type=row.employment_type,
        status=row.status,
        due_on=row.due_on,
        completed_at=as_utc(row.completed_at) if row.completed_at else None,
        jp=int(row.jp or 0),
        certificate=row.certificate,
    )


def people_page(
    *,
    conn: Any,
    scope: Scope,
    filters: Filters,
    window: Window,
    after: tuple[str, int] | None,
    limit: int,
) -> list[PersonRow]:
    """One page of people ordered by name, after the (name, id) cursor."""
    query = people_query(scope=scope, filters=filters, window=window)
    if after is not None:
        name, last_id = after
        query = query.where(
            or_(user_t.c.name > name, and_(user_t.c.name == name, user_t.c.id > last_id))
        )
    query = query.order_by(user_t.c.name, user_t.c.id).limit(limit)
    return [_person(r) for r in conn.execute(query)]


def people_rows(*, conn: Any, scope: Scope, filters: Filters, window: Window) -> Any:
    """Every person in scope, streamed from a server-side cursor (exports), ordered by
    agency, unit and name."""
    query = people_query(scope=scope, filters=filters, window=window).order_by(
        agency_t.c.name, user_t.c.work_unit, user_t.c.name, user_t.c.id
    )
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    for row in result:
        yield _person(row)


def count_people(*, conn: Any, scope: Scope, filters: Filters, window: Window) -> int:
    """How many people a report or export covers."""
    query = (
        select(func.count())
        .select_from(_joined(filters.course_id))
        .where(*_conditions(scope, filters, window))
    )
    return int(conn.execute(query).scalar_one())


def _year_bounds(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(UTC)
    return start, end


def jp_query(
    *, scope: Scope, filters: Filters, year: int, tz: ZoneInfo, targets: dict[str, int]
) -> Select[Any]:
    """JP earned on this platform in a year, per person in scope: a PNS with the yearly
    minimum (`target`), a PPPK with the contract-year ceiling (`ceiling`, PP 49/2018 Pasal 40
    ayat (1): "paling lama"), the other one NULL."""
    start, end = _year_bounds(year, tz)
    earned = (
        select(completion_t.c.user_id, func.sum(completion_t.c.jp).label("jp"))
        .where(completion_t.c.completed_at >= start, completion_t.c.completed_at < end)
        .group_by(completion_t.c.user_id)
        .subquery("earned")
    )
    pppk = user_t.c.employment_type == "PPPK"
    target = case((pppk, None), else_=targets["PNS"]).label("target")
    ceiling = case((pppk, targets["PPPK"]), else_=None).label("ceiling")
    window = Window(today=date(year, 12, 31), start=None, end=end)
    conditions = _conditions(scope, Filters(**{**filters.__dict__, "status": None}), window)
    jp = func.coalesce(earned.c.jp, 0)
    if filters.status == "met":
        conditions += [~pppk, jp >= targets["PNS"]]
    elif filters.status == "below":
        conditions += [~pppk, jp < targets["PNS"]]
    elif filters.status == "within":
        conditions += [pppk, jp <= targets["PPPK"]]
    elif filters.status == "above":
        conditions += [pppk, jp > targets["PPPK"]]
    return (
        select(
            *_person_columns(),
            cast(jp, Integer).label("jp"),
            target,
            ceiling,
        )
        .select_from(
            user_t.join(agency_t, agency_t.c.id == user_t.c.agency_id).outerjoin(
                earned, earned.c.user_id == user_t.c.id
            )
        )
        .where(*conditions)
    )


def jp_status(row: Any) -> str:
    """A person's standing in the JP recap: a PNS has reached the minimum (`met`) or not
    (`below`); a PPPK is within the ceiling (`within`) or above it (`above`)."""
    if row.ceiling is not None:
        return "above" if row.jp > row.ceiling else "within"
    return "met" if row.jp >= row.target else "below"


def jp_summary(
    *, conn: Any, scope: Scope, filters: Filters, year: int, tz: ZoneInfo, targets: dict[str, int]
) -> dict[str, int]:
    """People in scope; of the PNS, how many reached the yearly minimum; of the PPPK, how
    many went above the contract-year ceiling; and the JP earned in all."""
    inner = jp_query(scope=scope, filters=filters, year=year, tz=tz, targets=targets).subquery(
        "per_person"
    )
    row = conn.execute(
        select(
            func.count(),
            _count(inner.c.target.is_not(None) & (inner.c.jp >= inner.c.target)),
            _count(inner.c.target.is_not(None) & (inner.c.jp < inner.c.target)),
            _count(inner.c.ceiling.is_not(None)),
            _count(inner.c.ceiling.is_not(None) & (inner.c.jp > inner.c.ceiling)),
            func.coalesce(func.sum(inner.c.jp), 0),
        )
    ).one()
    people, met, below, pppk, above = (row[i] or 0 for i in range(5))
    return {
        "people": people,
        "met": met,
        "below": below,
        "pppk": pppk,
        "above": above,
        "jp": int(row[5] or 0),
    }


def self_assessment_means(
    *, conn: Any, scope: Scope, filters: Filters, quiz_ids: list[str], question_ids: list[str]
) -> list[tuple[str, str, float, int]]:
    """(quiz, question, mean answer, answers) over each person's latest handed-in attempt of
    each self-assessment, for the people in scope."""
    attempt_t = QuizAttempt.__table__  # type: ignore[attr-defined]
    answer_t = QuizAnswer.__table__  # type: ignore[attr-defined]
    later = attempt_t.alias("later")
    newest = ~(
        select(literal(1))
        .where(
            later.c.user_id == attempt_t.c.user_id,
            later.c.course_id == attempt_t.c.course_id,
            later.c.quiz_id == attempt_t.c.quiz_id,
            later.c.submitted_at.is_not(None),
            later.c.number > attempt_t.c.number,
        )
        .exists()
    )
    window = Window(today=date.max, start=None, end=datetime.max.replace(tzinfo=UTC))
    conditions = _conditions(scope, Filters(**{**filters.__dict__, "status": None}), window)
    if not quiz_ids or not question_ids:
        conditions.append(false())
    query = (
        select(
            attempt_t.c.quiz_id,
            answer_t.c.question_id,
            func.avg(cast(answer_t.c.value, Integer)),
            func.count(),
        )
        .select_from(
            answer_t.join(attempt_t, attempt_t.c.id == answer_t.c.attempt_id).join(
                user_t, user_t.c.id == attempt_t.c.user_id
            )
        )
        .where(
            attempt_t.c.course_id == filters.course_id,
            attempt_t.c.quiz_id.in_(quiz_ids),
            attempt_t.c.submitted_at.is_not(None),
            answer_t.c.question_id.in_(question_ids),
            newest,
            *conditions,
        )
        .group_by(attempt_t.c.quiz_id, answer_t.c.question_id)
    )
    return [(q, item, float(mean), n) for q, item, mean, n in conn.execute(query)]


def certificate_agencies(*, conn: Any, scope: Scope, filters: Filters, window: Window) -> set[str]:
    """The codes of the agencies whose people in scope hold a valid certificate of the course
    in the period (what a SIASN export would list)."""
    cert = certificate_t
    query = (
        select(agency_t.c.code)
        .distinct()
        .select_from(
            _joined(filters.course_id)
            .join(
                cert,
                and_(
                    cert.c.user_id == user_t.c.id,
                    cert.c.course_id == filters.course_id,
                    cert.c.revoked_at.is_(None),
                ),
            )
            .join(agency_t, agency_t.c.id == user_t.c.agency_id)
        )
        .where(*_conditions(scope, filters, window), cert.c.completed_at < window.end)
    )
    if window.start is not None:
        query = query.where(cert.c.completed_at >= window.start)
    return {row[0] for row in conn.execute(query)}


# ---- after the course: knowledge gain, reaction, action plans, change at three months --------


@dataclass
class AfterRow:
    """What came of the course for one group (an agency or a unit), or for everyone in scope
    (`key` None): each figure with the number of people it rests on."""

    key: str | None
    label: str
    completed: int = 0
    pairs: int = 0  # people with a pre-test and a post-test
    pre: float | None = None  # mean pre-test score, percent
    post: float | None = None  # mean best post-test score, percent
    reacted: int = 0  # people who answered the reaction survey
    reaction: float | None = None  # mean answer, 1 to the scale's length
    plans: int = 0
    reported: int = 0
    confirmed: int = 0  # supervisors who saw the change at work
    confirmed_roster: int = 0  # of them, at an address of a colleague on the agency's roster
    followed: int = 0  # people with both the opening self-assessment and the follow-up
    change: float | None = None  # mean of (follow-up mean - opening mean) per person
    hidden: bool = False  # too few people to show more than the count

    @property
    def gain(self) -> float | None:
        return None if self.pre is None or self.post is None else self.post - self.pre


def _per_person_score(quiz_id: str, best: bool) -> Any:
    """Each person's score in a quiz of the course (their best, or the first handed in)."""
    attempt_t = QuizAttempt.__table__  # type: ignore[attr-defined]
    return (
        select(
            attempt_t.c.user_id.label("user_id"),
            (func.max if best else func.min)(attempt_t.c.score).label("value"),
        )
        .where(
            attempt_t.c.quiz_id == quiz_id,
            attempt_t.c.submitted_at.is_not(None),
            attempt_t.c.score.is_not(None),
        )
        .group_by(attempt_t.c.user_id)
    )


def _per_person_likert(course_id: str, quiz_id: str) -> Any:
    """Each person's mean Likert answer in a form of the course (all their answers)."""
    attempt_t = QuizAttempt.__table__  # type: ignore[attr-defined]
    answer_t = QuizAnswer.__table__  # type: ignore[attr-defined]
    return (
        select(
            attempt_t.c.user_id.label("user_id"),
            func.avg(cast(answer_t.c.value, Integer)).label("value"),
        )
        .select_from(answer_t.join(attempt_t, attempt_t.c.id == answer_t.c.attempt_id))
        .where(
            attempt_t.c.course_id == course_id,
            attempt_t.c.quiz_id == quiz_id,
            attempt_t.c.submitted_at.is_not(None),
        )
        .group_by(attempt_t.c.user_id)
    )


def after_course(
    *,
    conn: Any,
    scope: Scope,
    filters: Filters,
    group_by: str,
    quizzes: dict[str, str | None],
) -> list[AfterRow]:
    """Per group (and a last row for everyone in scope): completions, knowledge gain
    (pre-test -> best post-test), the reaction survey's mean, action plans written, reported
    and confirmed, and the change from the opening self-assessment to the follow-up. One
    grouped query per measure; `quizzes` names the course's pre_test, post_test, survey,
    opening and follow_up (None when it has none)."""
    window = Window(today=date.max, start=None, end=datetime.max.replace(tzinfo=UTC))
    conditions = _conditions(scope, Filters(**{**filters.__dict__, "status": None}), window)
    key = _group_column(group_by)
    course_id = filters.course_id
    rows: dict[str | None, AfterRow] = {}  # None: everyone in scope

    def grouped(query: Any, fill: Callable[[AfterRow, Any], None]) -> None:
        for r in conn.execute(query):
            for k in ("" if r.key is None else str(r.key), None):
                row = rows.setdefault(k, AfterRow(key=k, label=""))
                fill(row, r)

    def over_users(*columns: Any, source: Any, extra: tuple[Any, ...] = ()) -> Any:
        base = select(key.label("key"), *columns).select_from(source).where(*conditions, *extra)
        return base.group_by(key)

    plan_t = ActionPlan.__table__  # type: ignore[attr-defined]
    grouped(
        over_users(
            func.count().label("n"),
            source=user_t.join(
                completion_t,
                and_(completion_t.c.user_id == user_t.c.id, completion_t.c.course_id == course_id),
            ),
        ),
        lambda row, r: setattr(row, "completed", row.completed + r.n),
    )
    sums: dict[tuple[Any, str], list[float]] = {}

    def add(name: str) -> Callable[[AfterRow, Any], None]:
        def fill(row: AfterRow, r: Any) -> None:
            acc = sums.setdefault((row.key, name), [0.0, 0.0, 0.0])
            acc[0] += float(r.a or 0) * r.n
            acc[1] += float(r.b or 0) * r.n
            acc[2] += r.n

        return fill

    def paired(name: str, first: Any, second: Any | None = None) -> None:
        """Over the people with a value in each per-person query: the mean of each (of the
        one, twice, when there is one)."""
        a = first.subquery(f"{name}_a")
        b = second.subquery(f"{name}_b") if second is not None else a
        source = user_t.join(a, a.c.user_id == user_t.c.id)
        if second is not None:
            source = source.join(b, b.c.user_id == user_t.c.id)
        columns = (func.avg(a.c.value).label("a"), func.avg(b.c.value).label("b"))
        grouped(over_users(func.count().label("n"), *columns, source=source), add(name))

    if quizzes.get("pre_test") and quizzes.get("post_test"):
        pre = _per_person_score(str(quizzes["pre_test"]), best=False)
        paired("knowledge", pre, _per_person_score(str(quizzes["post_test"]), best=True))
    if quizzes.get("survey"):
        survey = _per_person_likert(course_id, str(quizzes["survey"]))
        paired("reaction", survey)
    if quizzes.get("opening") and quizzes.get("follow_up"):
        opening = _per_person_likert(course_id, str(quizzes["opening"]))
        paired("change", opening, _per_person_likert(course_id, str(quizzes["follow_up"])))

    def plans(row: AfterRow, r: Any) -> None:
        row.plans += r.n
        row.reported += int(r.reported or 0)
        row.confirmed += int(r.confirmed or 0)
        row.confirmed_roster += int(r.confirmed_roster or 0)

    grouped(
        over_users(
            func.count().label("n"),
            _count(plan_t.c.reported_at.is_not(None)).label("reported"),
            _count(plan_t.c.supervisor_seen == true()).label("confirmed"),
            _count(
                and_(plan_t.c.supervisor_seen == true(), plan_t.c.supervisor_on_roster == true())
            ).label("confirmed_roster"),
            source=user_t.join(
                plan_t, and_(plan_t.c.user_id == user_t.c.id, plan_t.c.course_id == course_id)
            ),
        ),
        plans,
    )
    for (k, name), (a, b, n) in sums.items():
        row = rows[k]
        if not n:
            continue
        if name == "knowledge":
            row.pairs, row.pre, row.post = int(n), a / n, b / n
        elif name == "reaction":
            row.reacted, row.reaction = int(n), a / n
        else:
            row.followed, row.change = int(n), (b - a) / n
    labels: dict[Any, str] = {}
    keys = [k for k in rows if k]
    if group_by == "agency" and keys:
        names = select(agency_t.c.id, agency_t.c.name).where(
            agency_t.c.id.in_([int(k) for k in keys])
        )
        labels = {str(agency): name for agency, name in conn.execute(names)}
    for k, row in rows.items():
        row.label = "" if k is None else labels.get(k, k or "–")
    total = rows.pop(None, AfterRow(key=None, label=""))
    ordered = sorted(rows.values(), key=lambda r: (-r.completed, r.label))
    return [*ordered, total]
