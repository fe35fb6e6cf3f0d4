"""axe-core (from npm, evaluated in the page: the strict CSP refuses an injected script tag, an
evaluated source is not a script tag) on every page a learner meets, at phone and desktop
widths: no violation of impact serious or critical."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.main import create_app
from tests.browser.conftest import _free_port, register_in_browser, serve
from tests.conftest import make_settings, run_jobs

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
COURSE = "/courses/berakhlak"
LESSON = f"{COURSE}/lessons/akuntabel-pengertian"
QUIZ = f"{COURSE}/quizzes/akuntabel-kuis"
WIDTHS = (360, 1280)


def _violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
    )
    return list(result)


def test_learner_pages_have_no_serious_accessibility_violations(db_url: str, browser) -> None:
    assert AXE.exists(), "axe-core is installed from npm by `make setup`"
    port = _free_port()
    app = create_app(make_settings(db_url))
    found: dict[str, list[str]] = {}
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    page = context.new_page()
    with serve(app, port) as base:
        anonymous = ["/", COURSE, "/login", "/register", "/privacy", "/verify", "/offline"]
        for path in anonymous:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(base + path)
                found[f"{path} @{width}"] = _violations(page)
        register_in_browser(page, base)
        page.wait_for_url(re.compile(r"/me/learning$"))
        # pages as the journey meets them: a lesson, the quiz, an attempt with its hand-in
        # dialog, the confirmation page, the result, the course completed
        pages = ["/me/learning", COURSE, LESSON, QUIZ, "/certificates", "/me/profile"]
        pages += ["/me/data", "/me/sessions", "/me/erase", "/offline"]
        for path in pages:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(base + path)
                found[f"{path} @{width}"] = _violations(page)
        page.goto(base + QUIZ)
        page.get_by_role("button", name="Mulai").click()
        page.wait_for_url(re.compile(r"/attempts/[\w-]+$"))
        attempt = page.url
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(attempt)
            found[f"attempt @{width}"] = _violations(page)
            page.get_by_role("button", name="Kumpulkan", exact=True).click()
            page.locator("#hand-in-dialog").wait_for(state="visible")
            found[f"hand-in dialog @{width}"] = _violations(page)
            page.goto(attempt + "/hand-in")
            found[f"hand-in page @{width}"] = _violations(page)
        page.get_by_role("button", name="Ya, kumpulkan sekarang").click()
        page.wait_for_url(re.compile(r"/result$"))
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.reload()
            found[f"result @{width}"] = _violations(page)
        # the completion page, for a learner who completed the course
        _complete(app)
        run_jobs(app)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}{COURSE}/completed")
            page.get_by_role(
                "heading", name="Selamat! Anda telah menyelesaikan kursus ini."
            ).wait_for()
            found[f"completed @{width}"] = _violations(page)
            page.goto(f"{base}/certificates")  # now with a certificate on it
            found[f"certificates with one @{width}"] = _violations(page)
            # the action plan's form, and the report on it
            page.goto(f"{base}{COURSE}/plan?edit=1")
            found[f"plan form @{width}"] = _violations(page)
            page.goto(f"{base}{COURSE}/plan/report")
            found[f"plan report @{width}"] = _violations(page)
    context.close()
    bad = {where: v for where, v in found.items() if v}
    assert not bad, bad


def _complete(app) -> None:
    """The registered learner completes the shipped course (quizzes and tests, every lesson,
    then the action plan)."""
    from sqlmodel import Session, select

    from modules.accounts.models import User
    from tests.modules.quizzes.helpers import complete_shipped

    course = app.state.catalogue.get("berakhlak")
    with Session(app.state.engine) as session:
        user_id = session.exec(select(User.id)).one()
    complete_shipped(app, user_id, course)
