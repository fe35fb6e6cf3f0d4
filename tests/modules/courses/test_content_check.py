"""`berakhlak content check`: every problem reported as path:line: message; exit 1 on any."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import ROOT
from modules.courses.content import load_content_dir

COURSE = """---
id: demo
title: Kursus Contoh
description: Kursus kecil untuk menguji pemeriksa konten.
version: 1.0.0
jp: 2
language: id
completion: all_lessons
---
Pengantar kursus.
"""
MODULE = """---
id: satu
title: Modul Satu
summary: Ringkasan modul.
---
"""
LESSON = """---
id: satu-a
title: Pelajaran A
minutes: 90
---
Isi pelajaran dengan [tautan](02-b.md) dan ![gambar](img/logo.png).

| a | b |
|---|---|
| 1 | 2 |
"""
LESSON_B = """---
id: satu-b
title: Pelajaran B
---
Isi kedua.[^1]

[^1]: Sumber.
"""
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def english_messages():
    """These tests read the English messages; Indonesian is checked on its own below."""
    from app import i18n

    i18n.load_catalogues()
    i18n.set_locale("en")
    yield
    i18n.set_locale("id")


def write_course(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """A valid demo course, with `files` replacing (or with None, removing) some of it."""
    base: dict[str, str | bytes | None] = {
        "demo/course.md": COURSE,
        "demo/01-satu/module.md": MODULE,
        "demo/01-satu/01-a.md": LESSON,
        "demo/01-satu/02-b.md": LESSON_B,
        "demo/01-satu/img/logo.png": PNG,
    }
    base.update(files)
    for rel, content in base.items():
        if content is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def check(root: Path) -> list[str]:
    courses, errors = load_content_dir(root, display_root=root)
    for course in courses:
        errors.extend(course.errors)
    return sorted(str(e) for e in errors)


def test_valid_course_has_no_errors(tmp_path: Path) -> None:
    assert check(write_course(tmp_path, {})) == []


def test_shipped_course_is_clean_and_big_enough() -> None:
    courses, errors = load_content_dir(ROOT / "content")
    assert errors == [] and all(c.errors == [] for c in courses)
    berakhlak = next(c.content for c in courses if c.course_id == "berakhlak")
    assert berakhlak is not None
    assert 25 <= len(berakhlak.lessons()) <= 40
    assert [m.id for m in berakhlak.modules][1:] == [
        "berorientasi-pelayanan",
        "akuntabel",
        "kompeten",
        "harmonis",
        "loyal",
        "adaptif",
        "kolaboratif",
        "penerapan",
        "penutup",
    ]


BROKEN = {
    "bad yaml": (
        {"demo/01-satu/01-a.md": "---\nid: satu-a\ntitle: [unclosed\n---\nIsi.\n"},
        ["01-satu/01-a.md:3: invalid YAML in front matter"],
    ),
    "missing id": (
        {"demo/01-satu/02-b.md": "---\ntitle: Tanpa id\n---\nIsi.\n"},
        ["01-satu/02-b.md:1: missing required key 'id'"],
    ),
    "unknown key": (
        {"demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Bab\nauthor: X\n---\nIsi.\n"},
        ["01-satu/02-b.md:4: unknown key 'author'"],
    ),
    "duplicate lesson id": (
        {"demo/01-satu/02-b.md": LESSON_B.replace("satu-b", "satu-a")},
        ["01-satu/02-b.md:2: duplicate lesson id 'satu-a' (first used at demo/01-satu/01-a.md:2)"],
    ),
    "duplicate module id": (
        {
            "demo/02-dua/module.md": MODULE,
            "demo/02-dua/01-c.md": LESSON_B.replace("satu-b", "dua-c"),
        },
        ["02-dua/module.md:2: duplicate module id 'satu'"],
    ),
    "duplicate yaml key": (
        {"demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Bab\ntitle: C\n---\nIsi.\n"},
        ["01-satu/02-b.md:4: duplicate key 'title' (first on line 3)"],
    ),
    "broken link": (
        {"demo/01-satu/01-a.md": LESSON.replace("02-b.md", "03-hilang.md")},
        ["01-satu/01-a.md:6: broken link: '03-hilang.md' does not exist"],
    ),
    "broken image": (
        {"demo/01-satu/img/logo.png": None},
        ["01-satu/01-a.md:6: broken image: 'img/logo.png' does not exist"],
    ),
    "empty lesson": (
        {"demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Bab\n---\n\n  \n"},
        ["01-satu/02-b.md:5: lesson is empty"],
    ),
    "unknown callout": (
        {"demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Bab\n---\nIsi.\n\n::: danger\nX\n:::\n"},
        ["01-satu/02-b.md:7: unknown callout kind 'danger'"],
    ),
    "unclosed callout": (
        {"demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Bab\n---\n::: tip\nX\n"},
        ["01-satu/02-b.md:5: callout is never closed"],
    ),
    "bad id shape": (
        {"demo/01-satu/02-b.md": LESSON_B.replace("satu-b", "Satu B")},
        ["01-satu/02-b.md:2: 'id': must be lowercase"],
    ),
    "bad jp": ({"demo/course.md": COURSE.replace("jp: 2", "jp: nol")}, ["course.md:6: 'jp':"]),
    "missing front matter": (
        {"demo/01-satu/02-b.md": "Hanya isi.\n"},
        ["01-satu/02-b.md:1: missing front matter"],
    ),
    "unclosed front matter": (
        {"demo/01-satu/02-b.md": "---\nid: satu-b\n"},
        ["01-satu/02-b.md:1: front matter is not closed"],
    ),
    "missing course file": ({"demo/course.md": None}, ["demo/course.md:1: missing course.md"]),
    "missing module file": (
        {"demo/01-satu/module.md": None},
        ["01-satu/module.md:1: missing module.md"],
    ),
    "link outside course": (
        {"demo/01-satu/01-a.md": LESSON.replace("02-b.md", "../../x.md")},
        ["01-satu/01-a.md:6: link '../../x.md' points outside the course folder"],
    ),
    "external image": (
        {"demo/01-satu/01-a.md": LESSON.replace("img/logo.png", "https://x.test/a.png")},
        ["01-satu/01-a.md:6: image 'https://x.test/a.png' must be a file"],
    ),
    "not utf-8": (
        {"demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Bé\n---\nIsi.\n".encode("latin-1")},
        ["01-satu/02-b.md:1: file is not valid UTF-8"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN), ids=sorted(BROKEN))
def test_broken_content_is_reported_with_path_and_line(tmp_path: Path, case: str) -> None:
    files, expected = BROKEN[case]
    problems = check(write_course(tmp_path, files))
    for fragment in expected:
        assert any(fragment in p for p in problems), f"{fragment!r} not in {problems}"


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    files = {
        **BROKEN["unknown key"][0],
        "demo/01-satu/01-a.md": LESSON.replace("02-b.md", "x.md"),
        "demo/course.md": COURSE.replace("jp: 2", "jp: -1"),
    }
    problems = check(write_course(tmp_path, files))
    assert len(problems) == 3, problems


def test_cli_exit_status(tmp_path: Path) -> None:
    runner = CliRunner()
    good = write_course(tmp_path / "good", {})
    result = runner.invoke(cli, ["--lang", "en", "content", "check", str(good)])
    assert result.exit_code == 0, result.output
    bad = write_course(tmp_path / "bad", BROKEN["unknown key"][0])
    result = runner.invoke(cli, ["--lang", "en", "content", "check", str(bad)])
    assert result.exit_code == 1
    assert "02-b.md:4: unknown key 'author'" in result.stdout
    indonesian = runner.invoke(cli, ["content", "check", str(bad)])  # the default
    assert indonesian.exit_code == 1
    assert "02-b.md:4: kunci 'author' tidak dikenal" in indonesian.stdout


def test_duplicate_course_ids_across_folders(tmp_path: Path) -> None:
    write_course(tmp_path, {})
    write_course(tmp_path / "copy", {})
    shutil_root = tmp_path
    (shutil_root / "copy" / "demo").rename(shutil_root / "demo2")
    problems = check(tmp_path)
    assert any("duplicate course id 'demo'" in p for p in problems), problems


def test_documented_example_course_passes_the_check(tmp_path: Path) -> None:
    import re

    doc = (ROOT / "docs" / "content-format.md").read_text(encoding="utf-8")
    files = re.findall(r"`content/(contoh/[^`]+)`:\n\n```markdown\n(.*?)```", doc, re.S)
    assert len(files) == 3
    for rel, text in files:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "contoh/gambar").mkdir()
    (tmp_path / "contoh/gambar/alur.png").write_bytes(PNG)
    (tmp_path / "contoh/01-dasar/02-penerapan.md").write_text(
        "---\nid: dasar-penerapan\ntitle: Penerapan\n---\nIsi.\n", encoding="utf-8"
    )
    assert check(tmp_path) == []


def test_errors_under_broken_front_matter_are_still_reported(tmp_path: Path) -> None:
    files = {
        "demo/01-satu/module.md": MODULE.replace("summary:", "ringkasan:"),
        "demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Dua\nauthor: X\n---\n[x](hilang.md)\n",
    }
    problems = check(write_course(tmp_path, files))
    assert any("module.md:4: unknown key 'ringkasan'" in p for p in problems), problems
    assert any("02-b.md:4: unknown key 'author'" in p for p in problems), problems
    assert any("02-b.md:6: broken link: 'hilang.md'" in p for p in problems), problems
    assert not any("no module folders" in p for p in problems), problems


def test_link_lines_inside_multi_line_paragraphs(tmp_path: Path) -> None:
    body = "---\nid: satu-b\ntitle: Dua\n---\nBaris satu\nbaris dua\nbaris [tiga](x.md)\n"
    problems = check(write_course(tmp_path, {"demo/01-satu/02-b.md": body}))
    assert any("02-b.md:7: broken link: 'x.md'" in p for p in problems), problems


def test_broken_yaml_hides_none_of_the_courses_other_problems(tmp_path: Path) -> None:
    """A module, a lesson and a quiz whose front matter YAML is broken: that is reported, and
    so is every problem of their bodies and of the other files."""
    quiz = (
        "---\nid: kuis\ntitle: [Kuis\n---\n"
        "## Pertanyaan tanpa jawaban {#q1}\n\n- [ ] satu\n- [ ] dua\n"
    )
    files = {
        "demo/01-satu/module.md": "---\nid: satu\ntitle: Modul: Satu: Dua\n---\n[x](tidak-ada.md)\n",
        "demo/01-satu/01-a.md": "---\nid: satu-a\n\ttitle: A\n---\n![g](img/hilang.png)\n",
        "demo/01-satu/02-b.md": LESSON_B + "\n[lagi](juga-hilang.md)\n",
        "demo/01-satu/03-kuis.quiz.md": quiz,
    }
    problems = check(write_course(tmp_path, files))
    text = "\n".join(problems)
    assert "module.md:3: invalid YAML in front matter: a ':' where a value should be" in text
    assert "01-a.md:3: invalid YAML in front matter: a tab" in text
    assert "03-kuis.quiz.md" in text and "a list in [ ] is not closed" in text
    # the bodies of the broken files, and the other files, are still checked
    assert "module.md:5: broken link: 'tidak-ada.md'" in text, text
    assert "01-a.md:5: broken image: 'img/hilang.png'" in text, text
    assert "broken link: 'juga-hilang.md'" in text, text
    assert any("03-kuis.quiz.md" in p and "invalid YAML" not in p for p in problems), text


def test_check_takes_one_course_folder_or_a_module_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    root = write_course(tmp_path, {})
    for folder in (root / "demo", root / "demo" / "01-satu"):
        result = runner.invoke(cli, ["--lang", "en", "content", "check", str(folder)])
        assert result.exit_code == 0, result.output
        assert "missing course.md" not in result.output and "ok: demo" in result.output
    shipped = runner.invoke(cli, ["content", "check", str(ROOT / "content" / "berakhlak")])
    assert shipped.exit_code == 0, shipped.output


def test_yaml_problems_come_in_the_chosen_language(tmp_path: Path) -> None:
    bad = write_course(tmp_path, {"demo/01-satu/module.md": "---\nid: satu\ntitle: A: B\n---\n"})
    result = CliRunner().invoke(cli, ["content", "check", str(bad / "demo")])  # Indonesian
    assert result.exit_code == 1
    assert "YAML tidak valid" in result.output and "mapping values" not in result.output
