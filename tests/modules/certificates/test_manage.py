"""HR and admins: lists scoped to agencies, the streamed ZIP of PDFs, and the admin's revoke
and re-issue in the browser, each leaving an audit event."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from modules.accounts import grants
from modules.accounts.models import User
from modules.agencies import service as agencies_service
from modules.audit.models import AuditEvent
from modules.certificates import service
from modules.certificates.models import Certificate
from tests.conftest import csrf_from, login, make_user
from tests.modules.certificates.helpers import completed_user, issue, make_app

PASSWORD = "kata-sandi-panjang-sekali-9"


@pytest.fixture
def env(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    with Session(app.state.engine) as session:
        a = agencies_service.get_by_code(session=session, code="LB-BKN").id
        b = agencies_service.get_by_code(session=session, code="LB-LAN").id
    mine = [issue(app, completed_user(app, i, agency_id=a)) for i in (1, 2, 3)]
    theirs = [issue(app, completed_user(app, i, agency_id=b)) for i in (4, 5)]
    yield app, a, b, mine, theirs
    app.state.engine.dispose()


def _staff(app, role: str, agency_id: int | None, nip: str) -> TestClient:
    """A logged-in HR officer or admin."""
    from app.security import hash_password

    with Session(app.state.engine) as session:
        user = make_user(
            session,
            nip_number=nip,
            email=f"{role}{nip[-3:]}@bkn.go.id",
            password_hash=hash_password(PASSWORD),
        )
        grants.grant(session=session, user=user, role=role, agency_id=agency_id)
    client = TestClient(app, base_url="http://testserver")
    assert login(client, nip, PASSWORD).status_code == 303
    return client


def test_hr_sees_only_their_agencys_certificates(env) -> None:
    app, a, b, mine, theirs = env
    hr = _staff(app, "hr", a, "198001012005011901")
    page = hr.get("/manage/certificates")
    assert page.status_code == 200
    for c in mine:
        assert c.number in page.text
    for c in theirs:
        assert c.number not in page.text
    assert hr.get("/manage/certificates", params={"agency": b}).status_code == 403
    assert hr.get("/manage/certificates.zip", params={"agency": b}).status_code == 403
    assert hr.get(f"/manage/certificates/{mine[0].code}").status_code == 403  # admins only
    # the list names holders: each view is audited with the agency it covered
    from modules.audit.models import AuditScope

    with Session(app.state.engine) as s:
        listed = s.exec(select(AuditEvent).where(AuditEvent.action == "certificate.list")).all()
        assert len(listed) == 1
        covered = s.exec(select(AuditScope).where(AuditScope.event_id == listed[0].id)).all()
        assert [c.agency_id for c in covered] == [a]


def test_hr_downloads_the_selected_pdfs_as_one_zip(env) -> None:
    app, a, _b, mine, _theirs = env
    hr = _staff(app, "hr", a, "198001012005011901")
    response = hr.get("/manage/certificates.zip", params={"status": "valid"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = sorted(archive.namelist())
    assert names == sorted(f"{c.number.replace('/', '-')}.pdf" for c in mine)
    assert all(archive.read(n).startswith(b"%PDF") for n in names)
    with Session(app.state.engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "certificate.bulk_download")
        ).one()
        assert '"count": 3' in event.detail


def test_an_hr_grant_without_an_agency_sees_nothing(env) -> None:
    """Such grants cannot be made any more; one left from before scopes gives nothing."""
    from modules.accounts.models import RoleGrant

    app, a, *_rest = env
    hr = _staff(app, "hr", a, "198001012005011902")
    with Session(app.state.engine) as session:
        grant = session.exec(select(RoleGrant).where(RoleGrant.role == "hr")).one()
        grant.agency_id = None
        session.add(grant)
        session.commit()
    assert hr.get("/manage/certificates").status_code == 403
    assert hr.get("/manage/certificates.zip").status_code == 403


@pytest.mark.parametrize(
    "params", [{"year": "dua ribu"}, {"year": "1850"}, {"status": "hilang"}, {"agency": "x"}]
)
def test_nonsense_filters_get_a_clear_message(env, params) -> None:
    app, *_rest = env
    admin = _staff(app, "admin", None, "198001012005011903")
    response = admin.get("/manage/certificates", params=params)
    assert response.status_code == 422
    assert 'class="error"' in response.text


def test_filters_and_search(env) -> None:
    app, a, b, mine, theirs = env
    admin = _staff(app, "admin", None, "198001012005011903")
    everything = admin.get("/manage/certificates").text
    assert all(c.number in everything for c in mine + theirs)
    only_b = admin.get("/manage/certificates", params={"agency": b}).text
    assert all(c.number in only_b for c in theirs) and mine[0].number not in only_b
    by_nip = admin.get("/manage/certificates", params={"q": mine[1].holder_nip}).text
    assert mine[1].number in by_nip and mine[0].number not in by_nip
    none_revoked = admin.get("/manage/certificates", params={"status": "revoked"}).text
    assert mine[0].number not in none_revoked


def test_the_admin_revokes_in_the_browser_with_a_reason(env) -> None:
    app, _a, _b, mine, _theirs = env
    admin = _staff(app, "admin", None, "198001012005011903")
    url = f"/manage/certificates/{mine[0].code}"
    assert admin.get(url).status_code == 200
    token = csrf_from(admin, url)
    refused = admin.post(f"{url}/revoke", data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 422 and "5 sampai 500" in refused.text
    done = admin.post(
        f"{url}/revoke",
        data={"csrf_token": token, "reason": "Peserta tidak mengikuti ujian sendiri"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with Session(app.state.engine) as session:
        row = session.get(Certificate, mine[0].id)
        assert row.revoked_reason == "Peserta tidak mengikuti ujian sendiri"
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_id == mine[0].number)
            ).all()
        ]
        assert "certificate.revoke" in actions and "certificate.view" in actions
    trail = admin.get(url).text
    assert "oleh Siti" in trail  # who acted, by name


def test_the_admin_reissues_after_a_name_correction(env) -> None:
    app, _a, _b, mine, _theirs = env
    with Session(app.state.engine) as session:
        user = session.get(User, mine[1].user_id)
        user.name = "Nama Yang Sudah Dibetulkan"
        session.add(user)
        session.commit()
    admin = _staff(app, "admin", None, "198001012005011903")
    url = f"/manage/certificates/{mine[1].code}"
    token = csrf_from(admin, url)
    done = admin.post(f"{url}/reissue", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    with Session(app.state.engine) as session:
        new = service.current(session=session, user_id=mine[1].user_id, course_id="demo")
    assert done.headers["location"] == f"/manage/certificates/{new.code}?done=reissued"
    assert new.holder_name == "Nama Yang Sudah Dibetulkan"
    public = TestClient(app, base_url="http://testserver")
    # the old one points to the new: by number to its number, by code to its code
    assert f"/verify/{new.number}" in public.get(f"/verify/{mine[1].number}").text
    assert f"/verify/{new.code}" in public.get(f"/verify/{mine[1].code}").text


@pytest.mark.parametrize(
    "params",
    [{"before": "²"}, {"before": "99999999999999999999"}, {"before": "-1"}],
)
def test_odd_paging_values_are_ignored(env, params) -> None:
    app, *_rest = env
    admin = _staff(app, "admin", None, "198001012005011903")
    assert admin.get("/manage/certificates", params=params).status_code == 200


def test_an_out_of_range_agency_is_a_clear_error(env) -> None:
    app, *_rest = env
    admin = _staff(app, "admin", None, "198001012005011903")
    for path in ("/manage/certificates", "/manage/certificates.zip"):
        response = admin.get(path, params={"agency": "99999999999999999999"})
        assert response.status_code == 422
