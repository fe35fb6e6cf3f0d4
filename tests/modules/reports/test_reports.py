"""Report pages: counts per status and group, status per person, JP recap, self-assessment
change, charts, scope (never another agency's people), bad filters, and the audit of views."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from modules.accounts.models import User
from modules.audit import service as audit_service
from modules.audit.models import AuditEvent, AuditScope
from tests.modules.reports.helpers import populate, self_assessed, staff


@pytest.fixture
def pop(app):
    return populate(app)


def _figures(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [d.get_text(" ", strip=True) for d in soup.select(".figures div")]


def _table(html: str, index: int = 0) -> list[list[str]]:
    soup = BeautifulSoup(html, "html.parser")
    table = soup.select("table.list")[index]
    return [[c.get_text(" ", strip=True) for c in r.select("td")] for r in table.select("tbody tr")]


def test_hr_sees_their_agency_by_unit_with_each_status(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    page = hr.get("/manage/reports")
    assert page.status_code == 200
    figures = _figures(page.text)
    # BKN: done, started, late, idle, old + the HR officer themself (also a person of BKN)
    assert figures[0].startswith("6")
    assert figures[1].startswith("33,3%") and "(2)" in figures[1]  # Babel's #,##0.#% in Indonesian
    rows = {r[0]: r[1:] for r in _table(page.text)}
    # people, completed, %, in progress, overdue, not started, assigned
    assert rows["Biro SDM"][:6] == ["3", "2", "66,7", "1", "0", "0"]
    assert rows["Biro Umum"][:6] == ["2", "0", "0,0", "0", "1", "1"]
    assert "Fajar" not in page.text and "Kepegawaian" not in page.text
    assert page.text.count('<svg class="chart"') == 2


def test_grouping_by_grade_and_type_and_the_period(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    by_type = {r[0]: r[1:3] for r in _table(hr.get("/manage/reports?group=employment_type").text)}
    assert by_type["PPPK"] == ["1", "1"]
    # status on a day last year: only the PPPK completion had happened
    last_year = date.today().replace(year=date.today().year - 1, month=12, day=31)
    old = hr.get(f"/manage/reports?until={last_year.isoformat()}")
    rows = {r[0]: r[1:3] for r in _table(old.text)}
    assert rows["Biro SDM"] == ["3", "1"]
    # completions counted in the period: since this year's first day
    since = date.today().replace(month=1, day=1).isoformat()
    page = hr.get(f"/manage/reports?since={since}")
    assert any(f.startswith("1 ") and "period" in f or "periode" in f for f in _figures(page.text))


def test_module_completion_counts_the_people_in_scope(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    modules = _table(hr.get("/manage/reports").text, 1)
    assert modules[0][2] == "3"  # done, old, and started finished the first module
    assert all(row[2] == "2" for row in modules[1:])
    matrix = {r[0]: r[1:] for r in _table(hr.get("/manage/reports").text, 2)}
    assert matrix["Biro SDM"][0] == "100,0" and set(matrix["Biro SDM"][1:]) == {"66,7"}
    assert set(matrix["Biro Umum"]) == {"0,0"}


def test_the_people_list_filters_by_status_and_never_shows_another_agency(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    page = hr.get("/manage/reports/people")
    assert page.status_code == 200
    names = [r[0].split(" 1990")[0] for r in _table(page.text)]
    assert "Fajar Other" not in " ".join(names)
    assert names[:5] == ["Ani Done", "Budi Started", "Citra Late", "Dedi Idle", "Eka Old"]
    overdue = _table(hr.get("/manage/reports/people?status=overdue").text)
    assert len(overdue) == 1 and overdue[0][0].startswith("Citra Late")
    unit = _table(hr.get("/manage/reports/people?unit=biro%20umum").text)
    assert len(unit) == 2
    found = _table(hr.get("/manage/reports/people?q=199001012015031002").text)
    assert len(found) == 1 and found[0][0].startswith("Budi")
    assert hr.get(f"/manage/reports/people?agency={pop.lan}").status_code == 403


def test_pages_of_people_follow_the_cursor(app, pop, monkeypatch) -> None:
    from modules.reports import router

    monkeypatch.setattr(router, "PAGE", 2)
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    seen, url = [], "/manage/reports/people"
    while url:
        page = hr.get(url)
        seen += [r[0].split(" 1990")[0] for r in _table(page.text)]
        link = BeautifulSoup(page.text, "html.parser").find("a", string=lambda s: s and "→" in s)
        url = link["href"] if link else None
    assert len(seen) == 6 and len(set(seen)) == 6


def test_nonsense_filters_and_cursors_give_the_report_with_a_message(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    for query in (
        "since=2026-13-40",
        "until=yesterday",
        "since=2026-06-01&until=2026-01-01",
        "grade=Z/z",
        "type=honorer",
        "status=lost",
        "agency=1e9",
        "agency=-1",
        "course=nope",
        "unit=%00",
    ):
        page = hr.get(f"/manage/reports?{query}")
        assert page.status_code == 422, query
        assert 'class="error"' in page.text, query
    assert hr.get("/manage/reports/people?after=garbage").status_code == 200
    assert hr.get("/manage/reports/people?after=WyJhIiwiYiJd").status_code == 200  # ["a","b"]
    assert hr.get("/manage/reports/jp?year=19").status_code == 422


def test_a_unit_scoped_officer_sees_only_that_unit(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011902", work_unit="Biro Umum")
    rows = _table(hr.get("/manage/reports").text)
    assert [r[0] for r in rows] == ["Biro Umum"]
    people = _table(hr.get("/manage/reports/people").text)
    assert {r[0].split(" 1990")[0] for r in people} == {"Citra Late", "Dedi Idle"}


def test_the_admin_sees_the_national_summary_by_agency(app, pop) -> None:
    admin = staff(app, "admin", None, "198001012005011903")
    page = admin.get("/manage/reports")
    rows = {r[0]: r[1:3] for r in _table(page.text)}
    bkn_name = next(k for k in rows if "Kepegawaian" in k)
    lan_name = next(k for k in rows if "Administrasi" in k)
    assert rows[bkn_name] == ["5", "2"]
    assert rows[lan_name] == ["1", "1"]


def test_jp_recap_against_the_targets(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    page = hr.get("/manage/reports/jp")
    assert page.status_code == 200
    rows = {r[0].split(" 1990")[0]: r[2:] for r in _table(page.text)}
    jp = app.state.catalogue.get("berakhlak").content.jp
    assert rows["Ani Done"][0] == str(jp) and rows["Ani Done"][1] == "≥ 20"  # a minimum
    assert rows["Eka Old"][0] == "0" and rows["Eka Old"][1] == "≤ 24"  # a PPPK's ceiling
    assert rows["Eka Old"][2] == "Dalam batas PPPK"  # never "below" a ceiling
    below = _table(hr.get("/manage/reports/jp?status=below").text)
    assert all("Ani Done" not in r[0] for r in below) or jp < 20
    assert all("Eka Old" not in r[0] for r in below)
    within = _table(hr.get("/manage/reports/jp?status=within").text)
    assert [r[0].split(" 1990")[0] for r in within] == ["Eka Old"]
    assert _table(hr.get("/manage/reports/jp?status=above").text)[0][0].startswith("Tidak ada")
    last_year = hr.get(f"/manage/reports/jp?year={date.today().year - 1}")
    rows = {r[0].split(" 1990")[0]: r[2] for r in _table(last_year.text)}
    assert rows["Eka Old"] == str(jp)


def test_self_assessment_change_per_value(app, pop) -> None:
    self_assessed(app, pop.ids["done"], "asesmen-awal", 2)
    self_assessed(app, pop.ids["done"], "asesmen-awal", 3, number=2)  # the latest counts
    self_assessed(app, pop.ids["done"], "asesmen-lanjutan", 5)
    self_assessed(app, pop.ids["other"], "asesmen-awal", 1)  # another agency: not counted
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    page = hr.get("/manage/reports/self-assessment")
    assert page.status_code == 200
    rows = _table(page.text)
    assert len(rows) == 7  # the seven values
    assert all(r[1] == "3,00" and r[2] == "5,00" and r[3] == "+2,00" for r in rows), rows


def test_hr_views_of_named_people_are_audited(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    hr.get("/manage/reports/people?status=overdue")
    hr.get("/manage/reports/jp")
    with Session(app.state.engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert "report.people" in actions and "report.jp" in actions


def test_the_jp_view_records_the_year_asked_for(app, pop) -> None:
    import json

    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    hr.get(f"/manage/reports/jp?year={date.today().year - 1}&status=below")
    with Session(app.state.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "report.jp")).one()
    detail = json.loads(event.detail)
    assert detail["year"] == date.today().year - 1 and detail["filters"]["status"] == "below"


def _in_reports(app, user_id: int) -> list[dict]:
    from app.main import PERSONAL_DATA

    section = dict((name, fn) for name, fn, _t in PERSONAL_DATA)["audit"]
    with Session(app.state.engine) as s:
        nip = s.get(User, user_id).nip
        return section(session=s, user_id=user_id, nip=nip)["in_reports"]


def test_who_viewed_my_records_is_resolved_from_each_views_scope(app, pop) -> None:
    """A view of a report is one event with the few (agency, unit) pairs it could show; a
    person's download lists the views whose pairs covered where they were at the time."""
    unit_hr = staff(app, "hr", pop.bkn, "198001012005011901", work_unit="Biro SDM")
    admin = staff(app, "admin", None, "198001012005011902")
    unit_hr.get("/manage/reports/people")
    admin.get(f"/manage/reports/jp?agency={pop.lan}")
    with Session(app.state.engine) as s:
        scopes = s.exec(select(AuditScope)).all()
    assert len(scopes) == 2  # one per view, never one per person shown
    done = _in_reports(app, pop.ids["done"])  # BKN, Biro SDM
    assert [(v["action"], v["actor"]) for v in done] == [("report.people", "Siti")]
    assert _in_reports(app, pop.ids["late"]) == []  # Biro Umum: outside the unit's grant
    other = _in_reports(app, pop.ids["other"])  # LAN
    assert [(v["action"], v["filters"]) for v in other] == [
        ("report.jp", {"course": "berakhlak", "agency": str(pop.lan)})
    ]
    # "done" moves to LAN: the admin's later view of LAN covers them, the unit's earlier one
    # stays in their history, and the unit's view after the move does not
    with Session(app.state.engine) as s:
        user = s.get(User, pop.ids["done"])
        user.agency_id, user.work_unit = pop.lan, "Biro SDM"
        s.add(user)
        audit_service.record(
            session=s,
            actor_id=user.id,
            action="account.move",
            subject_type="user",
            subject_id=user.nip,
            detail={
                "from": {"agency_id": pop.bkn, "work_unit": "Biro SDM"},
                "to": {"agency_id": pop.lan, "work_unit": "Biro SDM"},
            },
        )
        s.commit()
    unit_hr.get("/manage/reports/people")
    admin.get(f"/manage/reports/people?agency={pop.lan}")
    done = _in_reports(app, pop.ids["done"])
    assert [(v["action"], v["actor"]) for v in done] == [
        ("report.people", "Siti"),
        ("report.people", "Siti"),
    ]
    assert done[1]["filters"] == {"course": "berakhlak", "agency": str(pop.lan)}


def test_the_audit_prune_takes_a_views_scope_with_it(app, pop) -> None:
    from datetime import timedelta

    from app.clock import utcnow
    from modules.audit.jobs import prune

    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    hr.get("/manage/reports/people")
    with Session(app.state.engine) as s:
        for event in s.exec(select(AuditEvent)).all():
            event.at = utcnow() - timedelta(days=4000)
            s.add(event)
        s.commit()
        prune(type("Ctx", (), {"session": s, "state": app.state})())
        s.commit()
        assert s.exec(select(AuditScope)).all() == []
        assert s.exec(select(AuditEvent)).all() == []


def test_a_pppk_is_within_or_above_a_ceiling_never_below_a_target() -> None:
    from types import SimpleNamespace as Row

    from modules.reports.queries import jp_status

    assert jp_status(Row(jp=0, target=None, ceiling=24)) == "within"
    assert jp_status(Row(jp=24, target=None, ceiling=24)) == "within"
    assert jp_status(Row(jp=30, target=None, ceiling=24)) == "above"
    assert jp_status(Row(jp=19, target=20, ceiling=None)) == "below"
    assert jp_status(Row(jp=20, target=20, ceiling=None)) == "met"
