"""Server-side grading of every question type, with properties checked by hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modules.courses.schemas import Option, Question, QuizContent
from modules.quizzes.grading import grade, normalise_text, score


def q(
    qtype: str, options: list[Option] | None = None, answers: list[str] | None = None
) -> Question:
    return Question(
        id=f"q-{qtype}",
        type=qtype,
        stem_html="<p>?</p>",
        options=options or [],
        answers=answers or [],
    )


def opts(*correct: bool) -> list[Option]:
    return [Option(html=f"<p>{i}</p>", correct=c) for i, c in enumerate(correct)]


def test_single() -> None:
    question = q("single", opts(False, True, False))
    assert score(question, 1) == 1.0
    assert score(question, "1") == 1.0
    assert score(question, 0) == 0.0
    for junk in (None, 7, -1, "x", [1], True, 1.5):
        assert score(question, junk) == 0.0


def test_multiple_gives_partial_credit_and_never_below_zero() -> None:
    question = q("multiple", opts(True, True, False, False))
    assert score(question, [0, 1]) == 1.0
    assert score(question, [0]) == 0.5
    assert score(question, [0, 2]) == 0.0  # +1/2 -1/2
    assert score(question, [2, 3]) == 0.0
    assert score(question, [0, 1, 2]) == 0.5
    assert score(question, "0,1") == 0.0


@given(
    st.lists(st.booleans(), min_size=2, max_size=8).filter(lambda c: any(c) and not all(c)),
    st.sets(st.integers(min_value=0, max_value=7)),
)
def test_multiple_score_bounds(correct: list[bool], chosen: set[int]) -> None:
    question = q("multiple", opts(*correct))
    value = score(question, sorted(chosen))
    assert 0.0 <= value <= 1.0
    right = {i for i, c in enumerate(correct) if c}
    assert (value == 1.0) == (chosen & set(range(len(correct))) == right)


def test_truefalse() -> None:
    question = q("truefalse", answers=["false"])
    assert score(question, "false") == 1.0 and score(question, "FALSE") == 1.0
    assert score(question, "true") == 0.0 and score(question, None) == 0.0


def test_short_answer_ignores_case_width_and_spaces() -> None:
    question = q("short", answers=["Bangga Melayani Bangsa", "BMB"])
    assert score(question, "  bangga   melayani\tbangsa ") == 1.0
    assert score(question, "ＢＭＢ") == 1.0  # full-width letters from some phone keyboards
    assert score(question, "bangga melayani") == 0.0
    assert score(question, ["bmb"]) == 0.0


@given(st.text(min_size=1, max_size=30))
def test_short_answer_accepts_any_spacing_and_case_of_itself(text: str) -> None:
    question = q("short", answers=[text])
    variant = "  " + " ".join(normalise_text(text).upper().split()) + " "
    if normalise_text(variant) == normalise_text(text):
        assert score(question, variant) == 1.0


def test_matching_counts_pairs() -> None:
    question = q("matching", [Option(html=f"{i}", match_html=f"m{i}") for i in range(4)])
    assert score(question, [0, 1, 2, 3]) == 1.0
    assert score(question, [1, 0, 2, 3]) == 0.5
    assert score(question, [3, 2, 1, 0]) == 0.0
    assert score(question, {"0": 0}) == 0.0


@given(st.permutations(list(range(5))))
def test_ordering_is_full_marks_only_in_order(order: list[int]) -> None:
    question = q("ordering", [Option(html=f"{i}") for i in range(5)])
    value = score(question, order)
    assert 0.0 <= value <= 1.0
    assert (value == 1.0) == (order == list(range(5)))
    assert value == sum(1 for p, i in enumerate(order) if p == i) / 5


def test_ordering_rejects_non_permutations() -> None:
    question = q("ordering", [Option(html=f"{i}") for i in range(3)])
    assert score(question, [0, 0, 1]) == 0.0
    assert score(question, [0, 1]) == 0.0


def test_scenario_scores_by_weight() -> None:
    question = q("scenario", [Option(html=f"{w}", weight=w) for w in (5, 3, 1)])
    assert score(question, 0) == 1.0
    assert score(question, 1) == pytest.approx(0.6)
    assert score(question, 2) == pytest.approx(0.2)
    assert score(question, 5) == 0.0


def test_likert_is_recorded_not_graded() -> None:
    assert score(q("likert"), 4) is None


def quiz(questions: list[Question], pass_mark: int | None = 70) -> QuizContent:
    return QuizContent(
        id="k",
        title="K",
        description="",
        pass_mark=pass_mark,
        attempts=0,
        grading="highest",
        time_limit=None,
        draw=None,
        shuffle_questions=False,
        shuffle_options=False,
        review=[],
        scale=["a", "b"],
        max_weight=5,
        questions=questions,
        source="k.quiz.md",
    )


def test_quiz_grade_averages_graded_questions_drawn() -> None:
    single = q("single", opts(True, False))
    short = q("short", answers=["ya"])
    likert = q("likert")
    k = quiz([single, short, likert])
    ids = [single.id, short.id, likert.id]
    assert grade(k, ids, {single.id: 0, short.id: "ya", likert.id: 5}) == (100.0, True)
    assert grade(k, ids, {single.id: 0}) == (50.0, False)
    assert grade(k, [single.id], {single.id: 0}) == (100.0, True)  # only what was drawn
    assert grade(quiz([likert], pass_mark=None), [likert.id], {likert.id: 3}) == (None, None)
