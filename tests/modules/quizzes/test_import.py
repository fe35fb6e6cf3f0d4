"""Moodle GIFT and Aiken import: every supported construct converts, unsupported ones are
reported with their line, and the result passes `content check` (round trip)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from modules.quizzes.gift import convert_aiken, convert_gift
from tests.modules.courses.test_content_check import check, english_messages, write_course

__all__ = ["english_messages"]
HERE = Path(__file__).parent / "gift"


def test_gift_converts_every_supported_construct() -> None:
    result = convert_gift((HERE / "akuntabel.gift").read_text(), "akt", "Akuntabel")
    text = result.text
    assert result.count == 8
    assert "## akt-arti-akuntabel (single; konsep)" in text
    assert "- [x] Dapat dimintai pertanggungjawaban atas tugasnya => Tepat." in text
    assert "Umpan balik: Lihat SE MenPAN-RB 20/2021." in text
    # true/false with feedback per answer: Benar / Salah options carry it (shown to whoever
    # chose that answer, as Moodle does), never one feedback shown to everyone
    assert "## akt-bmn (single; konsep)" in text
    assert "- [ ] Benar => Keliru: itu tidak boleh." in text
    assert "- [x] Salah => Benar, tidak boleh." in text
    assert "## akt-tiga-panduan (multiple; konsep)" in text
    assert "- [ ] Bertindak proaktif => Itu nilai Adaptif." in text
    assert "Jawaban: Pemerintah | pemerintah RI" in text
    assert "Sistem Pengendalian Intern _____ ." in text
    assert "- Akuntabel = Tidak menyalahgunakan kewenangan" in text
    assert "## akt-berita-acara (scenario; kasus)" in text
    assert "- [5] Menolak" in text and "- [3] Menandatangani dengan catatan" in text
    assert "<p>" not in text
    assert "Simbol { dan } serta = dan ~ dan # ditulis dengan garis miring terbalik: benar?" in text
    assert "\\- Daftar dalam soal" in text  # stays text, not an option


def test_gift_unsupported_constructs_are_reported_with_their_line() -> None:
    result = convert_gift((HERE / "akuntabel.gift").read_text(), "akt", "Akuntabel")
    notes = dict(result.skipped)
    assert "numerical" in notes[38]
    assert "essay" in notes[40]
    assert "description" in notes[42]
    assert 30 not in notes  # simple HTML (<p>) becomes text: nothing lost, nothing noted


def test_gift_round_trip_passes_the_content_check(tmp_path: Path) -> None:
    result = convert_gift((HERE / "akuntabel.gift").read_text(), "akt", "Akuntabel")
    root = write_course(tmp_path, {"demo/01-satu/09-akt.quiz.md": result.text})
    assert check(root) == []


def test_aiken_converts_and_reports(tmp_path: Path) -> None:
    result = convert_aiken((HERE / "soal.aiken").read_text(), "aik", "Aiken")
    assert result.count == 2
    assert "- [x] Tujuh" in result.text and "- [x] Membantu orang lain belajar" in result.text
    assert result.skipped == [(12, "question without an ANSWER line (skipped)")]
    root = write_course(tmp_path, {"demo/01-satu/09-aik.quiz.md": result.text})
    assert check(root) == []


def test_cli_import_gift_and_aiken(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "modul"
    result = runner.invoke(
        cli,
        [
            "--lang",
            "en",
            "content",
            "import-gift",
            str(HERE / "akuntabel.gift"),
            "--out",
            str(out),
            "--id",
            "akt",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "akuntabel.gift:38: numerical question is not supported" in result.output
    assert (out / "akt.quiz.md").is_file()
    nothing = runner.invoke(
        cli, ["content", "import-gift", str(HERE / "bad.gift"), "--out", str(out)]
    )
    assert nothing.exit_code == 1
    aiken = runner.invoke(
        cli, ["content", "import-aiken", str(HERE / "soal.aiken"), "--out", str(out)]
    )
    assert aiken.exit_code == 0 and (out / "soal.quiz.md").is_file()
    missing = runner.invoke(
        cli, ["content", "import-gift", str(tmp_path / "nope.gift"), "--out", str(out)]
    )
    assert missing.exit_code == 2


def test_a_second_gift_bank_with_multiline_questions_and_category_changes(tmp_path) -> None:
    result = convert_gift((HERE / "mixed.gift").read_text(), "hrm", "Harmonis")
    text = result.text
    # the feedback of a short answer has no place in our format: said, not silently dropped
    assert result.count == 6
    assert result.skipped == [(15, "feedback on a short answer has no place: dropped")]
    assert (
        "Seorang pemohon mengeluh karena petugas berbicara dengan nada tinggi. Sikap yang tepat?"
    ) in text
    assert "## hrm-benar-panjang (truefalse; harmonis)" in text and "Jawaban: benar" in text
    assert "Nilai Harmonis mengajak ASN _____ setiap orang" in text
    assert "Jawaban: saling menghargai" in text
    assert "## hrm-bobot-satu-benar (single; harmonis)" in text
    assert "- [x] =" in text and "- [ ] ~" in text and "- [ ] \\#" in text  # stays text
    assert "## hrm-baris-baru (truefalse; kasus)" in text
    assert check(write_course(tmp_path, {"demo/01-satu/09-hrm.quiz.md": text})) == []


def test_the_forms_moodles_exporter_writes_are_kept_or_reported(tmp_path: Path) -> None:
    result = convert_gift((HERE / "moodle-forms.gift").read_text(), "mdl", "Moodle")
    text, notes = result.text, result.skipped
    assert result.count == 4
    # true/false with per-answer and general feedback: nothing shown to the wrong people
    assert "## mdl-pajak (single; integritas)" in text
    assert "- [x] Benar => Tepat." in text and "- [ ] Salah => Keliru, harus dilaporkan." in text
    assert "Umpan balik: Lihat ketentuan pelaporan gratifikasi." in text
    # short answer: only the full-credit answer is accepted; the rest is said
    assert "Jawaban: SPIP\n" in text and "SPI |" not in text and "| *" not in text
    assert any("partial credit (50%) for 'SPI'" in m for _line, m in notes)
    assert any("catch-all answer '*'" in m for _line, m in notes)
    # matching: the extra right-hand choice is reported, never written as a broken pair
    assert "- Akuntabel = Bertanggung jawab" in text and "= Bersaing" not in text
    assert any("'Bersaing'" in m for _line, m in notes)
    # HTML: bold and links kept as markdown, the audio as a link
    assert "**paling tepat**" in text and "[sumber ini](https://jdih.menpan.go.id/)" in text
    assert "[audio](https://contoh.go.id/suara.mp3)" in text and "<" not in text
    # nothing silently dropped: every construct converted or noted; the bank checks clean
    bank = tmp_path / "mdl.quiz.md"
    bank.write_text(text, encoding="utf-8")
    runner = CliRunner()
    checked = runner.invoke(cli, ["--lang", "en", "content", "check", "--items", "off", str(bank)])
    assert checked.exit_code == 0, checked.output
    root = write_course(tmp_path / "c", {"demo/01-satu/09-mdl.quiz.md": text})
    assert check(root) == []


def test_aiken_options_without_a_space(tmp_path: Path) -> None:
    result = convert_aiken((HERE / "rapat.aiken").read_text(), "rpt", "Rapat")
    assert result.count == 1 and result.skipped == []
    assert "- [x] Tujuh" in result.text and "- [ ] Lima" in result.text


def test_a_bank_on_its_own_is_checked_with_its_problems(tmp_path: Path) -> None:
    bank = tmp_path / "bank.quiz.md"
    bank.write_text("---\nid: bank\ntitle: Bank\nminutes: 5\npass_mark: 70\n---\n## q1 (single)\nSoal?\n\n"
                    "- [ ] a\n- [ ] b\n", encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(cli, ["--lang", "en", "content", "check", str(bank)])
    assert result.exit_code == 1 and "bank.quiz.md:7:" in result.output
    assert "no course folder" not in result.output


def test_moodle_xml_converts_or_reports_every_question(tmp_path: Path) -> None:
    from modules.quizzes.moodle_xml import convert_moodle_xml

    source = (HERE / "bank.xml").read_text()
    result = convert_moodle_xml(source, "xml", "Bank")
    text, notes = result.text, dict(result.skipped)
    assert result.count == 6
    assert "## xml-arti-akuntabel (single; akuntabel, konsep)" in text
    assert "Apa arti nilai **Akuntabel**?" in text
    assert "- [x] Bertanggung jawab atas kepercayaan => Tepat." in text
    assert "Umpan balik: Lihat lembar ringkasan." in text
    assert "## xml-tiga-panduan (multiple; akuntabel)" in text
    assert "- [ ] Benar => Keliru: tidak boleh." in text and "- [x] Salah => Benar." in text
    assert "Jawaban: SPIP\n" in text
    assert "- Akuntabel = Bertanggung jawab" in text and "Bersaing" not in text
    assert (
        "## xml-kasus-berita-acara (scenario; akuntabel)" in text
        and "- [3] Menandatangani dengan catatan" in text
    )
    # every question not converted, and every loss, is said with its line
    said = [message for _line, message in result.skipped]
    for what in ("essay", "numerical", "cloze", "image or file", "'Bersaing'", "catch-all"):
        assert any(what in m for m in said), what
    assert all(line > 1 for line in notes)
    converted_or_noted = result.count + sum("(skipped)" in m for m in said)
    assert converted_or_noted == source.count('<question type="') - 1  # the category
    root = write_course(tmp_path, {"demo/01-satu/09-xml.quiz.md": text})
    assert check(root) == []


def test_moodle_xml_with_entities_is_refused(tmp_path: Path) -> None:
    from modules.quizzes.moodle_xml import convert_moodle_xml

    bomb = (
        '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><quiz>&b;</quiz>'
    )
    result = convert_moodle_xml(bomb, "x", "X")
    assert result.count == 0 and "not a Moodle XML file" in result.skipped[0][1]
    source = tmp_path / "bank.xml"
    source.write_text((HERE / "bank.xml").read_text())
    runner = CliRunner()
    done = runner.invoke(cli, ["--lang", "en", "content", "import-moodle-xml", str(source),
                               "--out", str(tmp_path / "out"), "--id", "bank"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "bank.quiz.md").is_file()
