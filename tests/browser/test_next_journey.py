"""A learner who only ever follows "next" (and answers what they meet): from the pre-test of the
shipped course, every lesson is marked done, every quiz, test and form is met and taken, the
action plan is written last, and the course ends completed, on its completion page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.settings import ROOT
from modules.courses.content import load_content_dir
from modules.quizzes.grading import best_answer
from tests.browser.conftest import register_in_browser
from tests.browser.test_quiz_journey import answer

pytestmark = pytest.mark.browser


def test_following_only_next_meets_every_quiz_and_completes(live_server: str, browser) -> None:
    courses, _ = load_content_dir(ROOT / "content")
    course = courses[0].content
    questions = {q.id: q for m in course.modules for quiz in m.quizzes for q in quiz.questions}
    all_quizzes = [quiz.id for m in course.modules for quiz in m.quizzes]
    lessons = [lesson.id for m in course.modules for lesson in m.lessons]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    register_in_browser(page, live_server)
    page.wait_for_url(re.compile(r"/me/learning$"))
    page.get_by_role("link", name=re.compile(r"^Mulai: ")).first.click()  # the welcome
    seen_lessons: list[str] = []
    seen_quizzes: list[str] = []
    for _step in range(len(lessons) + 2 * len(all_quizzes) + 5):
        path = page.url.split("://", 1)[1].split("/", 1)[1]
        if m := re.fullmatch(r"courses/berakhlak/lessons/([a-z0-9-]+)", path):
            seen_lessons.append(m.group(1))
            page.get_by_role("button", name="Tandai selesai").click()
            status = page.locator("#lesson-status")
            nxt = status.get_by_role(
                "link", name=re.compile(r"^(Pelajaran berikutnya|Berikutnya: )")
            )
            try:
                nxt.wait_for(timeout=5000)
            except Exception:
                page.wait_for_url(re.compile(r"/completed$"))  # the last step completed it
                break
            nxt.click()
        elif m := re.fullmatch(r"courses/berakhlak/quizzes/([a-z0-9-]+)", path):
            seen_quizzes.append(m.group(1))
            page.get_by_role("button", name="Mulai").click()
            page.wait_for_url(re.compile(r"/attempts/[\w-]+$"))
            fieldsets = page.locator("fieldset.question")
            for i in range(fieldsets.count()):
                qid = fieldsets.nth(i).get_attribute("id")[2:]
                if questions[qid].type == "likert":  # a self-assessment: an honest "often"
                    page.check(f'input[name="q-{qid}"][value="4"]')
                else:
                    answer(page, questions[qid], best_answer(questions[qid]))
            page.locator("#bk-pending.is-empty").wait_for(state="attached")  # all acknowledged
            page.get_by_role("button", name="Kumpulkan", exact=True).click()
            page.get_by_role("button", name="Ya, kumpulkan sekarang").click()
            page.wait_for_url(re.compile(r"/(result|completed\?attempt=[\w-]+)$"))
            if "/completed" in page.url:
                break
            page.get_by_role("link", name=re.compile(r"^Berikutnya: ")).click()
        elif path == "courses/berakhlak/plan":  # the last activity: one value, then save
            page.locator("summary", has_text="Akuntabel").click()  # each value opens
            page.get_by_role("group", name="Akuntabel").get_by_label("Yang akan saya lakukan").fill(
                "Setiap Jumat saya mencatat pekerjaan yang tertunda beserta alasannya."
            )
            page.get_by_role("group", name="Akuntabel").get_by_label(
                "Bukti yang dapat dilihat"
            ).fill("Catatan mingguan terkirim kepada ketua tim setiap Jumat.")
            page.get_by_role("group", name="Akuntabel").get_by_label("Batas waktu").fill(
                (date.today() + timedelta(days=45)).isoformat()
            )
            page.get_by_role("button", name="Simpan rencana aksi saya").click()
            plan_errors = page.locator("p.error[role=alert]")
            if plan_errors.count():
                raise AssertionError(page.locator("main").inner_text())
            page.wait_for_url(re.compile(r"/completed$"))
            break
        else:
            raise AssertionError(f"'next' led to {page.url}")
    page.get_by_role("heading", name="Selamat! Anda telah menyelesaikan kursus ini.").wait_for()
    assert f"{course.jp} JP" in page.locator("main").inner_text()
    assert "Rencana aksi Anda" in page.locator("main").inner_text()
    assert seen_lessons == lessons
    assert seen_quizzes[0] == "pre-test"  # before the first lesson
    # every quiz, test and form met on the way, except the follow-up months later
    follow_up = [q.id for m in course.modules for q in m.quizzes if q.kind == "follow_up"]
    assert follow_up and set(seen_quizzes) == set(all_quizzes) - set(follow_up)
    context.close()
    assert not errors, errors
