"""HR assigns a course with a due date to an agency, a unit or listed NIPs; learners see it
first; progress already made is kept; another agency or unit is refused; bad input is told."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from modules.audit.models import AuditEvent
from modules.progress.models import CourseAssignment, Enrollment
from tests.conftest import csrf_from, login
from tests.modules.reports.helpers import COURSE, PASSWORD, populate, staff


@pytest.fixture
def pop(app):
    return populate(app)


def _assign(client, **fields: str):
    data = {"csrf_token": csrf_from(client, "/manage/assignments"), "course": COURSE}
    data.update(fields)
    return client.post("/manage/assignments", data=data, follow_redirects=False)


def _due(app, user_id: int):
    with Session(app.state.engine) as s:
        row = s.get(Enrollment, (user_id, COURSE))
        return row.due_on if row else None


def test_assigning_a_unit_enrols_its_people_and_keeps_progress(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    due = date.today() + timedelta(days=60)
    response = _assign(hr, agency=str(pop.bkn), unit="biro sdm", due_on=due.isoformat())
    assert response.status_code == 303
    page = hr.get(response.headers["location"])
    assert "3" in page.text and "notice" in page.text
    for key in ("done", "started", "old"):
        assert _due(app, pop.ids[key]) == due
    assert _due(app, pop.ids["idle"]) is None  # Biro Umum
    with Session(app.state.engine) as s:
        started = s.get(Enrollment, (pop.ids["started"], COURSE))
        assert started.last_lesson_id is not None  # progress kept
        assert s.exec(select(CourseAssignment)).one().people == 3
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "course.assign")).one()


def test_assigning_the_whole_agency_and_again_changes_the_due_date(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    first = date.today() + timedelta(days=10)
    assert _assign(hr, agency=str(pop.bkn), due_on=first.isoformat()).status_code == 303
    assert _due(app, pop.ids["idle"]) == first
    assert _due(app, pop.ids["other"]) is None  # LAN
    later = first + timedelta(days=20)
    assert _assign(hr, agency=str(pop.bkn), due_on=later.isoformat()).status_code == 303
    assert _due(app, pop.ids["idle"]) == later
    with Session(app.state.engine) as s:
        assert (
            len(s.exec(select(Enrollment).where(Enrollment.user_id == pop.ids["idle"])).all()) == 1
        )


def test_assigning_listed_nips_only(app, pop) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    due = (date.today() + timedelta(days=5)).isoformat()
    nips = "199001012015031004\n199001012015031006"  # Dedi (BKN), Fajar (LAN: not in group)
    assert _assign(hr, agency=str(pop.bkn), nips=nips, due_on=due).status_code == 303
    assert _due(app, pop.ids["idle"]) is not None
    assert _due(app, pop.ids["other"]) is None


def test_learners_see_assigned_courses_first_with_the_due_date(app, pop) -> None:
    from app.security import hash_password
    from modules.accounts.models import User

    with Session(app.state.engine) as s:
        idle = s.get(User, pop.ids["idle"])
        idle.password_hash = hash_password(PASSWORD)
        s.add(idle)
        s.commit()
        nip = idle.nip
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    due = date.today() + timedelta(days=3)
    assert _assign(hr, agency=str(pop.bkn), due_on=due.isoformat()).status_code == 303
    from fastapi.testclient import TestClient

    learner = TestClient(app, base_url="http://testserver")
    assert login(learner, nip, PASSWORD).status_code == 303
    learning = learner.get("/me/learning").text
    assert "Ditugaskan oleh instansi Anda" in learning
    assert "Ditugaskan oleh instansi Anda" in learner.get("/").text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"course": "nope"}, "course"),
        ({"agency": "x"}, "agency"),
        ({"due_on": "besok"}, "due_on"),
        ({"due_on": "2001-01-01"}, "due_on"),
        ({"due_on": (date.today() + timedelta(days=800)).isoformat()}, "due_on"),
        ({"due_on": ""}, "due_on"),
        ({"nips": "12345"}, "nips"),
        ({"unit": "Biro Tidak Ada"}, "unit"),
        ({"unit": "\x00"}, "unit"),
    ],
)
def test_bad_input_comes_back_next_to_its_field(app, pop, fields, field) -> None:
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    data = {"agency": str(pop.bkn), "due_on": (date.today() + timedelta(days=9)).isoformat()}
    data.update(fields)
    response = _assign(hr, **data)
    assert response.status_code == 422
    assert f'id="f-{field if field != "due_on" else "due"}"' in response.text
    assert 'class="field invalid"' in response.text
    with Session(app.state.engine) as s:
        assert s.exec(select(CourseAssignment)).first() is None


def test_another_agency_or_unit_is_refused(app, pop) -> None:
    due = (date.today() + timedelta(days=9)).isoformat()
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    assert _assign(hr, agency=str(pop.lan), due_on=due).status_code == 403
    unit_hr = staff(app, "hr", pop.bkn, "198001012005011902", work_unit="Biro Umum")
    assert _assign(unit_hr, agency=str(pop.bkn), due_on=due).status_code == 422  # whole agency
    assert _assign(unit_hr, agency=str(pop.bkn), unit="Biro SDM", due_on=due).status_code == 422
    assert _assign(unit_hr, agency=str(pop.bkn), unit="biro umum", due_on=due).status_code == 303
    assert _due(app, pop.ids["done"]) is None
    assert _due(app, pop.ids["idle"]) is not None
    with Session(app.state.engine) as s:
        assert len(s.exec(select(CourseAssignment)).all()) == 1


def test_assigning_the_people_of_an_applied_roster(app, pop, monkeypatch) -> None:
    from modules.accounts import service as accounts_service

    monkeypatch.setattr(accounts_service, "NIP_CHUNK", 1)  # one statement per NIP: chunks work
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    roster = (
        "nip,nama,email,instansi,unit_kerja,jabatan,golongan,jenis_pegawai\n"
        "199203152019031002,Rina Kartika,rina@bkn.go.id,LB-BKN,Biro Baru,Analis,III/b,PNS\n"
        "199108202020122001,Yusuf Hidayat,yusuf@bkn.go.id,LB-BKN,Biro Baru,Analis,III/a,PNS\n"
    )
    token = csrf_from(hr, "/manage/roster")
    uploaded = hr.post(
        "/manage/roster",
        data={"csrf_token": token},
        files={"file": ("daftar.csv", roster.encode(), "text/csv")},
        follow_redirects=False,
    )
    upload_url = uploaded.headers["location"]
    upload_id = upload_url.rsplit("/", 1)[1]
    # not applied yet: refused
    due = (date.today() + timedelta(days=9)).isoformat()
    early = _assign(hr, agency=str(pop.bkn), roster=upload_id, due_on=due)
    assert early.status_code == 422 and "alert" in early.text
    token = csrf_from(hr, upload_url)
    hr.post(f"{upload_url}/apply", data={"csrf_token": token}, follow_redirects=False)
    assert f"/manage/assignments?roster={upload_id}" in hr.get(upload_url).text
    form = hr.get(f"/manage/assignments?roster={upload_id}").text
    assert "daftar.csv" in form and 'name="nips"' not in form
    assert _assign(hr, agency=str(pop.bkn), roster=upload_id, due_on=due).status_code == 303
    with Session(app.state.engine) as s:
        assigned = s.exec(select(Enrollment).where(Enrollment.assigned_at.is_not(None))).all()
        assert len(assigned) == 2
        record = s.exec(select(CourseAssignment)).one()
        assert record.people == 2 and record.roster_upload_id == upload_id
    assert _due(app, pop.ids["idle"]) is None
    other = staff(app, "hr", pop.bkn, "198001012005011904")
    refused = _assign(other, agency=str(pop.bkn), roster=upload_id, due_on=due)
    assert refused.status_code == 422  # someone else's roster is not found


def test_an_old_roster_goes_but_its_assignment_stays(app, pop) -> None:
    from datetime import UTC, datetime

    from modules.accounts import roster_uploads
    from modules.accounts.models import RosterUpload

    with Session(app.state.engine) as s:
        hr_id = pop.ids["done"]
        s.add(
            RosterUpload(
                id="c" * 32,
                user_id=hr_id,
                filename="lama.csv",
                sha256="0" * 64,
                content=b"",
                created_at=datetime.now(UTC) - timedelta(days=2),
            )
        )
        s.add(
            CourseAssignment(
                course_id=COURSE,
                agency_id=pop.bkn,
                roster_upload_id="c" * 32,
                due_on=date.today(),
                people=1,
            )
        )
        s.commit()
        roster_uploads.purge(session=s)
        s.commit()
        assert s.get(RosterUpload, "c" * 32) is None
        assert s.exec(select(CourseAssignment)).one().roster_upload_id is None
