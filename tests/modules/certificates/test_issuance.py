"""Issuing certificates against the real database: once per completion, numbered per year
without gaps or duplicates under concurrency, a snapshot of the holder, revoke and re-issue
with an audit trail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.clock import utcnow
from app.main import make_worker
from modules.audit import service as audit_service
from modules.certificates import service
from modules.certificates.models import Certificate, CertificateCounter
from tests.modules.certificates.helpers import completed_user, issue, make_app


@pytest.fixture
def app(db_url, tmp_path):
    application = make_app(db_url, tmp_path)
    yield application
    application.state.engine.dispose()


def _workers_at_once(app, count: int = 8) -> None:
    """`count` workers draining the same queue at the same moment."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        list(
            pool.map(lambda i: make_worker(app.state, name=f"w{i}").run_until_idle(), range(count))
        )


def test_a_completion_is_issued_one_certificate_even_by_workers_at_once(app) -> None:
    user_id = completed_user(app)
    with Session(app.state.engine) as session:  # owed, visible, not issued yet
        assert [state for _o, state in service.owed_to(session=session, user_id=user_id)] == [
            "queued"
        ]
    _workers_at_once(app)
    with Session(app.state.engine) as session:
        assert len(session.exec(select(Certificate)).all()) == 1
        assert session.get(CertificateCounter, utcnow().year).last == 1  # no number wasted
        assert service.owed_to(session=session, user_id=user_id) == []
    assert issue(app, user_id).serial == 1  # running the worker again changes nothing


def test_numbers_run_without_gaps_or_duplicates_under_concurrency(app) -> None:
    users = [completed_user(app, i) for i in range(1, 25)]
    _workers_at_once(app)
    with Session(app.state.engine) as session:
        rows = session.exec(select(Certificate)).all()
    year = utcnow().year
    assert sorted(r.serial for r in rows) == list(range(1, len(users) + 1))
    assert {r.user_id for r in rows} == set(users)
    assert {r.number for r in rows} == {f"BA/{year}/{n:06d}" for n in range(1, len(users) + 1)}
    assert len({r.code for r in rows}) == len(users)


def test_the_certificate_keeps_the_holder_as_they_were_at_issue_time(app) -> None:
    user_id = completed_user(app, name="Siti Rahmawati", position="Analis", grade="III/a")
    first = issue(app, user_id)
    assert (first.holder_name, first.holder_position, first.holder_grade) == (
        "Siti Rahmawati",
        "Analis",
        "III/a",
    )
    assert first.course_title == "Kursus Contoh" and first.jp == 2
    assert first.content_version.startswith("1.0.0+")
    assert first.holder_agency  # the agency's name, not its id
    expected_until = first.completed_at + timedelta(days=365)
    assert abs((first.valid_until - expected_until).total_seconds()) < 1
    from modules.accounts.models import User

    with Session(app.state.engine, expire_on_commit=False) as session:
        user = session.get(User, user_id)
        user.name = "Siti Rahmawati Putri"
        session.add(user)
        session.commit()
        again = service.current(session=session, user_id=user_id, course_id="demo")
    assert again.holder_name == "Siti Rahmawati"  # unchanged until re-issued


def test_reissue_after_a_name_correction_points_the_old_one_to_the_new(app) -> None:
    user_id = completed_user(app)
    old = issue(app, user_id)
    from modules.accounts.models import User

    with Session(app.state.engine, expire_on_commit=False) as session:
        user = session.get(User, user_id)
        user.name = "Siti Rahmawati, S.Psi."
        session.add(user)
        session.commit()
        old = session.get(Certificate, old.id)
        new = service.reissue(
            session=session,
            certificate=old,
            policy=app.state.certificate_policy,
            actor_id=None,
            address="cli",
        )
        old = session.get(Certificate, old.id)
        assert new.holder_name == "Siti Rahmawati, S.Psi." and new.revision == 2
        assert new.replaces_id == old.id and new.serial == old.serial + 1
        assert service.status(old) == "revoked" and old.revoked_reason == service.REISSUED
        assert service.replacement(session=session, certificate=old).id == new.id
        assert service.current(session=session, user_id=user_id, course_id="demo").id == new.id
        actions = [
            e.action
            for e, _actor in audit_service.for_subject(
                session=session, subject_type="certificate", subject_id=old.number
            )
        ]
        assert actions == ["certificate.reissue"]
        with pytest.raises(service.CertificateError):  # only the latest can be re-issued
            service.reissue(
                session=session,
                certificate=old,
                policy=app.state.certificate_policy,
                actor_id=None,
                address="cli",
            )


@pytest.mark.parametrize("reason", ["", "    ", "abc", "x" * 501, "alasan\x00palsu"])
def test_a_revocation_needs_a_proper_reason(app, reason) -> None:
    certificate = issue(app, completed_user(app))
    with Session(app.state.engine, expire_on_commit=False) as session:
        certificate = session.get(Certificate, certificate.id)
        with pytest.raises(service.CertificateError):
            service.revoke(
                session=session, certificate=certificate, reason=reason, actor_id=None, address=""
            )
        assert session.get(Certificate, certificate.id).revoked_at is None


def test_revocation_is_recorded_with_its_reason_in_the_audit_trail(app) -> None:
    certificate = issue(app, completed_user(app))
    with Session(app.state.engine, expire_on_commit=False) as session:
        certificate = session.get(Certificate, certificate.id)
        service.revoke(
            session=session,
            certificate=certificate,
            reason="Data kelulusan keliru",
            actor_id=None,
            address="10.0.0.9",
        )
        assert service.status(certificate) == "revoked"
        events = audit_service.for_subject(
            session=session, subject_type="certificate", subject_id=certificate.number
        )
        assert [(e.action, e.address, who) for e, who in events] == [
            ("certificate.revoke", "10.0.0.9", None)
        ]
        assert "Data kelulusan keliru" in events[0][0].detail
        with pytest.raises(service.CertificateError):
            service.revoke(
                session=session,
                certificate=certificate,
                reason="sekali lagi",
                actor_id=None,
                address="",
            )


def test_status_and_masking() -> None:
    now = utcnow()
    certificate = Certificate(valid_until=now + timedelta(days=1))
    assert service.status(certificate, now) == "valid"
    assert service.status(certificate, now + timedelta(days=2)) == "expired"
    assert service.status(Certificate(valid_until=None), now + timedelta(days=9999)) == "valid"
    certificate.revoked_at = now
    assert service.status(certificate, now) == "revoked"
    masked = service.mask_nip("199001012015031001")
    assert masked == "1990***********001" and len(masked) == 18
    assert "0101" not in masked[4:]


def test_lookup_by_number_or_code_ignores_case_and_nonsense(app) -> None:
    certificate = issue(app, completed_user(app))
    with Session(app.state.engine) as session:
        assert service.find(session=session, ref=certificate.number).id == certificate.id
        assert (
            service.find(session=session, ref=f" {certificate.code.lower()} ").id == certificate.id
        )
        for junk in ["", "x", "../../etc/passwd", "BA/2026/' OR 1=1 --", "ä" * 10, "9" * 500]:
            assert service.find(session=session, ref=junk) is None


def test_a_custom_number_pattern_and_no_expiry(db_url, tmp_path) -> None:
    app = make_app(
        db_url,
        tmp_path,
        certificate_number_pattern="SERT-{serial:04d}/BKN/{year}{restore}",
        certificate_validity_days=0,
    )
    try:
        certificate = issue(app, completed_user(app))
        assert certificate.number == f"SERT-0001/BKN/{utcnow().year}"
        assert certificate.valid_until is None
    finally:
        app.state.engine.dispose()


def test_two_tabs_completing_the_last_lesson_at_once_get_one_certificate(app) -> None:
    from modules.learning import workflow
    from tests.conftest import make_user

    course = app.state.catalogue.get("demo")
    with Session(app.state.engine) as session:
        user_id = make_user(session).id

    def done(lesson_id: str) -> bool:
        with Session(app.state.engine, expire_on_commit=False) as session:
            return workflow.lesson_done(
                session=session, user_id=user_id, course=course, lesson_id=lesson_id
            ).completed_now

    assert done("satu-a") is False
    with ThreadPoolExecutor(max_workers=6) as pool:
        completed = list(pool.map(done, ["satu-b"] * 12))
    assert completed.count(True) == 1
    _workers_at_once(app, 4)
    with Session(app.state.engine) as session:
        rows = session.exec(select(Certificate)).all()
        assert len(rows) == 1 and rows[0].serial == 1


def test_a_reissue_never_undoes_a_revocation_made_meanwhile(app) -> None:
    certificate = issue(app, completed_user(app))
    with Session(app.state.engine, expire_on_commit=False) as session:
        stale = session.get(Certificate, certificate.id)  # admin B opened the page
    with Session(app.state.engine, expire_on_commit=False) as session:
        service.revoke(  # admin A revokes first
            session=session,
            certificate=session.get(Certificate, certificate.id),
            reason="Kecurangan saat kuis",
            actor_id=None,
            address="",
        )
    with Session(app.state.engine, expire_on_commit=False) as session:
        with pytest.raises(service.CertificateError):
            service.reissue(
                session=session,
                certificate=stale,
                policy=app.state.certificate_policy,
                actor_id=None,
                address="",
            )
        rows = session.exec(select(Certificate)).all()
        assert len(rows) == 1 and rows[0].revoked_reason == "Kecurangan saat kuis"
        assert session.get(CertificateCounter, utcnow().year).last == 1


def test_two_admins_revoking_at_once_record_one_revocation(app) -> None:
    certificate = issue(app, completed_user(app))

    def revoke(reason: str) -> str:
        with Session(app.state.engine, expire_on_commit=False) as session:
            row = session.get(Certificate, certificate.id)
            row.revoked_at = None  # both saw it unrevoked
            try:
                service.revoke(
                    session=session, certificate=row, reason=reason, actor_id=None, address=""
                )
                return "won"
            except service.CertificateError:
                return "refused"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(revoke, [f"alasan nomor {i}" for i in range(8)]))
    assert results.count("won") == 1


@pytest.mark.parametrize(
    "pattern",
    [
        "BA/{serial:06d}{restore}",
        "{year}",
        "BA {year}/{serial}{restore}",
        "{x}",
        "BA/{year}/{serial:06d}",  # no restore generation: a restore would repeat numbers
    ],
)
def test_unusable_number_patterns_are_refused_at_start(db_url, pattern) -> None:
    from pydantic import ValidationError

    from tests.conftest import make_settings

    with pytest.raises(ValidationError):
        make_settings(db_url, certificate_number_pattern=pattern)


def test_a_late_issue_is_valid_from_the_completion(app) -> None:
    from modules.certificates import credential

    user_id = completed_user(app, completed_at=utcnow() - timedelta(days=400))
    certificate = issue(app, user_id)
    assert service.status(certificate) == "expired"
    built = credential.build(certificate, credential.Issuer("http://x", "x"))
    assert built["validFrom"] < built["validUntil"] < built["awardedDate"]


def test_the_number_carries_the_year_of_the_completion(app) -> None:
    """Issued by the worker after New Year, a certificate of a completion on 31 December
    belongs to the year its JP count in."""
    from datetime import UTC, datetime

    from app import clock
    from app.clock import ManualClock

    late = datetime(2026, 12, 31, 16, 59, tzinfo=UTC)  # 23:59 in Jakarta
    user_id = completed_user(app, completed_at=late)
    with clock.use(ManualClock(datetime(2027, 1, 1, 1, 0, tzinfo=UTC))):
        certificate = issue(app, user_id)
    assert certificate.number.startswith("BA/2026/") and certificate.year == 2026
