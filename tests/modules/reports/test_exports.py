"""Exports run as jobs whose state is in the database: CSV, XLSX and SIASN files with the
right rows, only for their owner, served by any process, revived when their runner died."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock
from app.clock import ManualClock
from app.main import create_app, make_worker
from modules.certificates import service as certificates_service
from modules.certificates.models import Certificate
from modules.progress.models import CourseCompletion
from modules.reports import exports, jobs, siasn
from modules.reports.models import ReportJob
from tests import excel
from tests.conftest import csrf_from, run_jobs
from tests.modules.reports.helpers import COURSE, populate, staff

BKN_SIASN = "A5EB03E23C52F6A0E040640A040252AD"  # an instansiId of the kind SIASN gives


@pytest.fixture
def pop(app, tmp_path):
    app.state.settings.export_dir = tmp_path / "exports"
    # a deployment that confirmed its SIASN codes (modules/reports/siasn.py)
    app.state.settings.siasn_jenis_diklat_id = "6"
    app.state.settings.siasn_instansi_ids = (
        f"LB-BKN={BKN_SIASN},LB-LAN=B5EB03E23C52F6A0E040640A040252AD"
    )
    population = populate(app)
    with Session(app.state.engine) as s:
        for key in ("done", "other"):
            completion = s.get(CourseCompletion, (population.ids[key], COURSE))
            certificates_service.owe(
                session=s,
                owed=certificates_service.Owed(
                    user_id=completion.user_id,
                    course_id=COURSE,
                    completed_at=completion.completed_at,
                    jp=completion.jp,
                    content_version_id=completion.content_version_id,
                ),
            )
        s.commit()
    run_jobs(app)  # the worker issues the certificates
    return population


def _export(client: TestClient, choice: str, query: str = "") -> str:
    """Start an export from the people page; a worker writes it. Returns the job's address."""
    token = csrf_from(client, "/manage/reports/people")
    response = client.post(
        f"/manage/reports/exports{query}",
        data={"csrf_token": token, "export": choice},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    for _ in range(2):  # polling shows the job waiting and never starts it
        fragment = client.get(url, headers={"HX-Request": "true"})
        assert 'hx-trigger="every 2s"' in fragment.text and "download" not in fragment.text
    assert run_jobs(client.app) >= 1  # type: ignore[arg-type]
    assert "download" in client.get(url, headers={"HX-Request": "true"}).text
    return url


def _csv(client: TestClient, url: str) -> list[list[object]]:
    """The file as Excel in Indonesian shows it (tests/excel.py), with no formula in it."""
    response = client.get(f"{url}/download")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = excel.read(response.content, "id-ID")
    assert (
        excel.formulas(rows) == [] and excel.formulas(excel.read(response.content, "en-US")) == []
    )
    assert len({len(r) for r in rows}) == 1  # every row splits into the header's columns
    return rows


def test_people_csv_lists_everyone_in_scope_with_status_and_certificate(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    rows = _csv(hr, _export(hr, "people:csv"))
    assert rows[0][:3] == ["NIP", "Nama", "Instansi"]
    body = {r[1]: r for r in rows[1:]}
    assert set(body) == {"Ani Done", "Budi Started", "Citra Late", "Dedi Idle", "Eka Old", "Siti"}
    assert body["Ani Done"][7] == "Selesai" and body["Ani Done"][11].startswith("BA/")
    assert body["Citra Late"][7] == "Terlambat"
    assert body["Budi Started"][7] == "Sedang berjalan" and body["Budi Started"][8]


def test_xlsx_export_opens_in_a_spreadsheet_library(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    url = _export(hr, "people:xlsx")
    response = hr.get(f"{url}/download")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "NIP" and len(rows) == 7
    assert all(isinstance(r[0], str) and len(r[0]) == 18 for r in rows[1:])  # NIP as text


def test_siasn_rows_carry_the_codes_the_certificate_and_hours(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    rows = _csv(hr, _export(hr, "siasn:csv"))
    assert rows[0] == list(exports.SIASN_HEADER)
    assert rows[0][:5] == [
        "nip",
        "nama",
        "instansi_id",
        "jenis_diklat_id",
        "jenis_kursus_sertipikat",
    ]
    assert len(rows) == 2  # Ani's certificate; Fajar's is another agency's
    row = dict(zip(rows[0], rows[1], strict=True))
    jp = app.state.catalogue.get(COURSE).content.jp
    assert row["nama"] == "Ani Done" and row["jumlah_jam"] == jp
    assert row["nomor_sertipikat"].startswith("BA/")
    day = row["tanggal_selesai_kursus"]
    assert len(day) == 10 and day[2] == "-" and row["tahun_kursus"] == int(day[-4:])
    # every code emitted is one of the table's, as the deployment set it
    assert str(row["jenis_diklat_id"]) in siasn.JENIS_DIKLAT
    assert row["jenis_kursus_sertipikat"] == siasn.sertipikat(str(row["jenis_diklat_id"]))
    assert row["instansi_id"] == BKN_SIASN
    with Session(app.state.engine) as s:
        code = s.exec(
            select(Certificate.code).where(Certificate.number == row["nomor_sertipikat"])
        ).one()
    assert row["url_sertipikat"] == f"{app.state.settings.base_url}/verify/{code}"


def test_the_siasn_export_is_refused_while_a_code_is_not_confirmed(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    token = csrf_from(hr, "/manage/reports/people")

    def start():
        data = {"csrf_token": token, "export": "siasn:csv"}
        return hr.post("/manage/reports/exports", data=data, follow_redirects=False)

    app.state.settings.siasn_jenis_diklat_id = ""
    refused = start()
    assert refused.status_code == 422 and "BERAKHLAK_SIASN_JENIS_DIKLAT_ID" in refused.text
    app.state.settings.siasn_jenis_diklat_id = "6"
    app.state.settings.siasn_instansi_ids = "LB-LAN=B5EB03E23C52F6A0E040640A040252AD"
    refused = start()
    assert refused.status_code == 422 and "LB-BKN" in refused.text
    with Session(app.state.engine) as s:
        assert s.exec(select(ReportJob)).all() == []
    app.state.settings.siasn_instansi_ids = f"LB-BKN={BKN_SIASN}"
    assert start().status_code == 303


def test_siasn_settings_that_are_not_codes_stop_the_start(db_url) -> None:
    from tests.conftest import make_settings

    with pytest.raises(ValueError, match="SIASN_JENIS_DIKLAT_ID"):
        create_app(make_settings(db_url, siasn_jenis_diklat_id="99"))
    with pytest.raises(ValueError, match="SIASN_INSTANSI_IDS"):
        create_app(make_settings(db_url, siasn_instansi_ids="LB-BKN=x;drop"))


def test_jp_recap_csv(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    rows = _csv(hr, _export(hr, "jp:csv"))
    assert rows[0][-5:] == [
        "Tahun",
        "JP diperoleh",
        "JP minimum (PNS)",
        "Batas JP (PPPK)",
        "Status",
    ]
    eka = next(r for r in rows if r[1] == "Eka Old")  # a PPPK: a ceiling, never "below"
    assert eka[-4:] == [0, "", 24, "Dalam batas PPPK"]
    ani = next(r for r in rows if r[1] == "Ani Done")  # a PNS: the yearly minimum
    assert ani[-3:-1] == [20, ""]


def test_exports_refuse_other_agencies_and_bad_choices(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    token = csrf_from(hr, "/manage/reports")
    for data, query, status in (
        ({"export": "people:csv"}, f"?agency={pop.lan}", 403),
        ({"export": "people:csv", "agency": str(pop.lan)}, "", 403),
        ({"export": "secrets:csv"}, "", 422),
        ({"export": "siasn:xlsx"}, "", 422),
        ({"export": "people:pdf"}, "", 422),
        ({"export": "people:csv", "since": "kemarin"}, "", 422),
    ):
        response = hr.post(
            f"/manage/reports/exports{query}",
            data={"csrf_token": token, **data},
            follow_redirects=False,
        )
        assert response.status_code == status, (data, query)
    assert hr.post("/manage/reports/exports", data={"export": "people:csv"}).status_code == 403


def test_only_the_owner_sees_and_downloads_an_export(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    url = _export(hr, "people:csv")
    other = staff(app, "hr", pop.bkn, "198001012005011904")
    admin = staff(app, "admin", None, "198001012005011905")
    for client in (other, admin):
        assert client.get(url).status_code == 404
        assert client.get(f"{url}/download").status_code == 404
    listing = hr.get("/manage/reports/exports")
    assert url.rsplit("/", 1)[1] in listing.text


def test_another_process_serves_the_status_and_the_file(app, pop, settings, tmp_path) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    url = _export(hr, "people:csv")
    settings.export_dir = tmp_path / "exports"  # the shared folder
    second = create_app(settings)
    other_process = TestClient(second, base_url="http://testserver")
    other_process.cookies.update(hr.cookies)
    assert "download" in other_process.get(url).text
    assert other_process.get(f"{url}/download").status_code == 200
    second.state.engine.dispose()


def test_an_export_whose_worker_died_is_taken_over_after_its_lease(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    token = csrf_from(hr, "/manage/reports/people")
    url = hr.post(
        "/manage/reports/exports",
        data={"csrf_token": token, "export": "people:csv"},
        follow_redirects=False,
    ).headers["location"]
    with clock.use(ManualClock()) as moment:
        died = make_worker(app.state, name="died")
        assert died.claim() is not None  # took the export, then was killed
        assert run_jobs(app) == 0  # its lease still runs: nobody else may take it
        moment.advance(timedelta(seconds=app.state.settings.job_lease_seconds + 1))
        assert run_jobs(app) >= 1  # the lease ran out: another worker writes the file
    assert len(_csv(hr, url)) == 7


def _user_id(app, nip: str) -> int:
    from modules.accounts.models import User

    with Session(app.state.engine) as s:
        return s.exec(select(User.id).where(User.nip == nip)).one()


def test_names_that_look_like_formulas_are_quoted(app, pop) -> None:
    from modules.accounts.models import User

    with Session(app.state.engine) as s:
        user = s.get(User, pop.ids["idle"])
        user.name = '=HYPERLINK("http://evil","x")'
        s.add(user)
        s.commit()
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    rows = _csv(hr, _export(hr, "people:csv"))
    assert any(r[1] == '\'=HYPERLINK("http://evil","x")' for r in rows)


def test_old_exports_are_cleaned_up(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    url = _export(hr, "people:csv")
    job_id = url.rsplit("/", 1)[1]
    with Session(app.state.engine) as s:
        path = jobs.path_of(app.state.settings, s.get(ReportJob, job_id))
    assert path.exists()
    with clock.use(ManualClock()) as moment:
        moment.advance(timedelta(hours=2))
        run_jobs(app)  # the hourly clean-up: this export is younger than a day
        assert path.exists() and hr.get(url).status_code == 200
        moment.advance(timedelta(hours=23))
        run_jobs(app)
    assert not path.exists()
    assert hr.get(url).status_code == 404


def test_an_export_onto_a_full_disk_fails_cleanly_and_is_not_restarted(app, pop) -> None:
    """The file the export writes leads to /dev/full (every write: no space left)."""
    from app.jobs import Job

    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    token = csrf_from(hr, "/manage/reports/people")
    url = hr.post(
        "/manage/reports/exports",
        data={"csrf_token": token, "export": "people:csv"},
        follow_redirects=False,
    ).headers["location"]
    report_id = url.rsplit("/", 1)[1]
    with Session(app.state.engine) as s:
        queued = s.exec(select(Job).where(Job.key == report_id)).one()
    folder = app.state.settings.export_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{report_id}.csv.{queued.id}-1.part").symlink_to("/dev/full")
    run_jobs(app)
    status = hr.get(url, headers={"HX-Request": "true"})
    assert "tidak dapat ditulis" in status.text and "every 2s" not in status.text
    with Session(app.state.engine) as s:
        assert s.get(ReportJob, report_id).status == "failed"
        assert s.get(Job, queued.id).status == "done"  # an outcome, not a retry loop
    assert run_jobs(app) == 0 and hr.get(f"{url}/download").status_code == 404
