"""Quiz kinds, minutes, the action plan and the JP check in `content check` (each misuse
reported at its file and line, in the trainer's language), and the item-writing figures of the
shipped course's graded banks, which must meet the documented thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import ROOT
from modules.courses import item_check
from modules.courses.content import jp_for_minutes, load_content_dir
from modules.courses.schemas import QuizContent
from tests.modules.courses.test_content_check import check, english_messages, write_course

__all__ = ["english_messages"]

GRADED = """---
id: {id}
title: Tes
kind: {kind}
minutes: 10
{extra}---
## {id}-1 (single; konsep)
Apa arti akuntabel?

- [x] Bertanggung jawab
- [ ] Cepat
"""
FORM = """---
id: {id}
title: Formulir
kind: {kind}
minutes: 5
---
## {id}-1 (likert; akuntabel)
Saya mengerjakan tugas tepat waktu.
"""
PLAN = """---
id: rencana
title: Rencana Aksi
minutes: 20
{extra}---
Pilih satu nilai dan tuliskan perilakunya.
"""
MODULE_TWO = "---\nid: dua\ntitle: Modul Dua\n---\n"
LESSON_TWO = "---\nid: dua-a\ntitle: Dua A\nminutes: 5\n---\nIsi.\n"
COURSE_TAGS = "completion: modules\ntags:\n  akuntabel: Akuntabel\n"


def _course(tmp_path: Path, files: dict[str, str], completion: str = "modules") -> Path:
    base = {
        "demo/02-dua/module.md": MODULE_TWO,
        "demo/02-dua/01-a.md": LESSON_TWO,
    }
    root = write_course(tmp_path, {**base, **files})
    course = root / "demo/course.md"
    text = course.read_text().replace("completion: all_lessons\n", "")
    extra = COURSE_TAGS if completion == "modules" else "completion: all_lessons\n"
    course.write_text(text.replace("language: id\n", f"language: id\n{extra}"))
    return root


CASES = {
    "quiz without minutes": (
        {"demo/01-satu/05-k.quiz.md": GRADED.format(id="k", kind="quiz", extra="pass_mark: 70\n")
         .replace("minutes: 10\n", "")},
        "01-satu/05-k.quiz.md:1: declare 'minutes:'",
    ),
    "pre-test with a pass mark": (
        {"demo/01-satu/00-pre.quiz.md": GRADED.format(id="pre", kind="pre_test", extra="pass_mark: 70\n")},
        "01-satu/00-pre.quiz.md:6: a pre_test has no pass_mark",
    ),
    "pre-test with unlimited attempts": (
        {"demo/01-satu/00-pre.quiz.md": GRADED.format(id="pre", kind="pre_test", extra="attempts: 0\n")},
        "01-satu/00-pre.quiz.md:6: a pre_test is taken once",
    ),
    "pre-test in a later module": (
        {"demo/02-dua/00-pre.quiz.md": GRADED.format(id="pre", kind="pre_test", extra="")},
        "02-dua/00-pre.quiz.md:4: the pre_test belongs in the course's first module",
    ),
    "post-test without a pass mark": (
        {"demo/02-dua/05-post.quiz.md": GRADED.format(id="post", kind="post_test", extra="")},
        "02-dua/05-post.quiz.md:4: a post_test needs a pass_mark",
    ),
    "post-test in the first module": (
        {"demo/01-satu/05-post.quiz.md": GRADED.format(id="post", kind="post_test", extra="pass_mark: 70\n")},
        "01-satu/05-post.quiz.md:4: the post_test belongs in the course's last module",
    ),
    "survey with a graded question": (
        {"demo/02-dua/05-s.quiz.md": GRADED.format(id="s", kind="survey", extra="")},
        "02-dua/05-s.quiz.md:4: a survey holds Likert statements only",
    ),
    "survey in the first module": (
        {"demo/01-satu/05-s.quiz.md": FORM.format(id="s", kind="survey")},
        "01-satu/05-s.quiz.md:4: the survey belongs in the course's last module",
    ),
    "two surveys": (
        {"demo/02-dua/05-s.quiz.md": FORM.format(id="s", kind="survey"),
         "demo/02-dua/06-t.quiz.md": FORM.format(id="t", kind="survey")},
        "02-dua/06-t.quiz.md:4: one survey per course",
    ),
    "follow-up without a plan": (
        {"demo/02-dua/05-f.quiz.md": FORM.format(id="f", kind="follow_up")},
        "02-dua/05-f.quiz.md:4: a follow_up opens some time after the action plan",
    ),
    "plan in the first module": (
        {"demo/01-satu/09-r.plan.md": PLAN.format(extra="values: [akuntabel]\n")},
        "01-satu/09-r.plan.md:2: the action plan belongs in the course's last module",
    ),
    "plan with an unknown value": (
        {"demo/02-dua/09-r.plan.md": PLAN.format(extra="values: [akuntabel, jujur]\n")},
        "02-dua/09-r.plan.md:5: value 'jujur' needs a name in course.md's tags",
    ),
    "plan with a value twice": (
        {"demo/02-dua/09-r.plan.md": PLAN.format(extra="values: [akuntabel, akuntabel]\nmin_values: 2\n")},
        "02-dua/09-r.plan.md:5: value 'akuntabel' is listed twice",
    ),
    "plan without values and no self-assessment": (
        {"demo/02-dua/09-r.plan.md": PLAN.format(extra="")},
        "02-dua/09-r.plan.md:2: list the values a plan chooses from in 'values:'",
    ),
    "plan asking more values than it lists": (
        {"demo/02-dua/09-r.plan.md": PLAN.format(extra="values: [akuntabel]\nmin_values: 2\n")},
        "02-dua/09-r.plan.md:5: min_values is more than the values listed",
    ),
    "plan with empty instructions": (
        {"demo/02-dua/09-r.plan.md": PLAN.format(extra="values: [akuntabel]\n").replace(
            "Pilih satu nilai dan tuliskan perilakunya.\n", "")},
        "02-dua/09-r.plan.md:7: write the plan's instructions",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_each_misuse_is_reported_with_its_line(tmp_path: Path, name: str) -> None:
    files, expected = CASES[name]
    problems = check(_course(tmp_path, files))
    assert any(expected in p for p in problems), f"{expected!r} not in {problems}"


def test_a_plan_needs_the_modules_rule(tmp_path: Path) -> None:
    files = {"demo/02-dua/09-r.plan.md": PLAN.format(extra="values: [akuntabel]\n")}
    problems = check(_course(tmp_path, files, completion="all_lessons"))
    assert any("set 'completion: modules'" in p for p in problems), problems


def test_a_sound_course_with_every_kind_passes(tmp_path: Path) -> None:
    files = {
        "demo/01-satu/00-pre.quiz.md": GRADED.format(id="pre", kind="pre_test", extra=""),
        "demo/01-satu/06-awal.quiz.md": FORM.format(id="awal", kind="self_assessment"),
        "demo/02-dua/05-post.quiz.md": GRADED.format(
            id="post", kind="post_test", extra="pass_mark: 70\n"
        ),
        "demo/02-dua/06-s.quiz.md": FORM.format(id="s", kind="survey"),
        "demo/02-dua/07-f.quiz.md": FORM.format(id="f", kind="follow_up"),
        "demo/02-dua/09-r.plan.md": PLAN.format(extra=""),  # values: the self-assessment's
    }
    # 90 + 5 + 5 minutes of lessons, 10 + 5 + 10 + 5 of tests and forms, 20 of the plan
    # (not the follow-up): 150 minutes = 3.33 JP, so 3
    root = _course(tmp_path, files)
    course = root / "demo/course.md"
    course.write_text(course.read_text().replace("jp: 2", "jp: 3"))
    assert check(root) == []


def test_jp_is_the_activities_minutes_rounded_and_the_error_names_the_total(
    tmp_path: Path,
) -> None:
    assert [jp_for_minutes(m) for m in (22, 23, 45, 67, 68, 503)] == [0, 1, 1, 1, 2, 11]
    root = _course(tmp_path, {})
    course = root / "demo/course.md"
    course.write_text(course.read_text().replace("jp: 2", "jp: 5"))
    problems = check(root)
    assert any(
        "demo/course.md:6: jp is 5, but the activities take 100 minutes, which is 2 JP" in p
        for p in problems
    ), problems


def test_a_version_stored_before_kinds_reads_its_kind_from_its_questions() -> None:
    stored = {
        "id": "awal", "title": "Awal", "description": "", "pass_mark": None, "attempts": 0,
        "grading": "highest", "time_limit": None, "draw": None, "shuffle_questions": False,
        "shuffle_options": False, "review": [], "scale": ["a", "b"], "max_weight": 5,
        "source": "x.quiz.md",
        "questions": [{"id": "a1", "type": "likert", "stem_html": "<p>Saya</p>"}],
    }  # fmt: skip
    assert QuizContent.model_validate(stored).kind == "self_assessment"
    graded = {**stored, "questions": [{"id": "g", "type": "truefalse", "stem_html": "?"}]}
    assert QuizContent.model_validate(graded).kind == "quiz"


def test_the_shipped_graded_banks_meet_the_item_writing_thresholds() -> None:
    """Longest-key share at most 35 % (items with four or more options), each key position
    15-35 % (banks whose options are not shuffled), "always pick the longest" at most the
    random score + 0.05: computed on every graded bank of the revised course."""
    courses, _errors = load_content_dir(ROOT / "content")
    course = next(c.content for c in courses if c.course_id == "berakhlak")
    banks = [
        q for m in course.modules for q in m.quizzes if q.kind in ("quiz", "pre_test", "post_test")
    ]
    assert {q.kind for q in banks} == {"quiz", "pre_test", "post_test"} and len(banks) == 10
    for quiz in banks:
        items = [i for i in map(item_check._item, quiz.questions) if i is not None]
        figures = item_check.bank_figures(items)
        assert figures["longest_key_share"] <= 0.35, (quiz.id, figures)
        assert figures["always_longest"] <= figures["random"] + 0.05, (quiz.id, figures)
        wide = [i for i in items if len(i.options) >= 4]
        if not quiz.shuffle_options:
            for position in range(4):
                share = sum(i.key == position for i in wide) / len(wide)
                assert 0.15 <= share <= 0.35, (quiz.id, position, share)
