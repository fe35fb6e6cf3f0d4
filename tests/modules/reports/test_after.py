"""HR's after-course report: knowledge gain (pre-test to best post-test), the reaction survey,
action plans written, reported and confirmed, and the self-assessment change at the
follow-up, per unit and for everyone in scope; a unit of fewer than five who completed shows
only its count; the same figures in the export, opened as Excel in Indonesian opens it."""

from __future__ import annotations

from datetime import UTC, datetime

from bs4 import BeautifulSoup
from sqlmodel import Session

from modules.agencies import service as agencies_service
from modules.plans.models import ActionPlan
from modules.progress.models import CourseCompletion
from modules.quizzes.models import QuizAttempt
from tests.conftest import make_user
from tests.modules.reports.helpers import COURSE, self_assessed, staff
from tests.modules.reports.test_exports import _csv, _export


def _scored(app, user_id: int, quiz_id: str, score: float, number: int = 1) -> None:
    course = app.state.catalogue.get(COURSE)
    with Session(app.state.engine) as s:
        s.add(
            QuizAttempt(
                id=f"{user_id:08d}{quiz_id[:10]}{number:02d}".ljust(32, "s")[:32],
                user_id=user_id,
                course_id=COURSE,
                quiz_id=quiz_id,
                number=number,
                content_version_id=course.version_id,
                seed=1,
                layout="[]",
                submitted_at=datetime.now(UTC),
                score=score,
                passed=None if quiz_id == "pre-test" else score >= 70,
            )
        )
        s.commit()


def _learners(app, agency_id: int, unit: str, count: int, first: int) -> list[int]:
    """`count` people of a unit who took the pre-test (50), the post-test twice (60 then 80:
    the best counts), the survey (4), wrote a plan, and took the opening self-assessment (3)
    and the follow-up (4); the first three reported on their plan, two supervisors saw it."""
    course = app.state.catalogue.get(COURSE)
    ids = []
    for i in range(count):
        with Session(app.state.engine) as s:
            user = make_user(
                s,
                nip_number=f"1990010120150310{first + i:02d}",
                email=f"p{first + i}@bkn.go.id",
                agency_id=agency_id,
                work_unit=unit,
            )
            s.add(
                CourseCompletion(
                    user_id=user.id,
                    course_id=COURSE,
                    content_version_id=course.version_id,
                    jp=course.content.jp,
                )
            )
            s.add(
                ActionPlan(
                    user_id=user.id,
                    course_id=COURSE,
                    content_version_id=course.version_id,
                    reported_at=datetime.now(UTC) if i < 3 else None,
                    supervisor_seen=True if i < 2 else None,
                )
            )
            s.commit()
            ids.append(int(user.id))
        _scored(app, ids[-1], "pre-test", 50)
        _scored(app, ids[-1], "post-test", 60)
        _scored(app, ids[-1], "post-test", 80, number=2)
        self_assessed(app, ids[-1], "survei-reaksi", 4)
        self_assessed(app, ids[-1], "asesmen-awal", 3)
        self_assessed(app, ids[-1], "asesmen-lanjutan", 4)
    return ids


def test_after_course_figures_per_unit_hide_small_groups_and_export(app, tmp_path) -> None:
    app.state.settings.export_dir = tmp_path / "exports"
    with Session(app.state.engine) as s:
        bkn = agencies_service.get_by_code(session=s, code="LB-BKN").id
    _learners(app, bkn, "Biro SDM", 5, 1)
    _learners(app, bkn, "Biro Umum", 4, 20)  # fewer than five: only the count
    hr = staff(app, "hr", bkn, "198001012005011901")
    page = hr.get(f"/manage/reports/after?course={COURSE}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    rows = {
        r.th.get_text(strip=True): [c.get_text(" ", strip=True) for c in r.select("td")]
        for r in soup.select("table.list")[0].select("tbody tr")
    }
    values = [r.select("td") for r in soup.select("table.list")[1].select("tbody tr")]
    assert len(values) == 7 and all(v[3].get_text() == "+1,00" for v in values)  # per value
    sdm = rows["Biro SDM"]
    assert sdm[:4] == ["5", "50,00", "80,00", "+30,00 (5)"], sdm
    assert sdm[4:] == ["4,00 (5)", "5", "3", "2 (0)", "+1,00 (5)"], sdm
    assert rows["Biro Umum"][0] == "4" and "kurang dari 5" in rows["Biro Umum"][1]
    everyone = rows["Semua dalam cakupan"]
    assert everyone[0] == "9" and everyone[3].startswith("+30,00 (9)")
    assert everyone[5:8] == ["9", "6", "4 (0)"]  # plans, reported, confirmed (on the roster)
    assert "svg" in page.text and "Biro SDM (+30,00)" in page.text  # the chart
    assert "Biro Umum (" not in page.text  # a hidden group is not charted
    # the export: the same figures, machine-formatted, as Excel in Indonesian reads them
    url = _export(hr, "after:csv", f"?course={COURSE}")
    table = _csv(hr, url)
    header, body = table[0], {r[0]: r for r in table[1:]}
    assert header[0] == "Kelompok" and len(header) == 14
    assert body["Biro SDM"][1:6] == [5, 5, 50, 80, 30]
    assert body["Biro Umum"][1] == 4 and body["Biro Umum"][2] in ("", None)
    assert body["Semua dalam cakupan"][8:12] == [9, 6, 4, 0]


def test_the_report_names_no_one_and_needs_hr(app) -> None:
    with Session(app.state.engine) as s:
        bkn = agencies_service.get_by_code(session=s, code="LB-BKN").id
        lan = agencies_service.get_by_code(session=s, code="LB-LAN").id
    _learners(app, bkn, "Biro SDM", 5, 1)
    hr_other = staff(app, "hr", lan, "198001012005011902")
    other = hr_other.get(f"/manage/reports/after?course={COURSE}").text
    assert "Biro SDM" not in other  # another agency's HR sees none of them
    hr = staff(app, "hr", bkn, "198001012005011901")
    page = hr.get(f"/manage/reports/after?course={COURSE}").text
    assert "Biro SDM" in page
    assert "1990010120150310" not in page and "Siti" not in page  # no NIP, no name
