"""Role grants with scopes: HR by agency or one work unit, trainers by course; granted and
withdrawn by admins in the browser and on the command line, always audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.security import hash_password
from modules.accounts import grants
from modules.accounts.models import RoleGrant, User
from modules.agencies import service as agencies_service
from modules.audit.models import AuditEvent
from tests.conftest import SECRET, csrf_from, login, make_user

PASSWORD = "kata-sandi-panjang-sekali-9"


def _agency(session, code: str) -> int:
    return agencies_service.get_by_code(session=session, code=code).id


def _person(session, nip: str, **fields) -> User:
    return make_user(session, nip_number=nip, email=f"p{nip}@bkn.go.id", **fields)


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("boss", {}, "Choose a role from the list."),
        ("hr", {}, "An HR grant needs the agency whose people it covers."),
        ("admin", {"work_unit": "Biro Umum"}, "Only HR grants have an agency or work unit."),
        ("trainer", {"agency": True}, "Only HR grants have an agency or work unit."),
        ("hr", {"agency": True, "course_id": "berakhlak"}, "Only trainer grants have a course."),
        ("hr", {"agency": True, "work_unit": "Biro\x00Umum"}, "Give the work unit"),
        ("trainer", {"course_id": "tidak-ada"}, "Choose a course from the list."),
    ],
)
def test_grants_that_make_no_sense_are_refused(app, role, scope, message) -> None:
    with Session(app.state.engine) as session:
        user = _person(session, "199001012015031101")
        agency = _agency(session, "LB-BKN") if scope.pop("agency", False) else None
        with pytest.raises(grants.GrantError) as refused:
            grants.grant(
                session=session,
                user=user,
                role=role,
                agency_id=agency,
                known_courses={"berakhlak"},
                **scope,
            )
        assert str(refused.value).startswith(message)
        assert session.exec(select(RoleGrant)).all() == []


def test_scopes_by_agency_and_by_unit(app) -> None:
    with Session(app.state.engine) as session:
        bkn, lan = _agency(session, "LB-BKN"), _agency(session, "LB-LAN")
        officer = _person(session, "199001012015031102")
        grants.grant(session=session, user=officer, role="hr", agency_id=bkn)
        grants.grant(
            session=session, user=officer, role="hr", agency_id=lan, work_unit="  Biro  Umum "
        )
        again = grants.grant(session=session, user=officer, role="hr", agency_id=bkn)
        scope = grants.hr_scope(session=session, user_id=officer.id)
        assert len(grants.grants_of(session=session, user_id=officer.id)) == 2
        assert again.agency_id == bkn
        assert scope.agencies == {bkn} and scope.units == {(lan, "biro umum")}
        assert scope.allows_agency(bkn) and scope.allows_agency(lan)
        assert not scope.allows_agency(_agency(session, "LB-BPS"))
        # people in scope, by a real query
        inside = [
            _person(session, "199001012015031103", agency_id=bkn, work_unit="Apa saja"),
            _person(session, "199001012015031104", agency_id=lan, work_unit="BIRO UMUM"),
        ]
        outside = [
            _person(session, "199001012015031105", agency_id=lan, work_unit="Biro Hukum"),
            _person(session, "199001012015031106", agency_id=_agency(session, "LB-BPS")),
        ]
        seen = set(
            session.exec(select(User.id).where(scope.where(User.agency_id, User.work_unit))).all()
        )
        assert {u.id for u in inside} <= seen and not {u.id for u in outside} & seen
        admin = _person(session, "199001012015031107")
        grants.grant(session=session, user=admin, role="admin")
        assert grants.hr_scope(session=session, user_id=admin.id).everything
        assert grants.hr_scope(session=session, user_id=inside[0].id).empty


def test_trainers_see_the_statistics_of_their_courses_only(app, tmp_path) -> None:
    with Session(app.state.engine) as session:
        trainer = _person(session, "199001012015031108", password_hash=hash_password(PASSWORD))
        grants.grant(session=session, user=trainer, role="trainer", course_id="berakhlak")
        assert grants.trainer_courses(session=session, user_id=trainer.id) == {"berakhlak"}
    with TestClient(app, base_url="http://testserver") as client:
        assert login(client, "199001012015031108", PASSWORD).status_code == 303
        url = "/courses/berakhlak/quizzes/akuntabel-kuis/statistics"
        assert client.get(url).status_code == 200
    with Session(app.state.engine) as session:
        row = session.exec(select(RoleGrant)).one()
        session.delete(row)
        session.add(RoleGrant(user_id=row.user_id, role="trainer", course_id=None))
        session.commit()
        assert grants.trainer_courses(session=session, user_id=row.user_id) is None


def test_a_trainer_of_another_course_is_refused(db_url, tmp_path) -> None:
    from app.main import create_app
    from modules.courses import service as courses_service
    from tests.conftest import make_settings
    from tests.modules.courses.test_content_check import write_course
    from tests.modules.quizzes.test_quiz_format import QUIZ

    root = write_course(tmp_path / "content", {"demo/01-satu/09-kuis.quiz.md": QUIZ})
    app = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=app.state.engine, root=root)
    try:
        with Session(app.state.engine) as session:
            for nip, course in (("199001012015031109", "demo"), ("199001012015031110", None)):
                person = _person(session, nip, password_hash=hash_password(PASSWORD))
                session.add(RoleGrant(user_id=person.id, role="trainer", course_id=course))
            elsewhere = _person(
                session, "199001012015031113", password_hash=hash_password(PASSWORD)
            )
            # a trainer of another course (a course id that is no longer served)
            session.add(RoleGrant(user_id=elsewhere.id, role="trainer", course_id="berakhlak"))
            session.commit()
        quiz = app.state.catalogue.get("demo").content.modules[0].quizzes[0].id
        url = f"/courses/demo/quizzes/{quiz}/statistics"
        for nip, status in (
            ("199001012015031109", 200),  # trains this course
            ("199001012015031110", 200),  # trains every course
            ("199001012015031113", 403),  # trains another course
        ):
            with TestClient(app, base_url="http://testserver") as client:
                assert login(client, nip, PASSWORD).status_code == 303
                assert client.get(url).status_code == status, nip
                quiz_page = client.get(f"/courses/demo/quizzes/{quiz}").text
                assert (url in quiz_page) == (status == 200)  # the link only for its trainers
    finally:
        app.state.engine.dispose()


def _admin_client(app) -> tuple[TestClient, int]:
    with Session(app.state.engine) as session:
        admin = _person(session, "198001012005011111", password_hash=hash_password(PASSWORD))
        grants.grant(session=session, user=admin, role="admin")
        admin_id = admin.id
    client = TestClient(app, base_url="http://testserver")
    assert login(client, "198001012005011111", PASSWORD).status_code == 303
    return client, admin_id


def test_an_admin_grants_and_withdraws_in_the_browser(app) -> None:
    client, admin_id = _admin_client(app)
    with Session(app.state.engine) as session:
        person = _person(session, "199001012015031111", name="Wahyu Pratama")
        bkn = _agency(session, "LB-BKN")
    for query in ("Wahyu", "pratama", "1990010120150311", "p19900101"):
        found = client.get("/admin/users", params={"q": query})
        assert f"/admin/users/{person.id}" in found.text, query
    for query in ("%", "_", "Budi"):
        assert (
            f"/admin/users/{person.id}" not in client.get("/admin/users", params={"q": query}).text
        )
    page = f"/admin/users/{person.id}"
    token = csrf_from(client, page)
    refused = client.post(f"{page}/grants", data={"csrf_token": token, "role": "hr"})
    assert refused.status_code == 422 and "memerlukan instansi" in refused.text
    bad_agency = client.post(
        f"{page}/grants", data={"csrf_token": token, "role": "hr", "agency_id": "99999"}
    )
    assert bad_agency.status_code == 422
    done = client.post(
        f"{page}/grants",
        data={"csrf_token": token, "role": "hr", "agency_id": str(bkn), "work_unit": "Biro Umum"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with Session(app.state.engine) as session:
        grant = session.exec(select(RoleGrant).where(RoleGrant.user_id == person.id)).one()
        assert (grant.role, grant.agency_id, grant.work_unit, grant.granted_by) == (
            "hr",
            bkn,
            "Biro Umum",
            admin_id,
        )
    withdrawn = client.post(
        f"{page}/grants/{grant.id}/withdraw", data={"csrf_token": token}, follow_redirects=False
    )
    assert withdrawn.status_code == 303
    with Session(app.state.engine) as session:
        assert session.get(RoleGrant, grant.id) is None
        actions = session.exec(
            select(AuditEvent.action, AuditEvent.actor_id).where(
                AuditEvent.subject_id == person.nip
            )
        ).all()
        changes = [a for a in actions if a[0].startswith("role.")]
        assert changes == [("role.grant", admin_id), ("role.withdraw", admin_id)]
        assert ("user.view", admin_id) in actions  # looking at the person is recorded too
    trail = client.get(page).text
    assert "role.grant" in trail and "role.withdraw" in trail


def test_an_admin_cannot_withdraw_their_own_admin_role(app) -> None:
    client, admin_id = _admin_client(app)
    with Session(app.state.engine) as session:
        own = session.exec(select(RoleGrant).where(RoleGrant.user_id == admin_id)).one()
    page = f"/admin/users/{admin_id}"
    token = csrf_from(client, page)
    response = client.post(f"{page}/grants/{own.id}/withdraw", data={"csrf_token": token})
    assert response.status_code == 422
    with Session(app.state.engine) as session:
        assert session.get(RoleGrant, own.id) is not None


def test_grant_list_and_withdraw_on_the_command_line(app, db_url, monkeypatch) -> None:
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", db_url)
    monkeypatch.setenv("BERAKHLAK_SECRET_KEY", SECRET)
    with Session(app.state.engine) as session:
        _person(session, "199001012015031112")
    run = CliRunner()

    def cmd(*args: str):
        return run.invoke(cli, ["--lang", "en", "users", *args])

    nip = "199001012015031112"
    assert cmd("grant", "--nip", nip, "--role", "hr").exit_code == 2
    assert cmd("grant", "--nip", nip, "--role", "hr", "--agency", "NOPE").exit_code == 2
    assert cmd("grant", "--nip", "1" * 18, "--role", "admin").exit_code == 2
    assert cmd("grant", "--nip", nip, "--role", "trainer", "--course", "nope").exit_code == 2
    ok = cmd("grant", "--nip", nip, "--role", "hr", "--agency", "LB-BKN", "--unit", "Biro Umum")
    assert ok.exit_code == 0, ok.output
    listing = cmd("grants", "--nip", nip).output.strip().splitlines()
    assert len(listing) == 1 and listing[0].split("\t")[1:2] == ["hr"]
    grant_id = listing[0].split("\t")[0]
    assert cmd("withdraw", "--nip", nip, "--grant", grant_id).exit_code == 0
    assert cmd("withdraw", "--nip", nip, "--grant", grant_id).exit_code == 2
    assert cmd("grants", "--nip", nip).output.strip() == ""


def test_admins_read_the_audit_trail_filtered(app) -> None:
    client, admin_id = _admin_client(app)
    with Session(app.state.engine) as session:
        person = _person(session, "199001012015031114", name="Larasati")
        grants.grant(
            session=session, user=person, role="trainer", actor_id=admin_id, address="10.1.2.3"
        )
        nip = person.nip
    everything = client.get("/admin/audit")
    assert everything.status_code == 200
    assert "role.grant" in everything.text and "10.1.2.3" in everything.text
    only = client.get("/admin/audit", params={"action": "certificate.", "subject": nip})
    assert "role.grant" not in only.text
    mine = client.get("/admin/audit", params={"action": "role.", "subject": nip})
    assert "role.grant" in mine.text and "Siti" in mine.text  # who acted, by name
    for odd in ({"before": "²"}, {"action": "x\x00"}, {"subject": "%"}, {"action": "%_"}):
        assert client.get("/admin/audit", params=odd).status_code == 200


def test_the_command_line_grants_in_a_fresh_interpreter(app, db_url) -> None:
    """As an operator runs it: a new process, where only the CLI's own imports happened (a
    foreign key from role grants to courses must still resolve)."""
    import os
    import subprocess
    import sys

    with Session(app.state.engine) as session:
        _person(session, "199001012015031115")
    env = {**os.environ, "BERAKHLAK_DATABASE_URL": db_url, "BERAKHLAK_SECRET_KEY": SECRET}
    command = [sys.executable, "-c", "from app.cli import main; main()", "--lang", "en"]
    for args in (
        ["users", "grant", "--nip", "199001012015031115", "--role", "admin"],
        ["users", "grant", "--nip", "199001012015031115", "--role", "trainer"],
    ):
        done = subprocess.run(
            command + args, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
    made = subprocess.run(
        command
        + [
            "users",
            "create",
            "--nip",
            "198503142010011009",
            "--name",
            "Admin Dua",
            "--email",
            "admin2@bkn.go.id",
            "--agency",
            "LB-BKN",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="Merah-Putih-Garuda-2045\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    with Session(app.state.engine) as session:
        roles = session.exec(select(RoleGrant.role)).all()
        assert sorted(roles) == ["admin", "admin", "trainer"]


def test_a_work_unit_of_only_spaces_never_widens_to_the_whole_agency(app) -> None:
    with Session(app.state.engine) as session:
        person = _person(session, "199001012015031116")
        with pytest.raises(grants.GrantError):
            grants.grant(
                session=session,
                user=person,
                role="hr",
                agency_id=_agency(session, "LB-BKN"),
                work_unit="   ",
            )
        assert grants.hr_scope(session=session, user_id=person.id).empty


def test_a_stale_withdraw_button_says_it_was_already_done(app) -> None:
    client, admin_id = _admin_client(app)
    with Session(app.state.engine) as session:
        person = _person(session, "199001012015031117")
        grant = grants.grant(session=session, user=person, role="trainer")
        person_id, grant_id = person.id, grant.id
    page = f"/admin/users/{person_id}"
    token = csrf_from(client, page)
    url = f"{page}/grants/{grant_id}/withdraw"
    assert client.post(url, data={"csrf_token": token}).status_code == 200
    again = client.post(url, data={"csrf_token": token})
    assert again.status_code == 200 and "sudah dicabut sebelumnya" in again.text


def test_refusals_speak_indonesian_not_http_phrases(app) -> None:
    with Session(app.state.engine) as session:
        _person(session, "199001012015031118", password_hash=hash_password(PASSWORD))
    with TestClient(app, base_url="http://testserver") as client:
        login(client, "199001012015031118", PASSWORD)
        page = client.get("/admin/users")
        assert page.status_code == 403
        main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
        assert "Forbidden" not in main, main
        assert "tidak memiliki izin" in main


def test_an_admin_searching_people_is_recorded(app) -> None:
    client, admin_id = _admin_client(app)
    assert client.get("/admin/users?q=Siti").status_code == 200
    assert client.get("/admin/users?q=nobody-has-this-name").status_code == 200
    with Session(app.state.engine) as session:
        searches = session.exec(
            select(AuditEvent.detail).where(AuditEvent.action == "user.search")
        ).all()
    assert len(searches) == 1 and "Siti" in searches[0]  # nothing shown, nothing recorded
