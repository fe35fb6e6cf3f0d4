"""Grading on the server: every question type scores an answer between 0 and 1.

Answers arrive as plain JSON-like values referring to options by their index in the source
(the index is stable within a content version, and attempts record their version):
single, truefalse and scenario take one index (truefalse: "true" or "false"); multiple a list
of indexes; short a text; matching a list giving, for each left item, the index of the right
item chosen; ordering the indexes in the learner's order; likert a scale position (not graded).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from modules.courses.schemas import Question, QuizContent


def normalise_text(text: str) -> str:
    """Case, width and spacing insensitive form of a short answer."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())


def _index(value: Any, size: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        index = int(value)
    except ValueError:
        return None
    return index if 0 <= index < size else None


def score(question: Question, answer: Any) -> float | None:
    """The share of the question's credit an answer earns (None: not graded, e.g. likert).
    An answer of the wrong shape scores 0, never an error."""
    if not question.graded:
        return None
    if answer is None:
        return 0.0
    grader = _GRADERS[question.type]
    return max(0.0, min(1.0, grader(question, answer)))


def _single(question: Question, answer: Any) -> float:
    index = _index(answer, len(question.options))
    return 1.0 if index is not None and question.options[index].correct else 0.0


def _multiple(question: Question, answer: Any) -> float:
    """+1/k for each of the k correct options chosen, -1/(n-k) for each wrong one, floor 0."""
    if not isinstance(answer, list | tuple | set):
        return 0.0
    chosen = {i for i in (_index(v, len(question.options)) for v in answer) if i is not None}
    correct = {i for i, o in enumerate(question.options) if o.correct}
    wrong = len(question.options) - len(correct)
    gained = len(chosen & correct) / len(correct) if correct else 0.0
    lost = len(chosen - correct) / wrong if wrong else 0.0
    return gained - lost


def _truefalse(question: Question, answer: Any) -> float:
    return 1.0 if str(answer).lower() == question.answers[0] else 0.0


def _short(question: Question, answer: Any) -> float:
    if not isinstance(answer, str):
        return 0.0
    accepted = {normalise_text(a) for a in question.answers}
    return 1.0 if normalise_text(answer) in accepted else 0.0


def _matching(question: Question, answer: Any) -> float:
    """The share of left items matched to their own right item."""
    if not isinstance(answer, list | tuple):
        return 0.0
    size = len(question.options)
    hits = sum(1 for left, right in enumerate(answer[:size]) if _index(right, size) == left)
    return hits / size


def _ordering(question: Question, answer: Any) -> float:
    """The share of items in their right position; a list that is not a permutation scores 0."""
    if not isinstance(answer, list | tuple):
        return 0.0
    size = len(question.options)
    order = [_index(v, size) for v in answer]
    if len(order) != size or sorted(i for i in order if i is not None) != list(range(size)):
        return 0.0
    return sum(1 for position, item in enumerate(order) if position == item) / size


def _scenario(question: Question, answer: Any) -> float:
    """The chosen option's weight against the best weight on offer (e.g. 3 of 5 -> 0.6)."""
    index = _index(answer, len(question.options))
    if index is None:
        return 0.0
    best = max(o.weight or 0 for o in question.options)
    return (question.options[index].weight or 0) / best if best else 0.0


_GRADERS = {
    "single": _single,
    "multiple": _multiple,
    "truefalse": _truefalse,
    "short": _short,
    "matching": _matching,
    "ordering": _ordering,
    "scenario": _scenario,
}


def best_answer(question: Question) -> Any:
    """The answer that earns full credit (likert: the first scale point), for reviews and tests."""
    kind = question.type
    if kind == "single":
        return next(i for i, o in enumerate(question.options) if o.correct)
    if kind == "multiple":
        return [i for i, o in enumerate(question.options) if o.correct]
    if kind == "scenario":
        return max(range(len(question.options)), key=lambda i: question.options[i].weight or 0)
    if kind == "truefalse":
        return question.answers[0]
    if kind == "short":
        return question.answers[0]
    if kind in ("matching", "ordering"):
        return list(range(len(question.options)))
    return 1


def grade(
    quiz: QuizContent, question_ids: list[str], answers: Mapping[str, Any]
) -> tuple[float | None, bool | None]:
    """Percentage score over the graded questions drawn, and whether it passes (None without a
    pass mark: a pre-test is scored, never passed or failed)."""
    by_id = {q.id: q for q in quiz.questions}
    scores = [
        s
        for s in (score(by_id[qid], answers.get(qid)) for qid in question_ids if qid in by_id)
        if s is not None
    ]
    if not scores:
        return None, None
    percent = round(100 * sum(scores) / len(scores), 2)
    return percent, None if quiz.pass_mark is None else percent >= quiz.pass_mark
