"""A quiz in headless Chromium: start, answer half, reload (answers still there), finish,
see the result and the module marked complete."""

from __future__ import annotations

import re

import pytest

from modules.quizzes.grading import best_answer
from tests.browser.conftest import register_in_browser

pytestmark = pytest.mark.browser
QUIZ = "/courses/berakhlak/quizzes/akuntabel-kuis"


def answer(page, question, value) -> None:
    """Give an answer through the form controls, as a learner would."""
    name = f"q-{question.id}"
    kind = question.type
    if kind in ("single", "scenario", "truefalse"):
        page.check(f'input[name="{name}"][value="{value}"]')
    elif kind == "multiple":
        for index in value:
            page.check(f'input[name="{name}"][value="{index}"]')
    elif kind == "short":
        page.fill(f'input[name="{name}"]', value)
        page.locator(f'input[name="{name}"]').dispatch_event("change")
    elif kind == "matching":
        for left, right in enumerate(value):
            page.select_option(f'select[name="{name}-{left}"]', str(right))
    elif kind == "ordering":
        for position, item in enumerate(value, start=1):
            page.select_option(f'select[name="{name}-{item}"]', str(position))


def test_quiz_journey(live_server: str, page) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    register_in_browser(page, live_server)
    page.wait_for_url(re.compile(r"/me/learning$"))

    # the module's lessons first
    for lesson in (
        "akuntabel-pengertian",
        "akuntabel-panduan-perilaku",
        "akuntabel-kasus-pengadaan-apbd",
        "akuntabel-kasus-dana-desa",
    ):
        page.goto(f"{live_server}/courses/berakhlak/lessons/{lesson}")
        page.get_by_role("button", name="Tandai selesai").click()
        page.locator("#lesson-status .ok").wait_for()

    from app.settings import ROOT
    from modules.courses.content import load_content_dir

    courses, _ = load_content_dir(ROOT / "content")
    quiz = next(
        q for m in courses[0].content.modules for q in m.quizzes if q.id == "akuntabel-kuis"
    )
    by_id = {q.id: q for q in quiz.questions}

    page.goto(f"{live_server}{QUIZ}")
    page.get_by_role("button", name="Mulai").click()
    page.wait_for_url(re.compile(r"/attempts/[\w-]+$"))
    attempt_url = page.url
    fieldsets = page.locator("fieldset.question")
    assert fieldsets.count() == 8
    ids = [fieldsets.nth(i).get_attribute("id")[2:] for i in range(8)]
    for qid in ids[:4]:  # half, saved one by one as they are given
        answer(page, by_id[qid], best_answer(by_id[qid]))
        page.locator(f'fieldset[id="q-{qid}"] .save-status .ok').wait_for()

    page.reload()  # a dropped connection, another device: the same attempt, the same answers
    assert page.url == attempt_url
    assert page.locator(".save-status .ok").count() == 4
    for qid in ids[:4]:
        question = by_id[qid]
        if question.type in ("single", "scenario", "truefalse"):
            value = best_answer(question)
            assert page.is_checked(f'input[name="q-{qid}"][value="{value}"]')

    # an early "Kumpulkan" asks first and names the four questions still open
    page.get_by_role("button", name="Kumpulkan", exact=True).click()
    dialog = page.locator("#hand-in-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator("[data-unanswered] li").all_inner_texts() == [
        "Soal 5",
        "Soal 6",
        "Soal 7",
        "Soal 8",
    ]
    dialog.get_by_role("button", name="Kembali ke soal").click()
    dialog.wait_for(state="hidden")
    assert page.url == attempt_url  # nothing handed in

    for qid in ids[4:]:
        answer(page, by_id[qid], best_answer(by_id[qid]))
    page.get_by_role("button", name="Kumpulkan", exact=True).click()
    dialog.wait_for(state="visible")
    assert dialog.locator("[data-all-answered]").is_visible()
    dialog.get_by_role("button", name="Ya, kumpulkan sekarang").click()
    page.wait_for_url(re.compile(r"/result$"))
    assert "lulus" in page.locator(".done-badge").inner_text()

    page.goto(f"{live_server}/courses/berakhlak")
    module = page.locator("ol.modules > li", has_text="Akuntabel").first
    assert "modul selesai" in module.inner_text()
    assert not errors, errors


def test_hand_in_without_javascript_asks_first(live_server: str, browser) -> None:
    """JavaScript off: "Kumpulkan" saves the page and shows a confirmation naming the open
    questions; only "Ya, kumpulkan sekarang" hands in."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="id-ID", java_script_enabled=False
    )
    page = context.new_page()
    try:
        register_in_browser(page, live_server)
        page.goto(f"{live_server}{QUIZ}")
        page.get_by_role("button", name="Mulai").click()
        attempt_url = page.url
        first = page.locator("fieldset.question:has(input[type=radio])").first
        first.locator("input[type=radio]").first.check()
        page.get_by_role("button", name="Kumpulkan", exact=True).click()
        page.wait_for_url(re.compile(r"/hand-in$"))
        assert "7 dari 8 soal belum dijawab:" in page.locator("main").inner_text()
        assert page.locator("main ul.inline-list li").count() == 7
        page.get_by_role("link", name="Kembali ke soal").click()
        assert page.url == attempt_url
        assert first.locator("input:checked").count() == 1
        page.get_by_role("button", name="Kumpulkan", exact=True).click()
        page.get_by_role("button", name="Ya, kumpulkan sekarang").click()
        page.wait_for_url(re.compile(r"/result$"))
    finally:
        context.close()
