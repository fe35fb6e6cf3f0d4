"""Numbers, percentages and dates the way the reader's language writes them, through Babel's
named patterns (app/i18n.py): `87,5%`, `60.000`, `3,67`, `+0,33` and `7 Desember 2026` in
Indonesian, `87.5%`, `60,000`, `3.67`, `+0.33` and `December 7, 2026` in English; and on the
pages that show them (SVG coordinates stay machine numbers)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import i18n
from app.main import create_app
from app.middleware import PlatformMiddleware
from app.security import LANG_COOKIE
from modules.accounts.models import User
from modules.learning import workflow
from modules.progress.models import CourseCompletion
from modules.quizzes import service as quizzes_service
from modules.quizzes.models import QuizAttempt
from tests.conftest import csrf_from, make_settings, make_user, nip, register
from tests.modules.quizzes.test_attempts import quiz_env
from tests.modules.reports.helpers import COURSE, populate, self_assessed, staff

__all__ = ["quiz_env"]

ENGLISH = {LANG_COOKIE: "en"}


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("id", ["87,5%", "100%", "33,3%", "0%", "87,3%"]),
        ("en", ["87.5%", "100%", "33.3%", "0%", "87.3%"]),
    ],
)
def test_a_percentage_has_at_most_one_decimal(locale: str, expected: list[str]) -> None:
    """`#,##0.#%` on a score of 0 to 100; halves round up (87,25 is 87,3)."""
    with i18n.using_locale(locale):
        shown = [i18n.format_percent(v) for v in (87.5, 100.0, 100 / 3, 0, 87.25)]
    assert shown == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("id", ["60.000", "1.825", "87,5", "1.234.567,891", "7", "1,5"]),
        ("en", ["60,000", "1,825", "87.5", "1,234,567.891", "7", "1.5"]),
    ],
)
def test_a_number_groups_thousands(locale: str, expected: list[str]) -> None:
    """`#,##0.###`, or fewer decimals when asked (`#,##0.#` for one)."""
    with i18n.using_locale(locale):
        shown = [i18n.format_number(v) for v in (60000, 1825, 87.5, 1234567.891, 7.0)]
        shown.append(i18n.format_number(1.5, places=1))
    assert shown == expected
    assert i18n.NUMBER_PATTERN == "#,##0.###" and i18n.PERCENT_PATTERN == "#,##0.#%"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("id", ["3,67", "4,00", "1.234,50", "66,7", "0,0"]),
        ("en", ["3.67", "4.00", "1,234.50", "66.7", "0.0"]),
    ],
)
def test_a_mean_has_a_fixed_number_of_decimals(locale: str, expected: list[str]) -> None:
    """`#,##0.00` (two places, the default) or `#,##0.0` (one)."""
    with i18n.using_locale(locale):
        shown = [i18n.format_fixed(v) for v in (11 / 3, 4, 1234.5)]
        shown += [i18n.format_fixed(66.66, 1), i18n.format_fixed(0, 1)]
    assert shown == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("id", ["+0,33", "-0,33", "+2,00", "0,00", "0,00", "+1.234,50"]),
        ("en", ["+0.33", "-0.33", "+2.00", "0.00", "0.00", "+1,234.50"]),
    ],
)
def test_a_change_carries_its_sign_except_no_change(locale: str, expected: list[str]) -> None:
    """`+#,##0.00;-#,##0.00`; what rounds to zero has no sign (never `-0,00`)."""
    with i18n.using_locale(locale):
        shown = [i18n.format_signed(v) for v in (1 / 3, -1 / 3, 2, 0, -0.001, 1234.5)]
    assert shown == expected


@pytest.mark.parametrize(
    ("locale", "day", "month", "time"),
    [
        ("id", "7 Desember 2026", "Desember 2026", "7/12/26 14.05"),
        ("en", "December 7, 2026", "December 2026", "12/7/26, 2:05\u202fPM"),
    ],
)
def test_dates_in_the_readers_language(locale: str, day: str, month: str, time: str) -> None:
    """CLDR's long date, the `yMMMM` month and the short date and time, in the site's zone."""
    from zoneinfo import ZoneInfo

    before = i18n._timezone
    i18n.set_timezone(ZoneInfo("Asia/Jakarta"))
    try:
        with i18n.using_locale(locale):
            assert i18n.format_day(date(2026, 12, 7)) == day
            # 23:30 UTC on 6 December is already 7 December in Jakarta
            assert i18n.format_day(datetime(2026, 12, 6, 23, 30, tzinfo=UTC)) == day
            assert i18n.format_month("2026-12") == month == i18n.format_month(date(2026, 12, 7))
            assert i18n.format_time(datetime(2026, 12, 7, 7, 5, tzinfo=UTC)) == time
    finally:
        i18n.set_timezone(before)


# ---- on the pages ------------------------------------------------------------------------


def _in_english(client: TestClient, url: str) -> str:
    """The page as a reader who chose English sees it."""
    client.cookies.set(LANG_COOKIE, "en")
    try:
        return client.get(url).text
    finally:
        client.cookies.delete(LANG_COOKIE)


def _text(html: str) -> str:
    """What a reader sees: the text, without attributes (tokens, SVG coordinates)."""
    return BeautifulSoup(html, "html.parser").get_text(" ", strip=True)


def _user_id(app, nip_number: str) -> int:
    with Session(app.state.engine) as s:
        return s.exec(select(User.id).where(User.nip == nip_number)).one()


def test_a_fractional_quiz_score_is_written_the_indonesian_way(client, app) -> None:
    register(client)
    quiz_url = f"/courses/{COURSE}/quizzes/berorientasi-pelayanan-kuis"  # pass mark 75
    token = csrf_from(client, quiz_url)
    attempt = client.post(
        f"{quiz_url}/start", data={"csrf_token": token}, follow_redirects=False
    ).headers["location"]
    client.post(f"{attempt}/submit", data={"csrf_token": csrf_from(client, attempt)})
    with Session(app.state.engine) as s:  # as if seven questions of eight were right
        row = s.get(QuizAttempt, attempt.rsplit("/", 1)[1])
        row.score, row.passed = 87.5, True
        s.add(row)
        s.commit()
    result = client.get(f"{attempt}/result").text
    assert "Nilai 87,5% (nilai kelulusan 75%)" in result
    quiz = client.get(quiz_url).text
    assert "Hasil Anda: 87,5%" in quiz and "<dd>75%</dd>" in quiz
    assert quiz.count("87,5%") == 2  # the result, and the attempt in the list
    assert "87.5" not in _text(result) + _text(quiz)
    assert "Score 87.5% (pass mark 75%)" in _in_english(client, f"{attempt}/result")


def test_my_learning_writes_jp_and_dates_the_indonesian_way(db_url) -> None:
    app = create_app(make_settings(db_url, jp_target=1500))
    with TestClient(app, base_url="http://testserver") as client:
        register(client)
        course = app.state.catalogue.get(COURSE)
        with Session(app.state.engine) as s:
            s.add(
                CourseCompletion(
                    user_id=_user_id(app, nip()),  # the one registered
                    course_id=COURSE,
                    content_version_id=course.version_id,
                    jp=course.content.jp,
                    completed_at=datetime(2026, 12, 7, 3, 0, tzinfo=UTC),  # 10:00 WIB
                )
            )
            s.commit()
        mine = client.get("/me/learning").text
        jp = BeautifulSoup(mine, "html.parser").select_one(".jp .big").get_text(" ", strip=True)
        assert jp.endswith("/ 1.500 JP") and "paling sedikit 1.500 JP setahun" in mine
        assert "1500" not in _text(mine)
        assert "Selesai pada 7 Desember 2026" in client.get(f"/courses/{COURSE}").text
        assert "/ 1,500 JP" in _in_english(client, "/me/learning")
        english = _in_english(client, f"/courses/{COURSE}")
        assert "Completed on December 7, 2026" in english
    app.state.engine.dispose()


def _many_more(app, agency: int, count: int, completed: int) -> None:
    """`count` more people in the agency's Biro SDM, the first `completed` of whom completed
    the course today: one transaction, not a commit each."""
    course = app.state.catalogue.get(COURSE)
    now = datetime.now(UTC)
    with Session(app.state.engine) as s:
        people = [
            User(
                nip=f"19910101201503{i:04d}",
                employment_type="PNS",
                name=f"Pegawai {i:04d}",
                email=f"pegawai{i}@example.go.id",
                password_hash="x",
                agency_id=agency,
                work_unit="Biro SDM",
                position="Analis",
                grade="III/a",
            )
            for i in range(count)
        ]
        s.add_all(people)
        s.flush()
        s.add_all(
            CourseCompletion(
                user_id=person.id,
                course_id=COURSE,
                content_version_id=course.version_id,
                jp=course.content.jp,
                completed_at=now,
            )
            for person in people[:completed]
        )
        s.commit()


def _figures(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [d.get_text(" ", strip=True) for d in soup.select(".figures div")]


def test_hr_reports_of_a_large_population_group_thousands(app) -> None:
    pop = populate(app)  # five people of BKN (two completed), one of LAN
    _many_more(app, pop.bkn, count=1194, completed=100)
    hr = staff(app, "hr", pop.bkn, "198001012005011901")  # 5 + 1,194 + the officer = 1,200
    completion = hr.get("/manage/reports").text
    figures = _figures(completion)
    assert figures[0] == "1.200 pegawai" and figures[1].startswith("8,5% selesai (102)")
    assert "1200" not in _text(completion) and "8.5" not in _text(completion)
    assert re.search(r">Biro SDM · \d+,\d%</text>", completion)  # the chart's label
    assert "1.200 pegawai cocok." in hr.get("/manage/reports/people").text
    jp = _figures(hr.get("/manage/reports/jp").text)
    # this year's JP: Ani Done's and the hundred's
    earned = app.state.catalogue.get(COURSE).content.jp * 101
    assert earned >= 1000 and jp[0] == "1.200 pegawai"
    assert jp[-1] == f"{earned // 1000}.{earned % 1000:03d} JP diperoleh seluruhnya"
    english = _figures(_in_english(hr, "/manage/reports"))
    assert english[0] == "1,200 people" and english[1].startswith("8.5% completed (102)")


def test_self_assessment_means_and_changes_in_text_but_not_in_the_chart(app) -> None:
    pop = populate(app)
    for person, after in (("done", 3), ("started", 4), ("old", 4)):
        self_assessed(app, pop.ids[person], "asesmen-awal", 4)
        self_assessed(app, pop.ids[person], "asesmen-lanjutan", after)
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    page = hr.get("/manage/reports/self-assessment").text
    soup = BeautifulSoup(page, "html.parser")
    rows = [[c.get_text(strip=True) for c in r.select("td")] for r in soup.select("table.list tr")]
    rows = [r for r in rows if r]
    assert rows and all(r[1:4] == ["4,00", "3,67", "-0,33"] for r in rows), rows
    labels = [t.get_text() for t in soup.select("svg.chart text")]
    assert labels and all(label.endswith("(-0,33)") for label in labels), labels
    assert "<title>Sebelum: 4,00</title>" in page and "<title>Sesudah: 3,67</title>" in page
    # the bars' widths are SVG coordinates: machine numbers with a dot
    widths = {r["width"] for r in soup.select("svg.chart rect")}
    assert widths == {"320.0", "293.6"}, widths
    english = _in_english(hr, "/manage/reports/self-assessment")
    assert ">3.67<" in english and ">-0.33<" in english


def test_item_statistics_show_facility_and_discrimination_the_indonesian_way(quiz_env) -> None:
    app, course, quiz, _user_id = quiz_env
    for k in range(6):  # the first question right for four learners of six
        with Session(app.state.engine, expire_on_commit=False) as session:
            user = make_user(session, f"19900101201503100{k + 2}", f"p{k}@bkn.go.id")
            attempt = workflow.start_attempt(
                session=session,
                user_id=user.id,
                course=course,
                quiz=quiz,
                catalogue=app.state.catalogue,
            )
            quizzes_service.save_answer(
                session=session,
                attempt=attempt,
                quiz=quiz,
                question_id="satu-q1",
                value=0 if k >= 2 else 1,
            )
            quizzes_service.submit(session=session, attempt_id=attempt.id, quiz=quiz)
    trainer = staff(app, "trainer", None, "198001012005011904")
    page = trainer.get(f"/courses/demo/quizzes/{quiz.id}/statistics").text
    soup = BeautifulSoup(page, "html.parser")
    first = next(r for r in soup.select("table.stats tbody tr") if "satu-q1" in r.th.get_text())
    cells = [c.get_text(strip=True) for c in first.select("td")]  # type, drawn, facility, ...
    assert cells[1:4] == ["6", "66,7%", "1,00"], cells
    assert "6 percobaan dinilai" in page


def test_the_oversized_body_page_states_the_limit_in_both_ways() -> None:
    page = PlatformMiddleware._page(1_500_000).decode()
    assert "Batasnya 1,5 MB." in page and "larger than the 1.5 MB limit" in page
