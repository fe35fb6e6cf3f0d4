"""The item-writing check: each flawed-item pattern is warned about with path:line, sound
items are not, the bank-level figures are computed as documented, and `--items fail` makes
the warnings fail the check."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from modules.courses import item_check
from modules.courses.content import load_course
from tests.modules.courses.test_content_check import english_messages, write_course  # noqa: F401

FRONT = "---\nid: kuis\ntitle: Kuis\n{extra}minutes: 5\n---\n"


def _quiz(body: str, extra: str = "") -> str:
    """A quiz file (graded unless it holds only Likert statements: no pass mark then)."""
    graded = "(single" in body or "(scenario" in body
    return FRONT.format(extra=("pass_mark: 70\n" if graded else "") + extra) + body


def _single(qid: str, stem: str, options: list[str], key: int) -> str:
    marks = "\n".join(f"- [{'x' if n == key else ' '}] {o}" for n, o in enumerate(options))
    return f"## {qid} (single; konsep)\n{stem}\n\n{marks}\n\n"


def _scenario(qid: str, stem: str, options: list[tuple[int, str]]) -> str:
    lines = "\n".join(f"- [{w}] {o}" for w, o in options)
    return f"## {qid} (scenario; kasus)\n{stem}\n\n{lines}\n\n"


def _warnings(tmp_path: Path, quiz: str, name: str = "03-kuis.quiz.md") -> list[str]:
    root = write_course(tmp_path, {f"demo/01-satu/{name}": quiz})
    loaded = load_course(root / "demo", display_root=root)
    assert loaded.content is not None, loaded.errors
    return [str(w) for w in item_check.check_course(loaded.content, "demo")]


SOUND = [
    ("Apa arti akuntabel?", ["Bertanggung jawab atas amanah", "Cepat", "Ramah sekali", "Tepat"]),
]


@pytest.mark.parametrize(
    ("body", "expected", "line"),
    [
        (
            _single(
                "q1",
                "Apa arti akuntabel?",
                [
                    "Menjalankan amanah dengan jujur, cermat, "
                    "bertanggung jawab, dan terbuka kepada publik setiap waktu",
                    "Cepat",
                    "Hemat",
                    "Ramah",
                ],
                0,
            ),  # fmt: skip
            "the key is much longer than every other option",
            7,
        ),
        (
            _single(
                "q1", "Mana yang benar?", ["Jujur", "Ramah", "Cepat", "Semua jawaban benar"], 3
            ),
            "an 'all/none of the above' option",
            7,
        ),
        (
            _single(
                "q1",
                "Manakah yang tidak termasuk nilai dasar ASN?",
                ["Loyal", "Adaptif", "Harmonis", "Populer"],
                3,
            ),  # fmt: skip
            "a negative question ('tidak') not emphasised",
            7,
        ),
        (
            _single(
                "q1",
                "Seorang pegawai menjaga rahasia jabatan dengan baik. Sikap apa ini?",
                ["Pegawai menjaga rahasia jabatan dengan baik", "Ceroboh", "Lalai", "Tergesa"],
                0,
            ),  # fmt: skip
            "only the key repeats words of the question",
            7,
        ),
        (
            "## s1 (likert; harmonis)\nSaya mendengarkan, menghargai, dan menerima masukan rekan.\n\n",
            "the statement joins several behaviours (mendengarkan, menghargai, menerima)",
            6,
        ),
    ],
)
def test_each_flawed_item_pattern_is_warned_with_its_line(
    tmp_path: Path, body: str, expected: str, line: int
) -> None:
    found = _warnings(tmp_path, _quiz(body))
    assert any(f"demo/01-satu/03-kuis.quiz.md:{line}: warning: {expected}" in w for w in found), (
        found
    )


def test_sound_items_get_no_warning(tmp_path: Path) -> None:
    body = (
        _single("q1", "Manakah yang **TIDAK** termasuk nilai dasar ASN?", ["Loyal", "Adaptif",
                "Harmonis", "Populer"], 3)  # fmt: skip
        + _single("q2", "Apa makna kolaboratif?", ["Membangun kerja sama yang sinergis",
                  "Bekerja sendiri tanpa mengganggu orang lain", "Menunggu arahan", "Bersaing"], 0)
        + "## s1 (likert; harmonis)\nSaya menghargai pendapat rekan yang berbeda.\n\n"
    )  # fmt: skip
    assert _warnings(tmp_path, _quiz(body)) == []


def _bank(keys_longest: bool, positions: list[int]) -> str:
    body = ""
    for n, key in enumerate(positions):
        options = ["Pilihan pendek", "Pilihan yang agak lebih panjang", "Pilihan sedang", "Lain"]
        if keys_longest:
            options[key], options[1] = options[1], options[key]
        body += _single(f"q{n}", f"Pertanyaan nomor {n}?", options, key)
    return body


def test_bank_patterns_are_warned_at_the_banks_first_question(tmp_path: Path) -> None:
    # every key the longest, all in position 2, options not shuffled
    found = _warnings(tmp_path, _quiz(_bank(True, [1] * 8)))
    text = "\n".join(found)
    assert "03-kuis.quiz.md:7: warning: the key is the longest option in 100% of" in text
    assert "always picking the longest option scores 1 against 0.25 at random" in text
    assert "option 2 is the key in 100% of the questions" in text
    assert "option 1 is the key in 0% of the questions" in text
    # shuffled options: positions mean nothing to learners, so they are not checked
    shuffled = _warnings(tmp_path, _quiz(_bank(True, [1] * 8), "shuffle_options: true\n"))
    assert not any("is the key in" in w for w in shuffled)
    # a balanced bank: keys in every position, never the longest
    balanced = _warnings(tmp_path, _quiz(_bank(False, [0, 1, 2, 3, 0, 1, 2, 3])))
    assert not any("longest" in w or "is the key in" in w for w in balanced), balanced


def test_the_figures_are_as_documented() -> None:
    from modules.courses.schemas import Option, Question

    def q(weights: list[int], lengths: list[int]) -> item_check._Item:
        question = Question(
            id="x",
            type="scenario",
            stem_html="<p>?</p>",
            options=[Option(html="a" * n, weight=w) for w, n in zip(weights, lengths, strict=True)],
        )
        found = item_check._item(question)
        assert found is not None
        return found

    # the longest option is the key in the first, a 2-of-4 weight in the second
    figures = item_check.bank_figures(
        [q([4, 2, 1, 1], [9, 3, 3, 3]), q([4, 2, 1, 1], [3, 9, 3, 3])]
    )
    assert figures["longest_key_share"] == 0.5
    assert figures["always_longest"] == pytest.approx((1.0 + 0.5) / 2)
    assert figures["random"] == pytest.approx((8 / 4 / 4 + 8 / 4 / 4) / 2)


def test_key_wording_across_the_course(tmp_path: Path) -> None:
    body = "".join(
        _scenario(f"k{n}", f"Kasus nomor {n}: apa yang Anda lakukan?", [
            (5, f"Melaporkan kejadian nomor {n} kepada atasan"),
            (1, f"Diam saja soal kejadian {n}"),
            (2, f"Menunda urusan {n}"),
            (3, f"Membahas kejadian {n} bersama rekan"),
        ])
        for n in range(22)
    )  # fmt: skip
    found = _warnings(tmp_path, _quiz(body, "shuffle_options: true\n"))
    assert any(
        "demo/course.md:1: warning: the words" in w and "'lapor'" in w and "100% of the keys" in w
        for w in found
    ), found


def test_the_cli_warns_by_default_and_fails_when_asked(tmp_path: Path) -> None:
    quiz = _quiz(_single("q1", "Mana yang benar?", ["Jujur", "Ramah", "Cepat", "Semua benar"], 3))
    root = write_course(tmp_path, {"demo/01-satu/03-kuis.quiz.md": quiz})
    runner = CliRunner()
    warned = runner.invoke(cli, ["--lang", "en", "content", "check", str(root / "demo")])
    assert warned.exit_code == 0 and "warning: an 'all/none of the above' option" in warned.output
    failed = runner.invoke(
        cli, ["--lang", "en", "content", "check", "--items", "fail", str(root / "demo")]
    )
    assert failed.exit_code == 1
    quiet = runner.invoke(cli, ["--lang", "en", "content", "check", "--items", "off", str(root)])
    assert quiet.exit_code == 0 and "warning" not in quiet.output
    indonesian = runner.invoke(cli, ["content", "check", str(root / "demo")])
    assert "peringatan:" in indonesian.output
