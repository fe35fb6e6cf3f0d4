"""A person on an agency's roster who changes agency or work unit on their profile waits for
HR of that roster's agency: meanwhile they stay where they were (in reports too); approved,
the move is made, audited with who approved, and the old roster's listing dropped; refused,
with a reason the person is mailed. Anyone else's HR cannot decide it."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.mail import MailMessage
from app.security import hash_password
from modules.accounts import grants, moves
from modules.accounts.models import MoveRequest, RosterEntry, User
from modules.audit.models import AuditEvent
from tests.conftest import PASSWORD, agency_id, csrf_from, login, make_user, nip, register


def _staff(app, nip_number: str, agency: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    with Session(app.state.engine) as s:
        where = agency_id(client, agency)
        user = make_user(
            s,
            nip_number=nip_number,
            email=f"hr{nip_number[-3:]}@example.go.id",
            password_hash=hash_password(PASSWORD),
            agency_id=where,
        )
        grants.grant(session=s, user=user, role="hr", agency_id=where)
    assert login(client, nip_number, PASSWORD).status_code == 303
    return client


def _on_the_roster_asking_to_move(app, client: TestClient) -> int:
    register(client)
    bkn, lan = agency_id(client, "LB-BKN"), agency_id(client, "LB-LAN")
    with Session(app.state.engine) as s:
        s.add(RosterEntry(nip=nip(), agency_id=bkn, work_unit="Direktorat Pengembangan"))
        s.commit()
    token = csrf_from(client, "/me/profile")
    form = {
        "csrf_token": token,
        "name": "Siti Rahmawati",
        "email": "siti@bkn.go.id",
        "agency": "Lembaga Administrasi Negara",
        "work_unit": "Pusat Pembinaan",
        "position": "Analis Kebijakan",  # saved at once: only the move waits
        "grade": "III/a",
    }
    saved = client.post("/me/profile", data=form, follow_redirects=False)
    assert saved.headers["location"] == "/me/profile?saved=move-pending"
    return lan


def test_a_move_waits_for_the_rosters_hr_who_approves_it(client, app) -> None:
    lan = _on_the_roster_asking_to_move(app, client)
    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.nip == nip())).one()
        assert user.agency_id == agency_id(client, "LB-BKN")  # still where the roster says
        assert user.work_unit == "Direktorat Pengembangan" and user.position == "Analis Kebijakan"
        move = s.exec(select(MoveRequest)).one()
        assert move.status == moves.REQUESTED and move.to_agency_id == lan
    page = client.get("/me/profile").text
    assert "menunggu persetujuan" in page and "Pusat Pembinaan" in page
    # HR of the agency the person moves to cannot decide: the roster's agency does
    other = _staff(app, "198001012005011904", "LB-LAN")
    assert "Siti Rahmawati" not in other.get("/manage/moves").text
    token = csrf_from(other, "/manage/moves")
    data = {"decision": "approve", "csrf_token": token}
    assert other.post(f"/manage/moves/{move.id}", data=data).status_code == 404
    hr = _staff(app, "198001012005011901", "LB-BKN")
    assert "Siti Rahmawati" in hr.get("/manage/moves").text
    token = csrf_from(hr, "/manage/moves")
    data = {"decision": "approve", "csrf_token": token}
    assert hr.post(f"/manage/moves/{move.id}", data=data, follow_redirects=False).status_code == 303
    assert hr.post(f"/manage/moves/{move.id}", data=data).status_code == 409
    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.nip == nip())).one()
        assert (user.agency_id, user.work_unit) == (lan, "Pusat Pembinaan")
        assert s.get(RosterEntry, nip()) is None  # the old roster no longer holds them
        (moved,) = s.exec(select(AuditEvent).where(AuditEvent.action == "account.move")).all()
        officer = s.exec(select(User).where(User.nip == "198001012005011901")).one()
        assert moved.actor_id == officer.id
        assert json.loads(moved.detail)["to"] == {"agency_id": lan, "work_unit": "Pusat Pembinaan"}
        assert s.exec(select(MailMessage).where(MailMessage.purpose == "move")).one()
    assert "menunggu persetujuan" not in client.get("/me/profile").text


def test_a_refusal_needs_a_reason_and_a_move_can_be_withdrawn(client, app) -> None:
    _on_the_roster_asking_to_move(app, client)
    hr = _staff(app, "198001012005011901", "LB-BKN")
    with Session(app.state.engine) as s:
        move = s.exec(select(MoveRequest)).one()
    token = csrf_from(hr, "/manage/moves")
    refuse = {"decision": "refuse", "csrf_token": token}
    assert hr.post(f"/manage/moves/{move.id}", data=refuse).status_code == 409
    reason = "Belum ada SK mutasi."
    answer = hr.post(f"/manage/moves/{move.id}", data={**refuse, "note": reason})
    assert answer.status_code == 200  # followed to the list
    with Session(app.state.engine) as s:
        assert s.get(MoveRequest, move.id).status == moves.REFUSED
        mail = s.exec(select(MailMessage).where(MailMessage.purpose == "move")).one()
        assert reason in mail.text_body and "ditolak" in mail.subject
        assert s.exec(select(User).where(User.nip == nip())).one().work_unit == (
            "Direktorat Pengembangan"
        )
    # asked again, then withdrawn
    _ask_again(client)
    token = csrf_from(client, "/me/profile")
    client.post("/me/move/withdraw", data={"csrf_token": token})
    with Session(app.state.engine) as s:
        statuses = [m.status for m in s.exec(select(MoveRequest).order_by(MoveRequest.id))]
        assert statuses == [moves.REFUSED, moves.WITHDRAWN]


def _ask_again(client: TestClient) -> None:
    token = csrf_from(client, "/me/profile")
    form = {
        "csrf_token": token,
        "name": "Siti Rahmawati",
        "email": "siti@bkn.go.id",
        "agency": "Badan Kepegawaian Negara",
        "work_unit": "Biro Umum",
        "position": "Analis Kebijakan",
        "grade": "III/a",
    }
    assert client.post("/me/profile", data=form, follow_redirects=False).status_code == 303


def test_a_move_asked_before_the_person_moved_otherwise_is_not_approved(client, app) -> None:
    _on_the_roster_asking_to_move(app, client)
    hr = _staff(app, "198001012005011901", "LB-BKN")
    with Session(app.state.engine) as s:
        move_id = s.exec(select(MoveRequest)).one().id
        user = s.exec(select(User).where(User.nip == nip())).one()
        user.work_unit = "Biro Umum"  # the roster placed them elsewhere meanwhile
        s.add(user)
        s.commit()
    token = csrf_from(hr, "/manage/moves")
    stale = hr.post(f"/manage/moves/{move_id}", data={"decision": "approve", "csrf_token": token})
    assert stale.status_code == 409 and "sudah berpindah" in stale.text


def test_a_roster_moving_someone_is_recorded_as_their_move(session) -> None:
    from tests.modules.accounts.test_roster import SITI, apply, csv_bytes, row

    apply(session, csv_bytes(row(SITI)))
    apply(session, csv_bytes(row(SITI, unit_kerja="Bidang Baru")))
    (moved,) = session.exec(select(AuditEvent).where(AuditEvent.action == "account.move")).all()
    detail = json.loads(moved.detail)
    assert moved.subject_id == SITI[0]
    assert (detail["from"]["work_unit"], detail["to"]["work_unit"]) == ("Bidang A", "Bidang Baru")
