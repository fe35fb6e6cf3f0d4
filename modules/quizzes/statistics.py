"""Item statistics for trainers: facility, discrimination and option choices, in SQL."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from modules.courses.schemas import Question, QuizContent
from modules.quizzes.models import QuizAnswer, QuizAttempt

GROUP_SHARE = 0.27  # classical upper/lower groups for the discrimination index


@dataclass
class ItemStats:
    question: Question
    drawn: int = 0  # times the question was in a graded attempt
    facility: float | None = None  # mean score, 0-100
    discrimination: float | None = None  # upper-group mean minus lower-group mean, -1..1
    choices: Counter[str] = field(default_factory=Counter)  # option index (or value) -> times


def _graded(course_id: str, quiz_id: str):
    return (
        col(QuizAttempt.course_id) == course_id,
        col(QuizAttempt.quiz_id) == quiz_id,
        col(QuizAttempt.submitted_at).is_not(None),
    )


def item_statistics(
    *, session: Session, course_id: str, quiz: QuizContent
) -> tuple[int, list[ItemStats]]:
    """Graded attempts of a quiz, and per question (in bank order) how it performed."""
    scores = sorted(
        s
        for s in session.exec(select(QuizAttempt.score).where(*_graded(course_id, quiz.id))).all()
        if s is not None
    )
    stats = {q.id: ItemStats(q) for q in quiz.questions}
    joined = (
        select(QuizAnswer.question_id, func.count(), func.avg(QuizAnswer.score))
        .join(QuizAttempt, col(QuizAttempt.id) == QuizAnswer.attempt_id)
        .where(*_graded(course_id, quiz.id))
        .group_by(col(QuizAnswer.question_id))
    )
    for qid, drawn, mean in session.exec(joined).all():
        if qid in stats:
            stats[qid].drawn = int(drawn)
            stats[qid].facility = round(100 * mean, 1) if mean is not None else None
    if len(scores) >= 4:
        size = max(1, round(len(scores) * GROUP_SHARE))
        low_cut, high_cut = scores[size - 1], scores[-size]
        groups = {}
        for name, condition in (
            ("high", col(QuizAttempt.score) >= high_cut),
            ("low", col(QuizAttempt.score) <= low_cut),
        ):
            rows = session.exec(joined.where(condition)).all()
            groups[name] = {qid: mean for qid, _n, mean in rows}
        for qid, item in stats.items():
            high, low = groups["high"].get(qid), groups["low"].get(qid)
            if high is not None and low is not None:
                item.discrimination = round(high - low, 2)
    values = (
        select(QuizAnswer.question_id, QuizAnswer.value, func.count())
        .join(QuizAttempt, col(QuizAttempt.id) == QuizAnswer.attempt_id)
        .where(*_graded(course_id, quiz.id))
        .group_by(col(QuizAnswer.question_id), col(QuizAnswer.value))
    )
    for qid, value, count in session.exec(values).all():
        if qid not in stats:
            continue
        answer = json.loads(value)
        kind = stats[qid].question.type
        if kind == "multiple" and isinstance(answer, list):
            for index in answer:
                stats[qid].choices[str(index)] += int(count)
        elif kind in ("single", "scenario", "truefalse", "likert") and answer is not None:
            stats[qid].choices[str(answer)] += int(count)
    return len(scores), list(stats.values())
