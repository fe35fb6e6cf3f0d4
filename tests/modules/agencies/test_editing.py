"""Admins keep the agency list: edit and add in the browser, import a CSV (dry run, then all
valid rows in one go, idempotent), with clear errors for bad files and rows."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.security import hash_password
from modules.accounts import grants
from modules.agencies import editing
from modules.agencies import service as agencies_service
from modules.agencies.models import Agency
from modules.audit.models import AuditEvent
from tests.conftest import SECRET, csrf_from, login, make_user

PASSWORD = "kata-sandi-panjang-sekali-9"
GOOD = (
    "code,name,kind,parent_code\n"
    "KB-9901,Kabupaten Contoh Satu,kabupaten,P32\n"
    "KT-9902,Kota Contoh Dua,kota,\n"
    "LB-BKN,Badan Kepegawaian Negara,lembaga,\n"
)


def _import(app, text: str | bytes, apply: bool) -> editing.ImportReport:
    raw = text.encode() if isinstance(text, str) else text
    with Session(app.state.engine) as session:
        return editing.import_csv(session=session, raw=raw, apply=apply, actor_id=None, address="")


def test_a_dry_run_changes_nothing_and_applying_twice_changes_nothing_the_second_time(app) -> None:
    dry = _import(app, GOOD, apply=False)
    assert [r.outcome for r in dry.rows] == ["created", "created", "unchanged"]
    with Session(app.state.engine) as session:
        assert agencies_service.get_by_code(session=session, code="KB-9901") is None
    first = _import(app, GOOD, apply=True)
    assert first.count("created") == 2
    again = _import(app, GOOD, apply=True)
    assert [r.outcome for r in again.rows] == ["unchanged"] * 3
    renamed = _import(app, GOOD.replace("Kota Contoh Dua", "Kota Contoh Kedua"), apply=True)
    assert [r.outcome for r in renamed.rows] == ["unchanged", "updated", "unchanged"]
    with Session(app.state.engine) as session:
        assert agencies_service.get_by_code(session=session, code="KT-9902").name == (
            "Kota Contoh Kedua"
        )
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "agency.import")).all()
        assert len(events) == 2  # the unchanged import recorded nothing


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\xff\xfecode,name", "The file is not UTF-8 text"),
        (b"code;name;kind;parent_code\nKB-1;X;kota;\n", "The columns are separated by ';'"),
        (b"kode,nama\nKB-1,X\n", "Missing columns"),
        (b"x" * (editing.MAX_BYTES + 1), "The file is larger than 2 MB"),
        (("code,name,kind\n" + "KB-1,Nama Kota,kota\n" * 20_001).encode(), "more than 20,000 rows"),
    ],
)
def test_bad_files_are_refused_whole(app, raw, problem) -> None:
    report = _import(app, raw, apply=True)
    assert report.problem and problem in report.problem
    with Session(app.state.engine) as session:
        assert agencies_service.get_by_code(session=session, code="KB-1") is None


def test_bad_rows_are_reported_by_line_and_column_and_the_rest_applies(app) -> None:
    text = (
        "code,name,kind,parent_code\n"
        "kb 1,Nama,kabupaten,\n"  # bad code
        "KB-9903,X,kabupaten,\n"  # name too short
        "KB-9904,Kabupaten Baru,desa,\n"  # unknown kind
        "KB-9905,Kabupaten Lain,kabupaten,TIDAK-ADA\n"  # unknown parent
        "KB-9906,Kabupaten Sah,kabupaten,\n"
        "KB-9906,Kabupaten Sah Lagi,kabupaten,\n"  # twice
    )
    report = _import(app, text, apply=True)
    rejected = {(r.line, *r.reasons) for r in report.rows if r.outcome == "rejected"}
    assert rejected == {
        (2, "code"),
        (3, "name"),
        (4, "kind"),
        (5, "parent_code"),
        (7, "code"),
    }
    with Session(app.state.engine) as session:
        assert agencies_service.get_by_code(session=session, code="KB-9906").name == (
            "Kabupaten Sah"
        )


def _admin(app) -> TestClient:
    with Session(app.state.engine) as session:
        admin = make_user(
            session,
            nip_number="198001012005011121",
            email="admin@bkn.go.id",
            password_hash=hash_password(PASSWORD),
        )
        grants.grant(session=session, user=admin, role="admin")
    client = TestClient(app, base_url="http://testserver")
    assert login(client, "198001012005011121", PASSWORD).status_code == 303
    return client


def test_an_admin_adds_edits_and_imports_in_the_browser(app) -> None:
    client = _admin(app)
    token = csrf_from(client, "/admin/agencies/new")
    refused = client.post(
        "/admin/agencies/new", data={"csrf_token": token, "code": "x", "name": "", "kind": "x"}
    )
    assert refused.status_code == 422 and refused.text.count('class="error"') >= 3
    taken = client.post(
        "/admin/agencies/new",
        data={"csrf_token": token, "code": "LB-BKN", "name": "Tiruan", "kind": "lembaga"},
    )
    assert taken.status_code == 422 and "sudah ada" in taken.text
    made = client.post(
        "/admin/agencies/new",
        data={"csrf_token": token, "code": "kb-9907", "name": "Kabupaten Uji", "kind": "kabupaten"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    with Session(app.state.engine) as session:
        agency = agencies_service.get_by_code(session=session, code="KB-9907")
        assert agency is not None and agency.active
    page = f"/admin/agencies/{agency.id}"
    saved = client.post(
        page,
        data={
            "csrf_token": token,
            "name": "Kabupaten Uji Coba",
            "kind": "kabupaten",
            "active": "0",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with Session(app.state.engine) as session:
        agency = session.get(Agency, agency.id)
        assert (
            agency.name == "Kabupaten Uji Coba" and not agency.active and agency.code == "KB-9907"
        )
        assert agency.id not in {a.id for a in agencies_service.list_active(session=session)}
    assert "Kabupaten Uji Coba" in client.get("/admin/agencies", params={"q": "uji"}).text
    dry = client.post(
        "/admin/agencies/import",
        data={"csrf_token": token},
        files={"file": ("instansi.csv", GOOD.encode(), "text/csv")},
    )
    assert dry.status_code == 200 and "Uji coba" in dry.text and "2 baru" in dry.text
    with Session(app.state.engine) as session:
        assert agencies_service.get_by_code(session=session, code="KB-9901") is None
    applied = client.post(
        "/admin/agencies/import", data={"csrf_token": token, "apply": "1", "csv_text": GOOD}
    )
    assert applied.status_code == 200 and "Diterapkan" in applied.text
    with Session(app.state.engine) as session:
        assert agencies_service.get_by_code(session=session, code="KB-9901") is not None
    bad = client.post(
        "/admin/agencies/import",
        data={"csrf_token": token},
        files={"file": ("instansi.csv", b"kode;nama\n", "text/csv")},
    )
    assert bad.status_code == 422


def test_import_from_the_command_line(app, db_url, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", db_url)
    monkeypatch.setenv("BERAKHLAK_SECRET_KEY", SECRET)
    good = tmp_path / "instansi.csv"
    good.write_text(GOOD)
    run = CliRunner()
    dry = run.invoke(cli, ["--lang", "en", "agencies", "import", str(good)])
    assert dry.exit_code == 0 and "dry run: created 2, updated 0, unchanged 1" in dry.output
    done = run.invoke(cli, ["--lang", "en", "agencies", "import", str(good), "--apply"])
    assert done.exit_code == 0 and "applied: created 2" in done.output
    broken = tmp_path / "rusak.csv"
    broken.write_text("code,name,kind,parent_code\nKB-9908,X,kota,\n")
    result = run.invoke(cli, ["--lang", "en", "agencies", "import", str(broken)])
    assert result.exit_code == 1 and f"{broken}:2: name:" in result.output
    missing = run.invoke(cli, ["--lang", "en", "agencies", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2


def test_an_empty_active_cell_keeps_the_agency_as_it_is(app) -> None:
    with Session(app.state.engine) as session:
        bkn = agencies_service.get_by_code(session=session, code="LB-BKN")
        assert bkn.active
    text = "code,name,kind,parent_code,active\nLB-BKN,Badan Kepegawaian Negara,lembaga,,\n"
    report = _import(app, text, apply=True)
    assert [r.outcome for r in report.rows] == ["unchanged"]
    odd = _import(app, text.replace(",,\n", ",,ya\n"), apply=True)
    assert odd.rows[0].outcome == "rejected" and "active" in odd.rows[0].reasons
    off = _import(app, text.replace(",,\n", ",,0\n"), apply=True)
    assert off.rows[0].outcome == "updated"
    with Session(app.state.engine) as session:
        assert not agencies_service.get_by_code(session=session, code="LB-BKN").active


def test_an_oversized_upload_gets_a_page_for_browsers(app) -> None:
    with TestClient(app, base_url="http://testserver") as client:
        response = client.post(
            "/admin/agencies/import",
            files={"file": ("besar.csv", b"x" * 1_200_000, "text/csv")},
            headers={"Accept": "text/html"},
        )
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/html")
        assert "terlalu besar" in response.text and "1 MB" in response.text
        api = client.post("/api/v1/credentials/verify", content=b"x" * 1_200_000)
        assert api.status_code == 413 and api.headers["content-type"] == "application/problem+json"


def test_the_agency_list_starts_with_ministries_like_the_pickers(app) -> None:
    client = _admin(app)
    page = client.get("/admin/agencies").text
    first = page.index("<tbody>")
    assert page.index("Kementerian", first) < page.index("Pemerintah Kabupaten", first)
