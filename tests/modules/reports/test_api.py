"""The report API: the same figures as the report pages on the same population, cursor pages,
scope (a token of another agency's HR never sees BKN's people), tokens only (a session cookie
is not enough), strict parameters as problem+json, the audit of named people, and OpenAPI."""

from __future__ import annotations

import re
from datetime import date

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from modules.audit.models import AuditEvent
from tests.modules.reports.api_helpers import bearer, token_for
from tests.modules.reports.helpers import self_assessed, staff

HR_NIP = "198001012005011901"
ADMIN_NIP = "198001012005011903"
LAN_HR_NIP = "198001012005011904"
BASE = "/api/v1/reports"


@pytest.fixture
def pop(app):
    from tests.modules.reports.helpers import populate

    return populate(app)


@pytest.fixture
def hr(app, pop) -> tuple[TestClient, dict[str, str]]:
    """BKN's HR officer: a browser session for the pages, and a token for the API."""
    page = staff(app, "hr", pop.bkn, HR_NIP)
    return page, bearer(token_for(app, HR_NIP))


def _api(app, url: str, headers: dict[str, str]):
    return TestClient(app).get(url, headers=headers)


def _table(html: str, index: int = 0) -> list[list[str]]:
    soup = BeautifulSoup(html, "html.parser")
    table = soup.select("table.list")[index]
    return [[c.get_text(" ", strip=True) for c in r.select("td")] for r in table.select("tbody tr")]


def _nip(cell: str) -> str:
    return re.search(r"\b\d{18}\b", cell).group(0)


def _nip_of(app, user_id: int) -> str:
    from modules.accounts.models import User

    with Session(app.state.engine) as s:
        return s.get(User, user_id).nip


def _walk(app, url: str, headers: dict[str, str]) -> tuple[list[dict], int]:
    """Every item of a paged endpoint, following next_cursor; and the number of pages."""
    items, pages, cursor = [], 0, None
    while True:
        sep = "&" if "?" in url else "?"
        response = _api(app, url + (f"{sep}cursor={cursor}" if cursor else ""), headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_completion_matches_the_report_page(app, hr) -> None:
    page, token = hr
    body = _api(app, f"{BASE}/completion", token).json()
    assert body["group_by"] == "unit" and body["course"] == "berakhlak"
    html = page.get("/manage/reports").text
    rows = {r[0]: r[1:] for r in _table(html)}
    assert {g["key"] for g in body["groups"]} == set(rows)
    for group in body["groups"]:
        # people, completed, %, in progress, overdue, not started, assigned (as on the page)
        shown = rows[group["key"]][:7]
        got = [
            group["people"],
            group["completed"],
            group["rate"],
            group["in_progress"],
            group["overdue"],
            group["not_started"],
            group["assigned"],
        ]
        # the page writes them the Indonesian way (66.7 is 66,7; all are below a thousand)
        assert [str(v).replace(".", ",") for v in got] == shown, group
    assert body["totals"]["people"] == 6 and body["totals"]["completed"] == 2
    modules = _table(html, 1)
    assert [m["completed"] for m in body["modules"]] == [int(r[2]) for r in modules]
    assert body["modules"][0]["completed"] == 3
    # Ani's completion yesterday; Eka's, 400 days ago, is outside the 12 months
    assert len(body["months"]) == 12 and sum(m["completed"] for m in body["months"]) == 1
    assert body["months"][-1]["month"] == date.today().strftime("%Y-%m")
    by_type = _api(app, f"{BASE}/completion?group=employment_type", token).json()
    counts = {g["key"]: (g["people"], g["completed"]) for g in by_type["groups"]}
    assert counts["PPPK"] == (1, 1)
    last_year = date.today().replace(year=date.today().year - 1, month=12, day=31).isoformat()
    old = _api(app, f"{BASE}/completion?until={last_year}", token).json()
    assert {g["key"]: g["completed"] for g in old["groups"]}["Biro SDM"] == 1
    assert old["filters"]["until"] == last_year


def test_the_admin_gets_the_national_summary_by_agency(app, pop) -> None:
    staff(app, "admin", None, ADMIN_NIP)
    body = _api(app, f"{BASE}/completion", bearer(token_for(app, ADMIN_NIP))).json()
    assert body["group_by"] == "agency"
    groups = {int(g["key"]): g for g in body["groups"]}
    assert (groups[pop.bkn]["people"], groups[pop.bkn]["completed"]) == (5, 2)
    assert "Kepegawaian" in groups[pop.bkn]["label"]
    assert (groups[pop.lan]["people"], groups[pop.lan]["completed"]) == (1, 1)


def test_people_match_the_page_and_cursor_pages_walk_everyone_once(app, hr) -> None:
    page, token = hr
    items, pages = _walk(app, f"{BASE}/people?limit=2", token)
    assert pages == 3
    names = [i["name"] for i in items]
    assert len(names) == 6 and len({i["nip"] for i in items}) == 6
    shown = [_nip(r[0]) for r in _table(page.get("/manage/reports/people").text)]
    assert [i["nip"] for i in items] == shown  # the same people in the same order
    assert names[:5] == ["Ani Done", "Budi Started", "Citra Late", "Dedi Idle", "Eka Old"]
    assert "Fajar Other" not in names
    everyone = _api(app, f"{BASE}/people", token).json()
    assert everyone["next_cursor"] is None and everyone["items"] == items
    done = next(i for i in items if i["name"] == "Ani Done")
    assert done["status"] == "completed" and done["jp"] > 0 and done["completed_at"]
    assert done["unit"] == "Biro SDM" and done["employment_type"] == "PNS"
    late = _api(app, f"{BASE}/people?status=overdue", token).json()["items"]
    assert [i["name"] for i in late] == ["Citra Late"] and late[0]["due_on"]
    unit = _api(app, f"{BASE}/people?unit=biro%20umum", token).json()["items"]
    assert {i["name"] for i in unit} == {"Citra Late", "Dedi Idle"}
    found = _api(app, f"{BASE}/people?q=199001012015031002", token).json()["items"]
    assert [i["name"] for i in found] == ["Budi Started"]


def test_jp_recap_matches_the_page(app, hr) -> None:
    page, token = hr
    jp = app.state.catalogue.get("berakhlak").content.jp
    body = _api(app, f"{BASE}/jp?limit=2", token).json()
    assert body["year"] == date.today().year and body["targets"] == {"PNS": 20, "PPPK": 24}
    assert body["summary"]["people"] == 6 and body["summary"]["jp"] == jp
    items, pages = _walk(app, f"{BASE}/jp?limit=2", token)
    assert pages == 3 and len({i["nip"] for i in items}) == 6
    rows = {_nip(r[0]): r[2:4] for r in _table(page.get("/manage/reports/jp").text)}
    assert [i["nip"] for i in items] == list(rows)
    for item in items:  # the page: "≥ minimum" for a PNS, "≤ ceiling" for a PPPK
        limit = f"≥ {item['target']}" if item["ceiling"] is None else f"≤ {item['ceiling']}"
        assert [str(item["jp"]), limit] == rows[item["nip"]], item
    eka = next(i for i in items if i["name"] == "Eka Old")  # a PPPK: a ceiling, not a target
    assert (eka["jp"], eka["target"], eka["ceiling"], eka["status"]) == (0, None, 24, "within")
    later = _api(app, f"{BASE}/jp?limit=2&cursor={body['next_cursor']}", token).json()
    assert later["summary"] is None
    last_year = _api(app, f"{BASE}/jp?year={date.today().year - 1}", token).json()
    assert {i["name"]: i["jp"] for i in last_year["items"]}["Eka Old"] == jp
    below = _api(app, f"{BASE}/jp?status=below", token).json()
    assert all(i["status"] == "below" for i in below["items"])
    assert below["summary"]["people"] == len(below["items"])


def test_self_assessment_matches_the_page(app, hr, pop) -> None:
    page, token = hr
    self_assessed(app, pop.ids["done"], "asesmen-awal", 3)
    self_assessed(app, pop.ids["done"], "asesmen-lanjutan", 5)
    self_assessed(app, pop.ids["other"], "asesmen-awal", 1)  # another agency: not counted
    body = _api(app, f"{BASE}/self-assessment", token).json()
    assert body["before_quiz"] == "asesmen-awal" and body["after_quiz"] == "asesmen-lanjutan"
    rows = _table(page.get("/manage/reports/self-assessment").text)
    assert len(body["values"]) == len(rows) == 7
    for value, row in zip(body["values"], rows, strict=True):
        assert (value["before"], value["after"], value["change"]) == (3.0, 5.0, 2.0)
        assert row[1:4] == ["3,00", "5,00", "+2,00"]  # the page in Indonesian
        assert value["answers_before"] > 0


def test_hr_of_another_agency_never_sees_bkn_people(app, pop) -> None:
    staff(app, "hr", pop.lan, LAN_HR_NIP)
    token = bearer(token_for(app, LAN_HR_NIP))
    for path in ("completion", "people", "jp", "self-assessment"):
        refused = _api(app, f"{BASE}/{path}?agency={pop.bkn}", token)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 403
    people = _api(app, f"{BASE}/people", token).json()["items"]
    # LAN's people: Fajar and the officer themself (a learner of LAN too)
    assert {p["nip"] for p in people} == {_nip_of(app, pop.ids["other"]), LAN_HR_NIP}
    assert all("Kepegawaian" not in p["agency"] for p in people)
    jp = _api(app, f"{BASE}/jp", token).json()
    assert all("Kepegawaian" not in p["agency"] for p in jp["items"])
    completion = _api(app, f"{BASE}/completion", token).json()
    assert completion["totals"]["people"] == 2  # Fajar and the officer themself


def test_a_unit_scoped_token_sees_only_that_unit(app, pop) -> None:
    nip = "198001012005011902"
    staff(app, "hr", pop.bkn, nip, work_unit="Biro Umum")
    token = bearer(token_for(app, nip))
    people = _api(app, f"{BASE}/people", token).json()["items"]
    assert {p["name"] for p in people} == {"Citra Late", "Dedi Idle"}


def test_a_session_cookie_alone_does_not_open_the_api(app, hr) -> None:
    page, _token = hr
    for path in ("completion", "people", "jp", "self-assessment"):
        response = page.get(f"{BASE}/{path}")
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("people?limit=0", ["limit"]),
        ("people?limit=501", ["limit"]),
        ("people?limit=many", ["limit"]),
        ("people?status=lost", ["status"]),
        ("people?grade=Z/z&type=honorer", ["grade", "type"]),
        ("people?since=2026-13-40", ["since"]),
        ("people?since=2026-06-01&until=2026-01-01", ["until"]),
        ("people?agency=abc", ["agency"]),
        ("people?course=nope", ["course"]),
        ("people?unit=%00", ["unit"]),
        ("people?agency_id=5", ["agency_id"]),
        ("completion?group=colour", ["group"]),
        ("completion?status=lost", ["status"]),
        ("jp?year=19", ["year"]),
        ("jp?status=completed", ["status"]),
        ("self-assessment?cursor=x", ["cursor"]),
    ],
)
def test_bad_parameters_get_422_problem_naming_them(app, hr, query, names) -> None:
    _page, token = hr
    response = _api(app, f"{BASE}/{query}", token)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["title"]
    for name in names:
        assert name in body["detail"], (name, body["detail"])
    assert {e["loc"][-1] for e in body["errors"]} >= set(names)


def test_a_bad_cursor_is_400_problem(app, hr) -> None:
    _page, token = hr
    for cursor in ("garbage", "WyJhIiwiYiJd", "x" * 500):  # WyJh…: ["a","b"], not (name, id)
        for path in ("people", "jp"):
            response = _api(app, f"{BASE}/{path}?cursor={cursor}", token)
            assert response.status_code == 400, (path, cursor)
            assert response.headers["content-type"] == "application/problem+json"
            assert "cursor" in response.json()["detail"]


def test_reads_of_named_people_are_audited_with_the_token(app, hr) -> None:
    _page, token = hr
    prefix = token["Authorization"].removeprefix("Bearer ")[:11]
    _api(app, f"{BASE}/people?status=overdue", token)
    _api(app, f"{BASE}/jp?year={date.today().year}", token)
    _api(app, f"{BASE}/completion", token)
    with Session(app.state.engine) as s:
        events = [e for e in s.exec(select(AuditEvent)).all() if e.action.startswith("api.")]
    assert [e.action for e in events] == ["api.people", "api.jp"]
    people, jp = events
    assert prefix in people.detail and '"status": "overdue"' in people.detail
    assert people.address and people.actor_id is not None
    assert prefix in jp.detail and str(date.today().year) in jp.detail


def test_openapi_documents_the_reports_with_the_bearer_scheme(client) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "bk_…",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path in ("completion", "people", "jp", "self-assessment"):
        operation = spec["paths"][f"{BASE}/{path}"]["get"]
        assert operation["security"] == [{"bearerAuth": []}], path
        assert {"200", "401", "403", "422"} <= set(operation["responses"]), path
    people = spec["paths"][f"{BASE}/people"]["get"]
    params = {p["name"]: p for p in people["parameters"]}
    assert {"course", "agency", "unit", "grade", "type", "status", "q", "cursor", "limit"} <= set(
        params
    )
    assert params["limit"]["schema"]["maximum"] == 500
    assert "PeopleOut" in spec["components"]["schemas"]
