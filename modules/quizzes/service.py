"""Quiz attempts on the server: draw, save each answer as given, submit once, grade."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.timeutil import as_utc, utcnow
from modules.quizzes import grading
from modules.quizzes.models import QuizAnswer, QuizAttempt
from modules.quizzes.schemas import Question, QuizContent

MAX_TEXT_ANSWER = 500


class AttemptsExhausted(Exception):
    """The quiz allows no more attempts for this learner."""


class AttemptClosed(Exception):
    """The attempt was submitted or its time is up: answers are no longer taken."""


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
    """Resume the open attempt, or start a new one if the quiz allows it. An open attempt whose
    time is up is submitted first (graded on what was saved)."""
    now = now or utcnow()
    current = open_attempt(session=session, user_id=user_id, course_id=course_id, quiz_id=quiz.id)
    if current is not None:
        if not _expired(current, now):
            return current
        submit(session=session, attempt_id=current.id, quiz=quiz, now=now)
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
    try:
        session.commit()
    except IntegrityError:  # two tabs pressed "start" together: one attempt wins, both use it
        session.rollback()
        existing = open_attempt(
            session=session, user_id=user_id, course_id=course_id, quiz_id=quiz.id
        )
        if existing is None:
            raise
        return existing
    return attempt


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
    """Store the answer as it is given (the latest wins); refused once the attempt closed."""
    now = now or utcnow()
    if attempt.submitted_at is not None or _expired(attempt, now):
        raise AttemptClosed
    if question_id not in {d.id for d in layout(attempt)}:
        raise AnswerInvalid(question_id)
    question = next(q for q in quiz.questions if q.id == question_id)
    stored = json.dumps(check_answer(question, value, len(quiz.scale)))
    _upsert_answer(session, attempt.id, question_id, stored, now)
    session.commit()


def answers(*, session: Session, attempt_id: str) -> dict[str, Any]:
    """Saved answers of an attempt by question id."""
    rows = session.connection().execute(
        select(QuizAnswer.question_id, QuizAnswer.value).where(
            col(QuizAnswer.attempt_id) == attempt_id
        )
    )
    return {question_id: json.loads(value) for question_id, value in rows}


def submit(
    *, session: Session, attempt_id: str, quiz: QuizContent, now: datetime | None = None
) -> QuizAttempt:
    """Grade and close an attempt exactly once: a double click, a retry or two tabs at the same
    moment all get the one graded attempt (a conditional UPDATE decides which call grades)."""
    now = now or utcnow()
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None:
        raise LookupError(attempt_id)
    if attempt.submitted_at is None:
        ids = [d.id for d in layout(attempt)]
        given = answers(session=session, attempt_id=attempt_id)
        score, passed = grading.grade(quiz, ids, given)
        won = session.exec(
            update(QuizAttempt)  # type: ignore[call-overload]
            .where(col(QuizAttempt.id) == attempt_id, col(QuizAttempt.submitted_at).is_(None))
            .values(submitted_at=now, score=score, passed=passed)
        ).rowcount
        if won:  # this call graded: keep each question's score for item statistics
            by_id = {q.id: q for q in quiz.questions}
            rows = [
                {
                    "attempt_id": attempt_id,
                    "question_id": qid,
                    "value": json.dumps(given.get(qid)),
                    "saved_at": now,
                    "score": grading.score(by_id[qid], given.get(qid)),
                }
                for qid in ids
            ]
            insert = _insert_for(session)
            stmt = insert(QuizAnswer.__table__)  # type: ignore[attr-defined]
            session.connection().execute(  # one round trip for every question of the attempt
                stmt.on_conflict_do_update(
                    index_elements=["attempt_id", "question_id"],
                    set_={"score": stmt.excluded.score, "value": stmt.excluded.value},
                ),
                rows,
            )
        session.commit()
        if won:
            attempt.submitted_at, attempt.score, attempt.passed = now, score, passed
        else:  # another request graded it first: take its result
            session.refresh(attempt)
    return attempt


def _insert_for(session: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO UPDATE."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _upsert_answer(
    session: Session,
    attempt_id: str,
    question_id: str,
    value: str,
    now: datetime,
    score: float | None = None,
) -> None:
    """Insert or replace one answer row (the latest wins, also under concurrency)."""
    insert = _insert_for(session)
    changes: dict[str, Any] = {"value": value, "saved_at": now}
    if score is not None:
        changes["score"] = score
    session.connection().execute(
        insert(QuizAnswer.__table__)  # type: ignore[attr-defined]
        .values(attempt_id=attempt_id, question_id=question_id, **changes)
        .on_conflict_do_update(index_elements=["attempt_id", "question_id"], set_=changes)
    )


def passed_quiz_ids(
    *, session: Session, user_id: int, course_id: str, quizzes: list[QuizContent]
) -> set[str]:
    """The quizzes whose counting attempt (highest or last) passed."""
    passed = set()
    for quiz in quizzes:
        counting = standing(session=session, user_id=user_id, course_id=course_id, quiz=quiz)
        if counting is not None and counting.passed:
            passed.add(quiz.id)
    return passed


def standing(
    *, session: Session, user_id: int, course_id: str, quiz: QuizContent
) -> QuizAttempt | None:
    """The attempt that counts under the quiz's grading method (highest or last)."""
    done = [
        a
        for a in attempts(session=session, user_id=user_id, course_id=course_id, quiz_id=quiz.id)
        if a.submitted_at is not None
    ]
    if not done:
        return None
    if quiz.grading == "last":
        return done[-1]
    return max(done, key=lambda a: (a.score or 0.0, -a.number))


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
