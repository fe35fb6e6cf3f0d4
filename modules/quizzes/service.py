"""Quiz attempts on the server: draw, save each answer as given, submit once, grade."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    func,
    literal,
    literal_column,
    or_,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import personal_data
from app.clock import as_utc, utcnow
from modules.courses.schemas import Question, QuizContent
from modules.plans import service as plans
from modules.quizzes import forms, gift, grading, moodle_xml

# re-exported: what the authors' "try it" preview and editor use (a quiz answered without an
# attempt, graded and forgotten; a bank's statistics beside its questions)
from modules.quizzes.forms import answer_from_form as answer_from_form
from modules.quizzes.forms import field as field
from modules.quizzes.forms import form_values as form_values
from modules.quizzes.grading import score as score
from modules.quizzes.models import QuizAnswer, QuizAttempt
from modules.quizzes.statistics import item_statistics as item_statistics

BANK_FORMATS = ("gift", "aiken", "moodle")


def convert_bank(kind: str, text: str, quiz_id: str, title: str, pass_mark: int) -> Any:
    """A Moodle question file (GIFT, Aiken or Moodle XML) as a quiz file: `.text`, `.count`
    and `.skipped` (line, message) for what could not be kept."""
    convert = {
        "gift": gift.convert_gift,
        "aiken": gift.convert_aiken,
        "moodle": moodle_xml.convert_moodle_xml,
    }[kind]
    return convert(text, quiz_id, title, pass_mark)


def bank_slug(text: str) -> str:
    """A quiz id made from a file name."""
    return gift.slug(text, "kuis")


MAX_TEXT_ANSWER = 500


class AttemptsExhausted(Exception):
    """The quiz allows no more attempts for this learner."""


class AttemptClosed(Exception):
    """The attempt was submitted or its time is up: answers are no longer taken."""


class AttemptExpired(Exception):
    """The learner's open attempt ran out of time: it must be handed in (by the learning
    workflow, which decides what the grade completes) before another can start."""

    def __init__(self, attempt: QuizAttempt) -> None:
        super().__init__(attempt.id)
        self.attempt = attempt


class AnswerInvalid(ValueError):
    """The answer does not fit the question (wrong shape or out of range)."""


@dataclass(frozen=True)
class DrawnQuestion:
    id: str
    options: list[int]  # option indexes in display order ([] when the type has none)


def draw(quiz: QuizContent, seed: int) -> list[DrawnQuestion]:
    """The questions of an attempt and their option orders; the same seed gives the same draw."""
    rng = random.Random(seed)  # noqa: S311 - reproducible draws, not secrets
    bank = list(quiz.questions)
    if isinstance(quiz.draw, int):
        chosen = rng.sample(bank, quiz.draw)
    elif isinstance(quiz.draw, dict):
        chosen = []
        for tag, count in quiz.draw.items():
            pool = [q for q in bank if tag in q.tags and q not in chosen]
            chosen += rng.sample(pool, min(count, len(pool)))
    else:
        chosen = list(bank)
    if quiz.shuffle_questions:
        rng.shuffle(chosen)
    else:
        position = {q.id: i for i, q in enumerate(bank)}
        chosen.sort(key=lambda q: position[q.id])
    return [DrawnQuestion(q.id, _option_order(q, quiz, rng)) for q in chosen]


def _option_order(question: Question, quiz: QuizContent, rng: random.Random) -> list[int]:
    order = list(range(len(question.options)))
    # Ordering items and matching answers are always shuffled: in source order they would
    # give the answer away.
    if question.type in ("ordering", "matching") or (
        quiz.shuffle_options and question.type in ("single", "multiple", "scenario")
    ):
        rng.shuffle(order)
        if question.type == "ordering" and order == sorted(order) and len(order) > 1:
            order = order[1:] + order[:1]
    return order


ATTEMPT_COLUMNS = list(QuizAttempt.__table__.columns)  # type: ignore[attr-defined]


def attempt_from_row(values: tuple[Any, ...]) -> QuizAttempt | None:
    """The attempt from the values of ATTEMPT_COLUMNS read by another query (None when an outer
    join found none)."""
    if not values or values[0] is None:
        return None
    return QuizAttempt(**{c.name: v for c, v in zip(ATTEMPT_COLUMNS, values, strict=True)})


def layout(attempt: QuizAttempt) -> list[DrawnQuestion]:
    """The questions an attempt drew, in display order."""
    return [DrawnQuestion(item["id"], item["options"]) for item in json.loads(attempt.layout)]


def open_attempt(
    *, session: Session, user_id: int, course_id: str, quiz_id: str
) -> QuizAttempt | None:
    """The learner's unsubmitted attempt at a quiz, if any."""
    return session.exec(
        select(QuizAttempt).where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.course_id == course_id,
            QuizAttempt.quiz_id == quiz_id,
            col(QuizAttempt.submitted_at).is_(None),
        )
    ).first()


def attempts(*, session: Session, user_id: int, course_id: str, quiz_id: str) -> list[QuizAttempt]:
    """Every attempt of a learner at a quiz, oldest first."""
    return list(
        session.exec(
            select(QuizAttempt)
            .where(
                QuizAttempt.user_id == user_id,
                QuizAttempt.course_id == course_id,
                QuizAttempt.quiz_id == quiz_id,
            )
            .order_by(col(QuizAttempt.number))
        ).all()
    )


def start(
    *,
    session: Session,
    user_id: int,
    course_id: str,
    version_id: int,
    quiz: QuizContent,
    now: datetime | None = None,
) -> QuizAttempt:
    """Resume the open attempt, or start a new one if the quiz allows it: added to the
    caller's session, which commits it (see `commit_start`). An open attempt whose time is up
    raises AttemptExpired: it is handed in first."""
    now = now or utcnow()
    current = open_attempt(session=session, user_id=user_id, course_id=course_id, quiz_id=quiz.id)
    if current is not None:
        if not _expired(current, now):
            return current
        raise AttemptExpired(current)
    # Numbered after the submitted attempts: two tabs starting at once pick the same number,
    # and the unique (user, course, quiz, number) lets only one of them in.
    count = session.exec(
        select(func.count())
        .select_from(QuizAttempt)
        .where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.course_id == course_id,
            QuizAttempt.quiz_id == quiz.id,
            col(QuizAttempt.submitted_at).is_not(None),
        )
    ).one()
    if quiz.attempts and count >= quiz.attempts:
        raise AttemptsExhausted
    seed = secrets.randbits(62)
    attempt = QuizAttempt(
        id=secrets.token_urlsafe(24)[:32],
        user_id=user_id,
        course_id=course_id,
        quiz_id=quiz.id,
        number=int(count) + 1,
        content_version_id=version_id,
        seed=seed,
        layout=json.dumps([d.__dict__ for d in draw(quiz, seed)]),
        started_at=now,
        deadline_at=now + timedelta(minutes=quiz.time_limit) if quiz.time_limit else None,
    )
    session.add(attempt)
    return attempt


def commit_start(
    *, session: Session, attempt: QuizAttempt, user_id: int, course_id: str, quiz_id: str
) -> QuizAttempt:
    """Commit a started attempt. Two tabs pressing "start" at once pick the same number and
    the unique (user, course, quiz, number) lets one in: the other tab resumes that attempt."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = open_attempt(
            session=session, user_id=user_id, course_id=course_id, quiz_id=quiz_id
        )
        if existing is None:
            raise
        return existing
    return attempt


def get_attempt(*, session: Session, attempt_id: str, fresh: bool = False) -> QuizAttempt | None:
    """An attempt by id; `fresh` reads it again from the database (after taking a lock)."""
    if len(attempt_id) > 32:
        return None
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is not None and fresh:
        session.refresh(attempt)
    return attempt


def overdue(*, session: Session, limit: int = 200, skip: frozenset[str] = frozenset()) -> list[str]:
    """Ids of open attempts whose time ran out (oldest deadline first), but those in `skip`,
    for the worker to hand in."""
    stmt = select(QuizAttempt.id).where(
        col(QuizAttempt.submitted_at).is_(None),
        col(QuizAttempt.deadline_at).is_not(None),
        col(QuizAttempt.deadline_at) < utcnow(),
    )
    if skip:
        stmt = stmt.where(col(QuizAttempt.id).not_in(sorted(skip)))
    return list(session.exec(stmt.order_by(col(QuizAttempt.deadline_at)).limit(limit)).all())


def _expired(attempt: QuizAttempt, now: datetime) -> bool:
    return attempt.deadline_at is not None and now > as_utc(attempt.deadline_at)


def check_answer(question: Question, value: Any, scale: int) -> Any:
    """The answer in its stored form, or AnswerInvalid when it cannot be one for this question."""
    size = len(question.options)

    def index(item: Any, limit: int) -> int:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise AnswerInvalid(question.id)
        try:
            number = int(item)
        except ValueError:
            raise AnswerInvalid(question.id) from None
        if not 0 <= number < limit:
            raise AnswerInvalid(question.id)
        return number

    kind = question.type
    if kind in ("single", "scenario"):
        return index(value, size)
    if kind == "truefalse":
        if str(value).lower() not in ("true", "false"):
            raise AnswerInvalid(question.id)
        return str(value).lower()
    if kind == "multiple":
        if not isinstance(value, list):
            raise AnswerInvalid(question.id)
        return sorted({index(v, size) for v in value})
    if kind == "short":
        if not isinstance(value, str) or len(value) > MAX_TEXT_ANSWER or not value.isprintable():
            raise AnswerInvalid(question.id)
        return value.strip()
    if kind in ("matching", "ordering"):
        if not isinstance(value, list) or len(value) != size:
            raise AnswerInvalid(question.id)
        return [index(v, size) for v in value]
    return _likert(question, value, scale)


def _likert(question: Question, value: Any, scale: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise AnswerInvalid(question.id) from None
    if isinstance(value, bool) or not 1 <= number <= scale:
        raise AnswerInvalid(question.id)
    return number


def save_answer(
    *,
    session: Session,
    attempt: QuizAttempt,
    quiz: QuizContent,
    question_id: str,
    value: Any,
    now: datetime | None = None,
) -> None:
    """Store the answer as it is given (the latest wins) and commit; refused once the attempt
    closed."""
    record_answer(
        conn=session.connection(),
        attempt=attempt,
        quiz=quiz,
        question_id=question_id,
        value=value,
        now=now,
    )
    session.commit()


def record_answer(
    *,
    conn: Connection,
    attempt: QuizAttempt,
    quiz: QuizContent,
    question_id: str,
    value: Any,
    now: datetime | None = None,
    device: str | None = None,
    seq: int | None = None,
) -> bool:
    """Store the answer on the caller's connection (the caller commits, or runs in autocommit).
    One statement, which writes only while the attempt is open: an answer racing the hand-in
    is refused with AttemptClosed rather than landing after the grading.

    `device` and `seq` come from the offline queue: an answer from the same device whose
    number is not above the kept one's is older (a retry, or overtaken by a later change) and
    is not written. True if written, False if it was such an older answer."""
    now = now or utcnow()
    if attempt.submitted_at is not None or _expired(attempt, now):
        raise AttemptClosed
    if question_id not in {d.id for d in layout(attempt)}:
        raise AnswerInvalid(question_id)
    question = next(q for q in quiz.questions if q.id == question_id)
    checked = check_answer(question, value, len(quiz.scale))
    written = conn.execute(
        _SAVE_ANSWER[conn.dialect.name == "postgresql"],
        {
            "attempt_id": attempt.id,
            "question_id": question_id,
            "value": json.dumps(checked),
            "saved_at": now,
            # scored now, so that handing in has only the unanswered questions left to write;
            # never shown before the hand-in
            "score": grading.score(question, checked),
            "client_device": device,
            "client_seq": seq,
        },
    ).first()
    if written is None:
        if device is not None and _is_open(conn, attempt.id):
            return False  # a newer answer from this device is kept
        raise AttemptClosed
    return True


def already_counted(
    *, conn: Connection, attempt_id: str, question_id: str, device: str | None, seq: int | None
) -> bool:
    """Whether a queued answer that arrives after its attempt closed was counted anyway: the
    hand-in carried it (the page posts the device's numbers with its answers), so the kept
    answer is from the same device with a number at least as high. Such a late copy is not a
    conflict; any other late answer is."""
    if device is None or seq is None:
        return False
    kept = conn.execute(
        sa_select(col(QuizAnswer.client_device), col(QuizAnswer.client_seq)).where(
            col(QuizAnswer.attempt_id) == attempt_id,
            col(QuizAnswer.question_id) == question_id,
        )
    ).first()
    return kept is not None and kept[0] == device and (kept[1] or 0) >= seq


def _is_open(conn: Connection, attempt_id: str) -> bool:
    return (
        conn.execute(
            sa_select(literal(1)).where(
                col(QuizAttempt.id) == attempt_id, col(QuizAttempt.submitted_at).is_(None)
            )
        ).first()
        is not None
    )


def record_form(
    *, session: Session, attempt: QuizAttempt, quiz: QuizContent, form: Any
) -> dict[str, str]:
    """Save every answer a page's form carries, in the caller's transaction; the questions
    whose answer was not saved, with why (forms.NOT_ALL_PARTS or forms.UNREADABLE).
    AttemptClosed once the attempt is closed."""
    problems: dict[str, str] = {}
    by_id = {q.id: q for q in quiz.questions}
    for drawn in layout(attempt):
        value = forms.answer_from_form(by_id[drawn.id], form)
        if value is None:
            continue
        if value is forms.INCOMPLETE:
            problems[drawn.id] = forms.NOT_ALL_PARTS
            continue
        # with JavaScript the page also sends this device's number for each answer it shows,
        # so that an older answer of the queue still in flight cannot overwrite it afterwards
        device, seq = forms.queued(form, drawn.id)
        try:
            record_answer(
                conn=session.connection(),
                attempt=attempt,
                quiz=quiz,
                question_id=drawn.id,
                value=value,
                device=device,
                seq=seq,
            )
        except AnswerInvalid:
            problems[drawn.id] = forms.UNREADABLE
    return problems


def _save_answer_statement(insert: Any) -> Any:
    """INSERT ... SELECT ... WHERE the attempt is open, ON CONFLICT replace (built once per
    dialect)."""
    open_attempt = (
        select(literal(1))
        .where(
            col(QuizAttempt.id) == bindparam("attempt_id"),
            col(QuizAttempt.submitted_at).is_(None),
        )
        .exists()
    )
    row = sa_select(
        bindparam("attempt_id", type_=String),
        bindparam("question_id", type_=String),
        bindparam("value", type_=Text),
        bindparam("saved_at", type_=DateTime(timezone=True)),
        bindparam("score", type_=Float),
        bindparam("client_device", type_=String),
        bindparam("client_seq", type_=Integer),
    ).where(open_attempt)
    stmt = insert(QuizAnswer.__table__).from_select(  # type: ignore[attr-defined]
        ["attempt_id", "question_id", "value", "saved_at", "score", "client_device", "client_seq"],
        row,
    )
    kept = QuizAnswer.__table__.c  # type: ignore[attr-defined]
    # RETURNING tells whether a row was written (the rowcount of INSERT ... SELECT is not
    # reported by every driver).
    return stmt.on_conflict_do_update(
        index_elements=["attempt_id", "question_id"],
        set_={
            "value": stmt.excluded.value,
            "saved_at": stmt.excluded.saved_at,
            "score": stmt.excluded.score,
            "client_device": stmt.excluded.client_device,
            "client_seq": stmt.excluded.client_seq,
        },
        # an older answer from the same device does not overwrite a newer one
        where=or_(
            stmt.excluded.client_device.is_(None),
            kept.client_device.is_(None),
            kept.client_device != stmt.excluded.client_device,
            kept.client_seq < stmt.excluded.client_seq,
        ),
    ).returning(literal_column("1"))


# Indexed by "is PostgreSQL".
_SAVE_ANSWER = (_save_answer_statement(sqlite_insert), _save_answer_statement(pg_insert))


def answers(*, session: Session, attempt_id: str) -> dict[str, Any]:
    """Saved answers of an attempt by question id."""
    rows = session.connection().execute(
        select(QuizAnswer.question_id, QuizAnswer.value).where(
            col(QuizAnswer.attempt_id) == attempt_id
        )
    )
    return {question_id: json.loads(value) for question_id, value in rows}


def submit(
    *,
    session: Session,
    attempt_id: str,
    quiz: QuizContent,
    now: datetime | None = None,
    attempt: QuizAttempt | None = None,
    commit: bool = True,
) -> QuizAttempt:
    """Grade and close an attempt exactly once: a double click, a retry or two tabs at the same
    moment all get the one graded attempt (a conditional UPDATE decides which call grades).
    `attempt` saves reading it again; with `commit=False` the caller commits (and may add its
    own writes to the same transaction)."""
    now = now or utcnow()
    if attempt is None:
        attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None:
        raise LookupError(attempt_id)
    if attempt.submitted_at is None:
        conn = session.connection()
        ids = [d.id for d in layout(attempt)]
        rows: Any = conn.execute(_ANSWERS_AND_SCORES, {"attempt_id": attempt_id})
        saved = {qid: (json.loads(value), stored) for qid, value, stored in rows}
        given = {qid: value for qid, (value, _stored) in saved.items()}
        score, passed = grading.grade(quiz, ids, given)
        won = conn.execute(
            _CLOSE_ATTEMPT,
            {"attempt_id": attempt_id, "now": now, "score": score, "passed": passed},
        ).rowcount
        if won:
            # Every drawn question keeps its score for item statistics: answers were scored
            # as they were saved, so only unanswered questions (and any answer saved without
            # a score) are left to write.
            by_id = {q.id: q for q in quiz.questions}
            rows = []
            for qid in ids:
                value, stored = saved.get(qid, (None, None))
                scored = grading.score(by_id[qid], value)
                if qid not in saved or stored != scored:
                    rows.append(
                        {
                            "attempt_id": attempt_id,
                            "question_id": qid,
                            "value": json.dumps(value),
                            "saved_at": now,
                            "score": scored,
                        }
                    )
            if rows:  # one round trip for all of them
                conn.execute(_KEEP_SCORES[conn.dialect.name == "postgresql"], rows)
            attempt.submitted_at, attempt.score, attempt.passed = now, score, passed
        else:  # another request graded it first: take its result
            row: Any = conn.execute(_RESULT, {"attempt_id": attempt_id}).one()
            attempt.submitted_at, attempt.score, attempt.passed = row
        if commit:
            session.commit()
    return attempt


_CLOSE_ATTEMPT = (
    update(QuizAttempt)
    .where(col(QuizAttempt.id) == bindparam("attempt_id"), col(QuizAttempt.submitted_at).is_(None))
    .values(submitted_at=bindparam("now"), score=bindparam("score"), passed=bindparam("passed"))
)


def _keep_scores_statement(insert: Any) -> Any:
    stmt = insert(QuizAnswer.__table__)  # type: ignore[attr-defined]
    return stmt.on_conflict_do_update(
        index_elements=["attempt_id", "question_id"],
        set_={"score": stmt.excluded.score, "value": stmt.excluded.value},
    )


_KEEP_SCORES = (_keep_scores_statement(sqlite_insert), _keep_scores_statement(pg_insert))
_ANSWERS_AND_SCORES = select(QuizAnswer.question_id, QuizAnswer.value, QuizAnswer.score).where(
    col(QuizAnswer.attempt_id) == bindparam("attempt_id")
)
_RESULT = select(QuizAttempt.submitted_at, QuizAttempt.score, QuizAttempt.passed).where(
    col(QuizAttempt.id) == bindparam("attempt_id")
)


def passed_quiz_ids(
    *, session: Session, user_id: int, course_id: str, quizzes: list[QuizContent]
) -> set[str]:
    """The quizzes whose counting attempt (highest or last) passed, or (the pre-test and the
    reaction survey) that were handed in; one query for them all."""
    if not quizzes:
        return set()
    rows = session.connection().execute(
        select(QuizAttempt.quiz_id, QuizAttempt.number, QuizAttempt.score, QuizAttempt.passed)
        .where(
            col(QuizAttempt.user_id) == user_id,
            col(QuizAttempt.course_id) == course_id,
            col(QuizAttempt.quiz_id).in_([q.id for q in quizzes]),
            col(QuizAttempt.submitted_at).is_not(None),
        )
        .order_by(col(QuizAttempt.number))
    )
    done: dict[str, list[Any]] = {}
    for row in rows:
        done.setdefault(row.quiz_id, []).append(row)
    passed = set()
    for quiz in quizzes:
        graded = done.get(quiz.id)
        if graded and (quiz.hand_in_completes or _counting(quiz, graded).passed):
            passed.add(quiz.id)
    return passed


def _counting(quiz: QuizContent, done: list[Any]) -> Any:
    """Of the handed-in attempts (oldest first), the one the grading method counts."""
    if quiz.grading == "last":
        return done[-1]
    return max(done, key=lambda a: (a.score or 0.0, -a.number))


def standing(
    *, session: Session, user_id: int, course_id: str, quiz: QuizContent
) -> QuizAttempt | None:
    """The attempt that counts under the quiz's grading method (highest or last)."""
    done = [
        a
        for a in attempts(session=session, user_id=user_id, course_id=course_id, quiz_id=quiz.id)
        if a.submitted_at is not None
    ]
    return _counting(quiz, done) if done else None


def likert_means(
    *, session: Session, user_id: int, course_id: str, quiz: QuizContent
) -> dict[str, float]:
    """A learner's mean answer per tag in their latest handed-in self-assessment."""
    done = [
        a
        for a in attempts(session=session, user_id=user_id, course_id=course_id, quiz_id=quiz.id)
        if a.submitted_at is not None
    ]
    if not done:
        return {}
    given = answers(session=session, attempt_id=done[-1].id)
    totals: dict[str, list[int]] = {}
    for question in quiz.questions:
        value = given.get(question.id)
        if question.type == "likert" and isinstance(value, int):
            for tag in question.tags or ["-"]:
                totals.setdefault(tag, []).append(value)
    return {tag: round(sum(v) / len(v), 2) for tag, v in totals.items()}


def export_for(*, session: Session, user_id: int) -> dict[str, Any]:
    """A learner's quiz attempts with every answer saved, for their data download."""
    attempts = personal_data.rows_of(
        session,
        QuizAttempt,
        col(QuizAttempt.user_id) == user_id,
        omit=("user_id", "seed"),
        order=col(QuizAttempt.started_at),
    )
    for attempt in attempts:
        attempt["answers"] = personal_data.rows_of(
            session,
            QuizAnswer,
            col(QuizAnswer.attempt_id) == attempt["id"],
            omit=("attempt_id",),
        )
    return {"attempts": attempts}


def erase_for(*, session: Session, user_id: int) -> None:
    """An erasure's quiz part: every attempt and answer deleted."""
    attempts = select(QuizAttempt.id).where(col(QuizAttempt.user_id) == user_id)
    session.execute(delete(QuizAnswer).where(col(QuizAnswer.attempt_id).in_(attempts)))
    session.execute(delete(QuizAttempt).where(col(QuizAttempt.user_id) == user_id))


PERSONAL_TABLES = ("quiz_attempt", "quiz_answer")


def follow_up_opens(
    *, session: Session, user_id: int, course_id: str, quiz: QuizContent, days: int
) -> datetime | None:
    """For a follow-up self-assessment, when it opens for the learner: their action plan's
    date plus `days` (far in the future while there is no plan); None for any other quiz."""
    if quiz.kind != "follow_up":
        return None
    view = plans.get(session=session, user_id=user_id, course_id=course_id)
    opens = plans.follow_up_opens(view.plan if view else None, days)
    return opens or datetime.max.replace(tzinfo=UTC)
