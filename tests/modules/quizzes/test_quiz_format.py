"""Quiz files (`*.quiz.md`): every question type parses; malformed files are reported at
their line by `content check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.modules.courses.test_content_check import check, english_messages, write_course

__all__ = ["english_messages"]  # the autouse fixture: messages in English here

QUIZ = """---
id: satu-kuis
title: Kuis Modul Satu
pass_mark: 70
attempts: 3
grading: highest
time_limit: 20
draw: 7
shuffle_questions: true
shuffle_options: true
review: [correctness, feedback]
minutes: 10
---
## satu-q1 (single; konsep)
Apa arti akuntabel?

- [x] Bertanggung jawab atas hasil kerja => Tepat.
- [ ] Menunda pekerjaan => Bukan itu.

Umpan balik: Akuntabel berarti dapat dimintai pertanggungjawaban.

## satu-q2 (multiple; konsep)
Pilih semua perilaku akuntabel.

- [x] Jujur
- [x] Cermat
- [ ] Menyalahgunakan wewenang

## satu-q3 (truefalse)
Barang milik negara boleh dipakai untuk urusan pribadi.

Jawaban: salah

## satu-q4 (short)
Singkatan dari ASN adalah Aparatur Sipil ...

Jawaban: Negara | negara republik indonesia

## satu-q5 (matching; konsep)
Pasangkan nilai dan artinya.

- Akuntabel = Bertanggung jawab
- Kompeten = Terus belajar
- Harmonis = Saling menghargai

## satu-q6 (ordering)
Urutkan langkah pelayanan.

1. Menyapa warga
2. Memeriksa berkas
3. Memberi tanda terima

## satu-q7 (scenario; kasus)
Atasan meminta Anda menandatangani berita acara yang belum sesuai. Apa yang Anda lakukan?

- [5] Menjelaskan kondisi sebenarnya dan menolak menandatangani sebelum diperbaiki
- [3] Menandatangani dengan catatan
- [1] Menandatangani saja

## satu-q8 (likert)
Saya selalu melaporkan penggunaan anggaran tepat waktu.
"""


def quiz_course(tmp_path: Path, quiz: str) -> Path:
    return write_course(tmp_path, {"demo/01-satu/09-kuis.quiz.md": quiz})


def test_a_quiz_with_every_question_type_is_clean(tmp_path: Path) -> None:
    from modules.courses.content import load_content_dir

    root = quiz_course(tmp_path, QUIZ)
    assert check(root) == []
    courses, _errors = load_content_dir(root, display_root=root)
    module = courses[0].content.modules[0]
    assert [lesson.id for lesson in module.lessons] == ["satu-a", "satu-b"]  # not a lesson
    quiz = module.quizzes[0]
    assert [q.type for q in quiz.questions] == [
        "single",
        "multiple",
        "truefalse",
        "short",
        "matching",
        "ordering",
        "scenario",
        "likert",
    ]
    single = quiz.questions[0]
    assert single.options[0].correct and "Tepat" in single.options[0].feedback_html
    assert "Akuntabel berarti" in single.feedback_html
    assert quiz.questions[3].answers == ["Negara", "negara republik indonesia"]
    assert [o.weight for o in quiz.questions[6].options] == [5, 3, 1]
    assert quiz.questions[4].options[1].match_html.strip() == "<p>Terus belajar</p>"
    assert quiz.questions[0].tags == ["konsep"] and quiz.pass_mark == 70


def test_a_self_assessment_has_no_pass_mark(tmp_path: Path) -> None:
    survey = (
        "---\nid: pra\ntitle: Asesmen Awal\nminutes: 5\n---\n## pra-1 (likert)\nSaya ramah.\n\n"
        "## pra-2 (likert)\nSaya cermat.\n"
    )
    root = quiz_course(tmp_path, survey)
    assert check(root) == []
    bad = survey.replace("title: Asesmen Awal\n", "title: Asesmen Awal\npass_mark: 70\n")
    assert any("has no pass_mark" in p for p in check(quiz_course(tmp_path / "b", bad)))


BROKEN = {
    "no correct option": (
        QUIZ.replace("- [x] Bertanggung", "- [ ] Bertanggung"),
        "09-kuis.quiz.md:14: no option is marked correct",
    ),
    "two correct in single": (
        QUIZ.replace("- [ ] Menunda", "- [x] Menunda"),
        "09-kuis.quiz.md:14: a single-choice question has exactly one",
    ),
    "weight out of range": (
        QUIZ.replace("- [5] Menjelaskan", "- [9] Menjelaskan"),
        "09-kuis.quiz.md:56: weight 9 is out of range 1-5",
    ),
    "draw larger than bank": (
        QUIZ.replace("draw: 7", "draw: 12"),
        "09-kuis.quiz.md:8: draw 12 is larger than the bank of 8",
    ),
    "draw per tag": (
        QUIZ.replace("draw: 7", "draw: {kasus: 3}"),
        "09-kuis.quiz.md:8: draw 3 questions tagged 'kasus', but the bank has 1",
    ),
    "duplicate question id": (
        QUIZ.replace("## satu-q2 (multiple", "## satu-q1 (multiple"),
        "09-kuis.quiz.md:22: duplicate question id 'satu-q1'",
    ),
    "unknown key": (
        QUIZ.replace("attempts: 3", "attempts: 3\nulang: 2"),
        "09-kuis.quiz.md:6: unknown key 'ulang'",
    ),
    "unknown type": (
        QUIZ.replace("(truefalse)", "(essay)"),
        "09-kuis.quiz.md:29: unknown question type 'essay'",
    ),
    "bad heading": (
        QUIZ.replace("## satu-q3 (truefalse)", "## Soal tiga"),
        "09-kuis.quiz.md:29: question heading must be",
    ),
    "truefalse without answer": (
        QUIZ.replace("Jawaban: salah", "Jawaban: mungkin"),
        "09-kuis.quiz.md:32: a true/false question needs",
    ),
    "short without answer": (
        QUIZ.replace("Jawaban: Negara | negara republik indonesia", ""),
        "09-kuis.quiz.md:34: a short-answer question needs",
    ),
    "matching pair": (
        QUIZ.replace("- Kompeten = Terus belajar", "- Kompeten: Terus belajar"),
        "09-kuis.quiz.md:43: a matching pair is written",
    ),
    "ordering as bullets": (
        QUIZ.replace("1. Menyapa warga", "- Menyapa warga"),
        "09-kuis.quiz.md:49: list the items of an ordering question",
    ),
    "option without mark": (
        QUIZ.replace("- [ ] Menunda", "- Menunda"),
        "09-kuis.quiz.md:18: each option of a single question starts with",
    ),
    "missing pass mark": (
        QUIZ.replace("pass_mark: 70\n", ""),
        "09-kuis.quiz.md:1: a graded quiz needs 'pass_mark'",
    ),
    "bad grading": (
        QUIZ.replace("grading: highest", "grading: average"),
        "09-kuis.quiz.md:6: 'grading': must be one of",
    ),
    "text before questions": (
        QUIZ.replace("---\n## satu-q1", "---\nPengantar kuis.\n## satu-q1"),
        "09-kuis.quiz.md:14: text before the first question",
    ),
    "likert with options": (
        QUIZ.replace("tepat waktu.\n", "tepat waktu.\n\n- [x] Ya\n"),
        "09-kuis.quiz.md:63: this question type has no options",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN), ids=sorted(BROKEN))
def test_malformed_quizzes_are_reported_with_path_and_line(tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    problems = check(quiz_course(tmp_path, text))
    assert any(expected in p for p in problems), f"{expected!r} not in {problems}"


def test_question_ids_are_unique_across_the_course(tmp_path: Path) -> None:
    root = write_course(
        tmp_path,
        {
            "demo/01-satu/09-kuis.quiz.md": QUIZ,
            "demo/01-satu/10-ulang.quiz.md": QUIZ.replace("id: satu-kuis", "id: satu-ulang"),
        },
    )
    problems = check(root)
    assert any("10-ulang.quiz.md:14: duplicate question id 'satu-q1'" in p for p in problems)


def test_documented_quiz_example_passes_the_check(tmp_path: Path) -> None:
    import re

    from app.settings import ROOT

    doc = (ROOT / "docs" / "content-format.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Quizzes and self-assessments") :]
    example = re.search(r"```markdown\n(---\nid: akuntabel-kuis.*?)```", section, re.S)
    assert example
    text = example.group(1).replace("draw: {kasus: 5, konsep: 3}", "draw: {kasus: 1, konsep: 1}")
    assert check(quiz_course(tmp_path, text)) == []
