"""Erasure on request: a learner asks (password and a ticked box), HR of their agency (or an
administrator) approves or refuses with a reason, the worker erases in one transaction. The
learning, quiz answers, mail and logins go; certificates and JP stay without the name; the
verification page shows no personal data; rosters and registration never re-create the
person silently; the NIP leaves the kept records after the retention period."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from app.clock import utcnow
from app.mail import MailMessage
from app.security import hash_password
from modules.accounts import erasure, grants
from modules.accounts.models import AuthSession, ErasedNip, ErasureRequest, User
from modules.audit.models import AuditEvent
from modules.certificates.models import Certificate
from modules.progress.models import CourseCompletion, Enrollment, LessonProgress
from modules.quizzes.models import QuizAttempt
from tests.conftest import PASSWORD, agency_id, csrf_from, login, make_user, register, run_jobs
from tests.modules.accounts.test_roster import SITI, check, csv_bytes, row
from tests.modules.certificates.helpers import complete_in_browserless_client, make_app

NIP = "199001012015031001"  # tests.conftest.nip(), as `register` uses it


def _staff(app, role: str, nip: str, agency: str | None = "LB-BKN") -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    with Session(app.state.engine) as s:
        where = agency_id(client, agency) if agency else None
        user = make_user(
            s,
            nip_number=nip,
            email=f"{role}{nip[-3:]}@example.go.id",
            password_hash=hash_password(PASSWORD),
            agency_id=where or 1,
        )
        grants.grant(session=s, user=user, role=role, agency_id=where)
    assert login(client, nip, PASSWORD).status_code == 303
    return client


def _ask(client: TestClient, **form: str):
    data = {"password": PASSWORD, "confirm": "yes", "reason": "Saya pensiun."} | form
    data["csrf_token"] = csrf_from(client, "/me/erase")
    return client.post("/me/erase", data=data, follow_redirects=False)


def _decide(client: TestClient, request_id: int, decision: str, note: str = ""):
    token = csrf_from(client, "/manage/erasures")
    return client.post(
        f"/manage/erasures/{request_id}",
        data={"decision": decision, "note": note, "csrf_token": token},
        follow_redirects=False,
    )


def _learner_with_certificate(app) -> tuple[TestClient, Certificate]:
    client = TestClient(app, base_url="http://testserver")
    assert register(client).status_code == 303
    complete_in_browserless_client(client)
    with Session(app.state.engine) as s:
        certificate = s.exec(select(Certificate)).one()
        s.expunge(certificate)
    return client, certificate


def test_a_learner_asks_hr_approves_and_the_worker_erases_keeping_the_legal_record(
    db_url, tmp_path
) -> None:
    app = make_app(db_url, tmp_path)
    learner, certificate = _learner_with_certificate(app)
    page = learner.get("/me/erase")
    assert page.status_code == 200 and "Yang dihapus" in page.text and "5 tahun" in page.text
    # a wrong password, or the box not ticked: nothing is recorded
    assert _ask(learner, password="salah-sekali-123").status_code == 422
    assert _ask(learner, confirm="").status_code == 422
    assert _ask(learner).status_code == 303
    assert _ask(learner).status_code == 422  # once is enough
    assert "menunggu keputusan" in learner.get("/me/erase").text
    with Session(app.state.engine) as s:
        entry = s.exec(select(ErasureRequest)).one()
        assert entry.status == erasure.REQUESTED and entry.reason == "Saya pensiun."
        assert s.exec(select(MailMessage).where(MailMessage.purpose == "erasure")).one()
    # HR of another agency neither sees nor decides it
    other = _staff(app, "hr", "198001012005011903", agency="LB-LAN")
    assert "Saya pensiun." not in other.get("/manage/erasures").text
    assert _decide(other, entry.id, "approve").status_code == 404
    hr = _staff(app, "hr", "198001012005011901")
    assert "Saya pensiun." in hr.get("/manage/erasures").text
    assert _decide(hr, entry.id, "approve").status_code == 303
    assert _decide(hr, entry.id, "approve").status_code == 409  # decided already
    run_jobs(app)

    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.nip == NIP)).one()
        assert user.erased_at is not None and not user.active
        assert (user.name, user.email, user.work_unit, user.position) == ("—", None, "", "")
        assert s.exec(select(AuthSession).where(AuthSession.user_id == user.id)).all() == []
        for model in (Enrollment, LessonProgress, QuizAttempt):
            assert s.exec(select(model).where(model.user_id == user.id)).all() == []
        mine = s.exec(select(MailMessage).where(MailMessage.user_id == user.id)).all()
        assert mine == []
        # the JP record and the certificate stay, without the name
        assert s.exec(select(CourseCompletion).where(CourseCompletion.user_id == user.id)).one()
        kept = s.get(Certificate, certificate.id)
        assert kept.holder_name == "" and kept.holder_nip == NIP and kept.jp == certificate.jp
        assert kept.holder_erased_at is not None and kept.revoked_at is None
        done = s.exec(select(MailMessage).where(MailMessage.to_address == "siti@bkn.go.id"))
        assert any("dihapus" in m.subject for m in done)
        actions = {e.action for e in s.exec(select(AuditEvent)).all()}
        assert {"erasure.request", "erasure.approve", "erasure.done"} <= actions
        assert s.get(ErasedNip, erasure.nip_digest(NIP)) is not None
        assert s.get(ErasureRequest, entry.id).reason == ""  # their words went too
    # logged out, and cannot log in again
    assert learner.get("/me/profile", follow_redirects=False).status_code == 303
    assert login(TestClient(app), NIP, PASSWORD).status_code != 303
    # the verification page shows no personal data, by code or by number
    for ref in (certificate.code, certificate.number):
        page = TestClient(app).get(f"/verify/{ref}")
        assert page.status_code == 200 and "Berlaku" in page.text
        assert certificate.holder_name not in page.text and NIP[:6] not in page.text
        assert "dihapus atas permintaan" in page.text
    client = TestClient(app)
    token = csrf_from(client, f"/verify/{certificate.number}")
    check_holder = client.post(
        f"/verify/{certificate.number}", data={"holder": NIP, "csrf_token": token}
    )
    assert check_holder.status_code == 409 and "Cocok" not in check_holder.text
    # registration and rosters do not bring the person back
    again = TestClient(app, base_url="http://testserver")
    refused = register(again, email="siti.baru@bkn.go.id")
    assert refused.status_code == 422 and "dihapus" in refused.text
    with Session(app.state.engine) as s:
        plan = check(s, csv_bytes(row(SITI)))
        assert plan.results[0].reasons[0].column == "nip"
        assert "erased" in plan.results[0].reasons[0].message
    app.state.engine.dispose()


def test_a_refusal_needs_a_reason_the_person_is_mailed_and_a_request_can_be_withdrawn(
    db_url, tmp_path
) -> None:
    app = make_app(db_url, tmp_path)
    learner, _certificate = _learner_with_certificate(app)
    assert _ask(learner).status_code == 303
    admin = _staff(app, "admin", "198001012005011902", agency=None)
    with Session(app.state.engine) as s:
        entry = s.exec(select(ErasureRequest)).one()
    assert _decide(admin, entry.id, "refuse").status_code == 409  # no reason given
    assert _decide(admin, entry.id, "maybe").status_code == 422
    reason = "Anda sedang menjalani pemeriksaan disiplin; data dipertahankan."
    assert _decide(admin, entry.id, "refuse", reason).status_code == 303
    run_jobs(app)
    with Session(app.state.engine) as s:
        assert s.get(ErasureRequest, entry.id).status == erasure.REFUSED
        refused = s.exec(select(MailMessage).where(MailMessage.subject.contains("ditolak"))).one()
        assert reason in refused.text_body
        assert s.exec(select(User).where(User.nip == NIP)).one().erased_at is None
    assert reason in learner.get("/me/erase").text
    # asked again, then withdrawn: nothing happens
    assert _ask(learner).status_code == 303
    token = csrf_from(learner, "/me/erase")
    learner.post("/me/erase/withdraw", data={"csrf_token": token})
    with Session(app.state.engine) as s:
        statuses = [r.status for r in s.exec(select(ErasureRequest).order_by(ErasureRequest.id))]
        assert statuses == [erasure.REFUSED, erasure.WITHDRAWN]
    assert learner.get("/me/profile").status_code == 200
    app.state.engine.dispose()


def test_the_nip_leaves_the_kept_records_after_the_retention_years_but_rosters_still_refuse(
    db_url, tmp_path
) -> None:
    app = make_app(db_url, tmp_path, erasure_keep_years=2)
    learner, certificate = _learner_with_certificate(app)
    _ask(learner)
    admin = _staff(app, "admin", "198001012005011902", agency=None)
    with Session(app.state.engine) as s:
        entry = s.exec(select(ErasureRequest)).one()
    _decide(admin, entry.id, "approve")
    run_jobs(app)
    with Session(app.state.engine) as s:
        s.execute(update(User).values(erased_at=utcnow() - timedelta(days=365 * 2 + 1)).where(
            User.erased_at.is_not(None)))  # fmt: skip
        s.execute(update(Certificate).values(holder_erased_at=utcnow() - timedelta(days=731)))
        s.commit()
    from app.main import _release_erased

    with Session(app.state.engine) as s:
        _release_erased(type("Ctx", (), {"session": s, "state": app.state})())
        s.commit()
        assert s.get(Certificate, certificate.id).holder_nip == ""
        erased = s.exec(select(User).where(User.erased_at.is_not(None))).one()
        assert erased.nip.startswith("E") and len(erased.nip) == 18
        assert s.exec(select(User).where(User.nip == NIP)).first() is None
        plan = check(s, csv_bytes(row(SITI)))
        assert "erased" in plan.results[0].reasons[0].message
    # the person, coming back themselves, may register; then rosters may list them again
    again = TestClient(app, base_url="http://testserver")
    assert register(again, email="siti.baru@bkn.go.id").status_code == 303
    with Session(app.state.engine) as s:
        assert s.get(ErasedNip, erasure.nip_digest(NIP)) is None
    app.state.engine.dispose()


def test_what_outlives_an_erasure_bears_no_name(db_url, tmp_path) -> None:
    """The cached PDF goes; a certificate the worker still owed is issued minimised; the audit
    events about the person keep who and what, not the details; a revocation reason goes; the
    farewell mail names nobody; an officer cannot decide their own request."""
    from modules.certificates import service as certificates_service

    app = make_app(db_url, tmp_path)
    learner, certificate = _learner_with_certificate(app)
    assert learner.get(f"/certificates/{certificate.code}.pdf").status_code == 200
    cache = tmp_path / "pdf"
    assert list(cache.glob(f"{certificate.code}-*.pdf"))
    admin = _staff(app, "admin", "198001012005011902", agency=None)
    with Session(app.state.engine) as s:
        user_id = s.exec(select(User).where(User.nip == NIP)).one().id
        # an officer's reason naming the person, and a certificate still owed (a retrying job)
        kept = s.get(Certificate, certificate.id)
        kept.revoked_at, kept.revoked_reason = utcnow(), "Salah nama: Siti Rahmawati"
        s.add(kept)
        s.commit()
    _ask(learner)
    with Session(app.state.engine) as s:
        entry_id = s.exec(select(ErasureRequest)).one().id
        me = s.exec(select(User).where(User.nip == "198001012005011902")).one()
        own = ErasureRequest(user_id=me.id, status=erasure.REQUESTED)
        s.add(own)
        s.commit()
        own_id = own.id
    refused = _decide(admin, own_id, "approve")
    assert refused.status_code == 409 and "permintaan Anda sendiri" in refused.text
    assert _decide(admin, entry_id, "approve").status_code == 303
    run_jobs(app)
    assert not list(cache.glob(f"{certificate.code}-*.pdf"))
    with Session(app.state.engine) as s:
        assert s.get(Certificate, certificate.id).revoked_reason == ""
        about = s.exec(select(AuditEvent).where(AuditEvent.subject_id == NIP)).all()
        # details gone (the erasure's own events name only the request)
        assert about and all(set(json.loads(e.detail)) <= {"request"} for e in about)
        done = s.exec(select(MailMessage).where(MailMessage.user_id.is_(None))).all()
        farewell = [m for m in done if "dihapus" in m.subject]
        assert farewell and all("Siti" not in m.text_body and m.to_name == "" for m in farewell)
        # owed before the erasure, issued after it: as minimised as the others
        policy = app.state.certificate_policy
        late = certificates_service.issue(
            session=s,
            completion=certificates_service.Owed(
                user_id=user_id,
                course_id="demo",
                completed_at=utcnow(),
                jp=1,
                content_version_id=certificate.content_version_id,
            ),
            course_title="Kursus Contoh",
            content_version="1",
            policy=policy,
            revision=2,
        )
        assert late.holder_name == "" and late.holder_erased_at is not None
    page = TestClient(app).get(f"/verify/{certificate.code}")
    assert "Siti" not in page.text and "Salah nama" not in page.text
    app.state.engine.dispose()


def test_an_open_nip_dispute_holds_the_erasure_and_an_erased_nip_cannot_be_disputed(
    db_url, tmp_path
) -> None:
    from modules.accounts.models import NipDispute

    app = make_app(db_url, tmp_path)
    learner, _certificate = _learner_with_certificate(app)
    _ask(learner)
    admin = _staff(app, "admin", "198001012005011902", agency=None)
    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.nip == NIP)).one()
        s.add(NipDispute(nip=NIP, holder_id=user.id, status="open", claimant_name="Lain",
                         claimant_email="lain@bkn.go.id", statement="x" * 30, locale="id"))  # fmt: skip
        s.commit()
        entry = s.exec(select(ErasureRequest)).one()
    held = _decide(admin, entry.id, "approve")
    assert held.status_code == 409 and "sengketa NIP" in held.text
    with Session(app.state.engine) as s:
        s.exec(select(NipDispute)).one().status = "kept"
        for d in s.exec(select(NipDispute)):
            d.status = "kept"
            s.add(d)
        s.commit()
    assert _decide(admin, entry.id, "approve").status_code == 303
    run_jobs(app)
    claimant = TestClient(app, base_url="http://testserver")
    filed = claimant.post(
        "/nip-dispute",
        data={
            "csrf_token": csrf_from(claimant, "/nip-dispute"),
            "nip": NIP,
            "name": "Orang Lain",
            "email": "lain2@bkn.go.id",
            "statement": "Saya pemilik NIP ini, lihat SK saya.",
        },
    )
    assert filed.status_code == 422 and "dihapus" in filed.text
    app.state.engine.dispose()


def test_two_decisions_at_once_one_wins(db_url, tmp_path) -> None:
    from modules.accounts import decisions

    app = make_app(db_url, tmp_path)
    learner, _certificate = _learner_with_certificate(app)
    _ask(learner)
    with Session(app.state.engine) as s:
        entry_id = s.exec(select(ErasureRequest)).one().id
        decisions.settle(s, ErasureRequest, entry_id, status=erasure.APPROVED)
        s.commit()
    with Session(app.state.engine) as s, pytest.raises(decisions.DecisionError):
        decisions.settle(s, ErasureRequest, entry_id, status=erasure.WITHDRAWN)
    # the person's withdrawal after the approval changes nothing
    token = csrf_from(learner, "/me/erase")
    learner.post("/me/erase/withdraw", data={"csrf_token": token})
    with Session(app.state.engine) as s:
        assert s.get(ErasureRequest, entry_id).status == erasure.APPROVED
    app.state.engine.dispose()
