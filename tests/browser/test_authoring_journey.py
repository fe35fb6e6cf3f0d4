"""A trainer writes a course in the browser, from nothing: creates it, publishes a first
version, makes a mistake and sees it by file and line, fixes it, previews the draft at phone
width while a learner on the same server still reads the published lesson, publishes, sees
it live, rolls back; the learner's progress survives each step."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from app.main import create_app
from modules.accounts import grants
from modules.accounts.models import User
from modules.courses import service as courses_service
from tests.browser.conftest import _free_port, register_in_browser, serve
from tests.conftest import make_settings
from tests.modules.courses.test_content_check import write_course

pytestmark = pytest.mark.browser

COURSE = "etika-asn"
LESSON_PATH = "01-pengantar/01-sambutan.md"
LESSON_URL = f"/courses/{COURSE}/lessons/pengantar-sambutan"


def lesson(body: str) -> str:
    return f"---\nid: pengantar-sambutan\ntitle: Sambutan\nminutes: 45\n---\n{body}\n"


def read_lesson(page, url: str, text: str) -> None:
    """Open the lesson until it shows `text`: the device shows the copy it kept at once and
    refreshes it behind (app/pwa/sw.js), so a new version shows on the next visit."""
    for _visit in range(3):
        page.goto(url)
        if page.get_by_text(text).count():
            return
    raise AssertionError(f"{url} does not show {text!r}: {page.locator('main').inner_text()}")


def test_a_trainer_writes_previews_publishes_and_rolls_back(db_url, browser, tmp_path) -> None:
    root = write_course(tmp_path / "content", {})
    port = _free_port()
    app = create_app(make_settings(db_url, worker_in_process="on", content_dir=root))
    courses_service.sync_content(engine=app.state.engine, root=root)
    errors: list[str] = []
    with serve(app, port) as base:
        trainer_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
        learner_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
        trainer, learner = trainer_ctx.new_page(), learner_ctx.new_page()
        for page in (trainer, learner):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        register_in_browser(trainer, base, name="Rina Pelatih", email="rina@bkn.go.id")
        trainer.wait_for_url(re.compile(r"/me/learning$"))
        with Session(app.state.engine) as session:
            user = session.exec(select(User).where(User.email == "rina@bkn.go.id")).one()
            grants.grant(session=session, user=user, role="trainer", course_id="demo")

        # a new course from nothing; it starts valid, and its first version is published
        trainer.goto(f"{base}/me/profile")
        trainer.get_by_role("link", name="Menulis dan menerbitkan kursus").click()
        trainer.get_by_label("Judul").fill("Etika ASN dalam Pelayanan")
        trainer.get_by_label(re.compile(r"^Id ")).fill(COURSE)
        trainer.get_by_role("button", name="Buat kursus").click()
        trainer.wait_for_url(f"{base}/author/courses/{COURSE}")
        trainer.get_by_text("Draf lolos pemeriksaan").wait_for()
        trainer.get_by_role("button", name="Terbitkan").click()
        trainer.get_by_text("Diterbitkan: peserta kini melihat versi ini.").wait_for()

        # the learner reads it and marks the lesson done
        register_in_browser(learner, base, nip="199202022016042002", email="budi@bkn.go.id")
        learner.wait_for_url(re.compile(r"/me/learning$"))
        learner.goto(base + LESSON_URL)
        learner.get_by_text("Tulis isi pelajaran di sini").wait_for()
        learner.get_by_role("button", name="Tandai selesai").click()
        learner.wait_for_url(re.compile(r"/completed$"))  # its one lesson: the course is done

        # a mistake, shown by file and line, in Indonesian
        trainer.get_by_role("link", name=LESSON_PATH, exact=True).click()
        text = trainer.get_by_label("Isi (markdown)")
        text.fill(lesson("Versi baru dengan [tautan rusak](tidak-ada.md)."))
        trainer.get_by_role("button", name="Simpan di draf").click()
        trainer.get_by_text("Tersimpan di draf").wait_for()
        problem = trainer.locator("#line-6")
        assert "tidak-ada.md" in problem.inner_text() and "Baris 6" in problem.inner_text()
        trainer.get_by_role("link", name="Kembali ke kursus").click()
        assert trainer.get_by_role("button", name="Terbitkan").is_disabled()
        trainer.get_by_role("link", name=f"{LESSON_PATH}:6", exact=True).wait_for()

        # fixed, then previewed at phone width while the learner still reads the old lesson
        trainer.get_by_role("link", name=LESSON_PATH, exact=True).click()
        trainer.get_by_label("Isi (markdown)").fill(lesson("Versi baru: melayani dengan adil."))
        trainer.get_by_role("button", name="Simpan di draf").click()
        trainer.get_by_text("Tersimpan di draf").wait_for()
        assert trainer.locator("#file-problems").count() == 0
        trainer.get_by_role("link", name="Kembali ke kursus").click()
        trainer.set_viewport_size({"width": 390, "height": 844})
        trainer.get_by_role("link", name="Pratinjau draf").click()
        trainer.get_by_role("link", name="Sambutan").click()
        trainer.get_by_text("Versi baru: melayani dengan adil.").wait_for()
        trainer.get_by_text(re.compile(r"^Pratinjau draf \(revisi \d+\)")).wait_for()
        width = trainer.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width  # nothing wider than the phone
        learner.goto(base + LESSON_URL)
        assert "Versi baru" not in learner.locator("main").inner_text()
        learner.get_by_text("Tulis isi pelajaran di sini").wait_for()

        # published: live for the learner, whose lesson stays done
        trainer.set_viewport_size({"width": 1280, "height": 900})
        trainer.get_by_role("link", name="Kembali ke draf").click()
        trainer.get_by_role("button", name="Terbitkan").click()
        trainer.get_by_text("Diterbitkan: peserta kini melihat versi ini.").wait_for()
        read_lesson(learner, base + LESSON_URL, "Versi baru: melayani dengan adil.")
        assert learner.get_by_role("button", name="Tandai selesai").count() == 0

        # the history names who and what; rolling back restores the first version
        trainer.get_by_role("link", name="Riwayat").click()
        trainer.get_by_text("Rina Pelatih").first.wait_for()
        trainer.get_by_role("link", name="Apa yang berubah").first.click()
        trainer.locator("ins", has_text="+Versi baru: melayani dengan adil.").wait_for()
        trainer.go_back()
        trainer.get_by_role("button", name=re.compile(r"^Kembalikan ke versi ini")).first.click()
        trainer.get_by_text("Dikembalikan: peserta melihat versi yang Anda pilih.").wait_for()
        read_lesson(learner, base + LESSON_URL, "Tulis isi pelajaran di sini")
        assert learner.get_by_role("button", name="Tandai selesai").count() == 0
        learner.goto(f"{base}/me/learning")
        assert "Etika ASN dalam Pelayanan" in learner.locator("main").inner_text()
        trainer_ctx.close()
        learner_ctx.close()
    assert not errors, errors
