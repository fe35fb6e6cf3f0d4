"""A weak connection, made real: the server is stopped mid-quiz (Playwright's offline switch
does not reach the service worker), the learner answers three questions (one of them twice)
and marks a lesson done; the page says what waits to be sent and never says "saved" for it; a
visited lesson reloads from the device's copy; the server comes back and holds exactly those
answers, once, the changed one with its second value, and the mark."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from app.main import create_app
from modules.progress.models import LessonProgress
from modules.quizzes.models import QuizAnswer, QuizAttempt
from tests.browser.conftest import _free_port, open_menu, register_in_browser, serve
from tests.conftest import make_settings

pytestmark = pytest.mark.browser
COURSE = "/courses/berakhlak"
FIRST = f"{COURSE}/lessons/akuntabel-pengertian"
SECOND = f"{COURSE}/lessons/akuntabel-panduan-perilaku"
QUIZ = f"{COURSE}/quizzes/akuntabel-kuis"


def _kept(page, path: str) -> bool:
    return page.evaluate(
        "path => caches.open('bk-pages').then(c => c.match(path, {ignoreVary: true}))"
        ".then(r => !!r)",
        path,
    )


def test_answers_and_marks_wait_offline_and_arrive_once(db_url: str, browser) -> None:
    port = _free_port()
    app = create_app(make_settings(db_url, worker_in_process="on"))
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with serve(app, port) as base:
        register_in_browser(page, base)
        page.wait_for_url(re.compile(r"/me/learning$"))
        page.goto(f"{base}{FIRST}")  # the first lesson: the service worker installs, keeps it
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function(
            "path => caches.open('bk-pages').then(c => c.match(path)).then(r => !!r)", arg=FIRST
        )
        page.goto(f"{base}{SECOND}")  # controlled now: kept as it is read
        assert page.evaluate("!!navigator.serviceWorker.controller")
        page.wait_for_function(
            "path => caches.open('bk-pages').then(c => c.match(path)).then(r => !!r)", arg=SECOND
        )
        page.wait_for_function(  # and, from the second page on, the course's outline
            "path => caches.open('bk-pages').then(c => c.match(path)).then(r => !!r)", arg=COURSE
        )
        page.goto(f"{base}{QUIZ}")
        page.get_by_role("button", name="Mulai").click()
        page.wait_for_url(re.compile(r"/attempts/[\w-]+$"))
        attempt_url = page.url
        # three questions answered by choosing one option
        questions = page.locator("fieldset.question:has(input[type=radio])")
        assert questions.count() >= 3
        ids = [questions.nth(i).get_attribute("id") for i in range(3)]
    # ---- the connection is gone: the server itself is down ----
    chosen = {}
    for n, fid in enumerate(ids):
        fieldset = page.locator(f'fieldset[id="{fid}"]')
        fieldset.locator("input[type=radio]").nth(0).check()
        chosen[fid] = fieldset.locator("input[type=radio]").nth(0).get_attribute("value")
        if n == 1:  # changed its mind: the second choice is the answer
            fieldset.locator("input[type=radio]").nth(1).check()
            chosen[fid] = fieldset.locator("input[type=radio]").nth(1).get_attribute("value")
        status = fieldset.locator(".save-status")
        status.get_by_text("Belum terkirim").wait_for()
        assert "Tersimpan" not in status.inner_text()
    banner = page.locator("#bk-pending")
    assert "Menunggu dikirim: 3" in banner.inner_text()
    # a visited lesson reloads from this device's copy, text and all
    page.goto(f"http://127.0.0.1:{port}{SECOND}")
    page.locator("main .prose").first.wait_for()
    assert len(page.locator("main .prose").first.inner_text()) > 200
    page.get_by_text("Luring: halaman ini seperti pada kunjungan terakhir Anda.").wait_for()
    page.reload()
    page.locator("main .prose").first.wait_for()
    page.get_by_role("button", name="Tandai selesai").click()
    page.get_by_text("Ditandai di perangkat ini").wait_for()
    assert "Menunggu dikirim: 4" in page.locator("#bk-pending").inner_text()
    # the course outline, too
    page.goto(f"http://127.0.0.1:{port}{COURSE}")
    page.get_by_role("heading", name="Internalisasi Nilai Dasar ASN BerAKHLAK").wait_for()
    # a page never visited: the offline page, in Indonesian
    page.goto(f"http://127.0.0.1:{port}/courses/berakhlak/lessons/adaptif-pengertian")
    page.get_by_role("heading", name="Anda sedang luring (offline)").wait_for()
    kept = page.locator("#offline-kept")  # and it lists what this device kept
    kept.get_by_role("link").first.wait_for()
    assert f'href="{SECOND}"' in kept.inner_html() and f'href="{COURSE}"' in kept.inner_html()
    # ---- the connection returns ----
    with serve(app, port):
        page.goto(f"http://127.0.0.1:{port}{SECOND}")  # a page load sends what waits
        page.locator("#bk-pending.is-empty").wait_for(state="attached")
        page.locator("#lesson-status").get_by_text("Anda telah menandai pelajaran ini").wait_for()
        page.goto(attempt_url)
        assert page.locator(".save-status .ok").count() == 3
        # a shared phone: logging out takes the kept pages and the queue with it
        page.evaluate("localStorage.setItem('bk-probe', '1')")
        open_menu(page)
        page.get_by_role("button", name="Keluar").click()
        page.wait_for_url(f"http://127.0.0.1:{port}/")
        assert page.evaluate("localStorage.getItem('bk-probe')") is None
        assert "bk-pages" not in page.evaluate("caches.keys()")
    with Session(app.state.engine) as session:
        attempt = session.exec(select(QuizAttempt)).one()
        rows = session.exec(select(QuizAnswer).where(QuizAnswer.attempt_id == attempt.id)).all()
        assert {r.question_id: r.value for r in rows} == {
            fid[2:]: _stored(value) for fid, value in chosen.items()
        }
        assert all(r.client_device and r.client_seq for r in rows)
        done = session.exec(select(LessonProgress)).all()
        assert [p.lesson_id for p in done] == ["akuntabel-panduan-perilaku"]
    context.close()
    assert not errors, errors


def _stored(value: str) -> str:
    """How a single-choice answer is kept: the option's index, as JSON."""
    return value if value.isdigit() else f'"{value}"'
