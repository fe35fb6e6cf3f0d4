"""Action plans, read back from a real SMTP server (aiosmtpd): the plan is the last activity
and completes the course; 30 days later the learner is reminded once, reports, and shares it;
the supervisor answers through the mailed link without an account and sees nothing else; the
link expires; the follow-up opens (and is mailed) 90 days after the plan; the public
verification page never shows a plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock, jobs
from app.clock import ManualClock
from app.main import create_app
from app.security import hash_password
from modules.learning import workflow
from modules.plans.models import ActionPlan
from modules.plans.service import REPORT_JOB
from modules.quizzes.models import QuizAttempt
from tests.app.test_mail import Inbox, _port, _smtp
from tests.conftest import csrf_from, login, make_settings, make_user, run_jobs
from tests.modules.quizzes.helpers import pass_quizzes

COURSE = "berakhlak"
START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
PASSWORD = "kata-sandi-panjang-sekali-9"
BEHAVIOUR = "Setiap Senin saya mengabari pemohon tentang status berkas mereka."


def _remind(app) -> None:
    """What the hourly schedule does."""
    with Session(app.state.engine) as session:
        jobs.enqueue(session, REPORT_JOB)
        session.commit()
    run_jobs(app)


def _mail_to(inbox: Inbox, address: str) -> list:
    return [m for m in inbox.received if m["To"].addresses[0].addr_spec == address]


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_plan_report_supervisor_and_follow_up(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = create_app(
        make_settings(
            db_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_timeout_seconds=5,
            base_url="http://testserver",
        )
    )
    moment = ManualClock(START)
    try:
        with clock.use(moment):
            course = app.state.catalogue.get(COURSE)
            with Session(app.state.engine) as session:
                user_id = make_user(
                    session,
                    email="siti@bkn.go.id",
                    password_hash=hash_password(PASSWORD),
                    name="Siti Rahma",
                ).id
            learner = TestClient(app, base_url="http://testserver")
            assert login(learner, "199001012015031001", PASSWORD).status_code == 303
            plan_url = f"/courses/{COURSE}/plan"
            due = (START + timedelta(days=40)).date().isoformat()
            form = {
                "behaviour-pelayanan": BEHAVIOUR,
                "evidence-pelayanan": "Tidak ada pemohon yang bertanya dua kali tentang status.",
                "due-pelayanan": due,
                "supervisor_name": "Ibu Rina",
                "supervisor_email": "atasan@bkn.go.id",
            }
            # before the rest of the course: not open, nothing written
            early = learner.post(
                plan_url, data={**form, "csrf_token": csrf_from(learner, plan_url)}
            )
            assert early.status_code == 200 and 'name="behaviour-pelayanan"' not in early.text
            pass_quizzes(app, user_id, course)
            with Session(app.state.engine) as session:
                for lesson_id in course.lesson_ids:
                    workflow.lesson_done(
                        session=session, user_id=user_id, course=course, lesson_id=lesson_id
                    )
                assert session.exec(select(ActionPlan)).all() == []
            token = csrf_from(learner, plan_url)
            # the learner's own address is not a supervisor's; nothing typed is lost
            own = learner.post(
                plan_url, data={**form, "supervisor_email": "siti@bkn.go.id", "csrf_token": token}
            )
            assert own.status_code == 422 and "alamat email Anda sendiri" in own.text
            assert BEHAVIOUR in own.text
            # too many values: the activity allows three
            many = dict(form)
            for tag in ("akuntabel", "kompeten", "harmonis"):
                many[f"behaviour-{tag}"] = BEHAVIOUR
                many[f"evidence-{tag}"] = "Catatan mingguan terkirim setiap Jumat sore."
                many[f"due-{tag}"] = due
            assert learner.post(plan_url, data={**many, "csrf_token": token}).status_code == 422
            done = learner.post(
                plan_url, data={**form, "csrf_token": token}, follow_redirects=False
            )
            assert done.headers["location"] == f"/courses/{COURSE}/completed"
            run_jobs(app)  # the certificate
            mine = learner.get("/certificates").text
            assert BEHAVIOUR in mine
            verify = re.search(r'href="(http://testserver/verify/[^"]+)"', mine).group(1)
            public = TestClient(app, base_url="http://testserver").get(verify)
            assert public.status_code == 200 and BEHAVIOUR not in public.text
            assert "Tidak ada pemohon yang bertanya" not in public.text

            # 29 days on: nothing; 30 days on: one reminder, once
            moment.set(START + timedelta(days=29))
            _remind(app)
            assert _mail_to(inbox, "siti@bkn.go.id") == []
            assert login(learner, "199001012015031001", PASSWORD).status_code == 303  # expired
            assert "Sudah waktunya melaporkan" not in learner.get(f"/courses/{COURSE}").text
            moment.set(START + timedelta(days=30, hours=1))
            _remind(app)
            _remind(app)
            (reminder,) = _mail_to(inbox, "siti@bkn.go.id")
            assert f"http://testserver/courses/{COURSE}/plan/report" in _body(reminder)
            assert reminder["List-Unsubscribe"]
            assert "Sudah waktunya melaporkan" in learner.get(f"/courses/{COURSE}").text

            # the report, shared: the supervisor is mailed a link
            report_url = f"{plan_url}/report"
            page = learner.get(report_url).text
            item = re.search(r'name="outcome-(\d+)"', page).group(1)
            data = {
                f"outcome-{item}": "partly",
                f"note-{item}": "Baru tiga kali dari empat Senin.",
                "share": "yes",
                "supervisor_name": "Ibu Rina",
                "supervisor_email": "atasan@bkn.go.id",
                "csrf_token": csrf_from(learner, report_url),
            }
            missing = learner.post(report_url, data={**data, f"outcome-{item}": ""})
            assert missing.status_code == 422 and "Baru tiga kali" in missing.text
            sent = learner.post(report_url, data=data, follow_redirects=False)
            assert sent.status_code == 303
            run_jobs(app)
            (invite,) = _mail_to(inbox, "atasan@bkn.go.id")
            link = re.search(r"http://testserver(/plans/confirm/\S+)", _body(invite)).group(1)
            assert "Siti Rahma" in _body(invite)

            # the supervisor: no account, sees the plan and the report, nothing else
            supervisor = TestClient(app, base_url="http://testserver")
            shown = supervisor.get(link)
            assert shown.status_code == 200
            assert BEHAVIOUR in shown.text and "Baru tiga kali" in shown.text
            assert "199001012015031001" not in shown.text and "siti@bkn.go.id" not in shown.text
            assert shown.headers["Referrer-Policy"] == "no-referrer"
            unanswered = supervisor.post(
                link, data={"comment": "x", "csrf_token": csrf_from(supervisor, link)}
            )
            assert unanswered.status_code == 422
            answered = supervisor.post(
                link,
                data={
                    "seen": "yes",
                    "comment": "Kabar Senin sudah rutin.",
                    "csrf_token": csrf_from(supervisor, link),
                },
                follow_redirects=False,
            )
            assert answered.status_code == 303
            with Session(app.state.engine) as session:
                plan = session.exec(select(ActionPlan)).one()
                assert plan.supervisor_seen is True and plan.reported_at is not None
            assert "Kabar Senin sudah rutin." in learner.get(plan_url).text
            # a reported plan is not rewritten
            again = learner.post(
                plan_url, data={**form, "csrf_token": csrf_from(learner, plan_url)}
            )
            assert again.status_code == 200 and "Kabar Senin sudah rutin." in again.text

            # the follow-up: closed before 90 days (a start is refused), then open and mailed
            follow = f"/courses/{COURSE}/quizzes/asesmen-lanjutan"
            moment.set(START + timedelta(days=60))
            assert login(learner, "199001012015031001", PASSWORD).status_code == 303
            assert "Dibuka pada" in learner.get(follow).text
            learner.post(f"{follow}/start", data={"csrf_token": csrf_from(learner, follow)})
            with Session(app.state.engine) as session:
                started = select(QuizAttempt).where(QuizAttempt.quiz_id == "asesmen-lanjutan")
                assert session.exec(started).all() == []
            moment.set(START + timedelta(days=90, hours=1))
            # the supervisor's link has expired by now (30 days after it was mailed)
            assert supervisor.get(link).status_code == 404
            _remind(app)
            _remind(app)
            follow_mails = [m for m in _mail_to(inbox, "siti@bkn.go.id") if follow in _body(m)]
            assert len(follow_mails) == 1
            assert login(learner, "199001012015031001", PASSWORD).status_code == 303
            learner.post(f"{follow}/start", data={"csrf_token": csrf_from(learner, follow)})
            with Session(app.state.engine) as session:
                assert len(session.exec(started).all()) == 1
    finally:
        server.stop()


def _completed_with_plan(app, moment) -> tuple[TestClient, int]:
    """A learner (logged in) who completed the course by writing a plan, at `moment`."""
    course = app.state.catalogue.get(COURSE)
    with Session(app.state.engine) as session:
        user_id = make_user(
            session, email="siti@bkn.go.id", password_hash=hash_password(PASSWORD)
        ).id
        # a colleague of the same agency, on the roster
        make_user(session, nip_number="198001012005011001", email="rina@bkn.go.id")
    pass_quizzes(app, user_id, course)
    with Session(app.state.engine) as session:
        for lesson_id in course.lesson_ids:
            workflow.lesson_done(
                session=session, user_id=user_id, course=course, lesson_id=lesson_id
            )
    learner = TestClient(app, base_url="http://testserver")
    assert login(learner, "199001012015031001", PASSWORD).status_code == 303
    url = f"/courses/{COURSE}/plan"
    data = {
        "behaviour-akuntabel": BEHAVIOUR,
        "evidence-akuntabel": "Catatan mingguan terkirim setiap Jumat sore.",
        "due-akuntabel": (moment.now() + timedelta(days=20)).date().isoformat(),
        "csrf_token": csrf_from(learner, url),
    }
    # a NUL byte (PostgreSQL refuses it) is a field error, not a failure
    nul = learner.post(url, data={**data, "supervisor_name": "Rina\x00"})
    assert nul.status_code == 422 and "karakter kontrol" in nul.text
    assert learner.post(url, data=data, follow_redirects=False).status_code == 303
    return learner, int(user_id)


def test_the_report_waits_for_its_date_mails_a_few_times_and_freezes_when_answered(
    db_url,
) -> None:
    app = create_app(make_settings(db_url, base_url="http://testserver"))
    moment = ManualClock(START)
    with clock.use(moment):
        learner, _user_id = _completed_with_plan(app, moment)
        report_url = f"/courses/{COURSE}/plan/report"
        # before its date the report is not asked for: the plan page says when
        early = learner.get(report_url, follow_redirects=False)
        assert early.status_code == 303 and early.headers["location"].endswith("/plan")
        assert (
            "kami akan menanyakan hasil rencana aksi Anda"
            in learner.get(early.headers["location"]).text
        )
        moment.set(START + timedelta(days=30))
        assert login(learner, "199001012015031001", PASSWORD).status_code == 303
        item = re.search(r'name="outcome-(\d+)"', learner.get(report_url).text).group(1)

        def send(address: str):
            return learner.post(
                report_url,
                data={
                    f"outcome-{item}": "done",
                    "share": "yes",
                    "supervisor_name": "Ibu Rina",
                    "supervisor_email": address,
                    "csrf_token": csrf_from(learner, report_url),
                },
                follow_redirects=False,
            )

        def mails() -> int:
            from app.mail import MailMessage

            with Session(app.state.engine) as session:
                rows = session.exec(
                    select(MailMessage).where(MailMessage.purpose == "plan_supervisor")
                ).all()
                return len(rows)

        assert send("rina@bkn.go.id").status_code == 303 and mails() == 1
        assert send("rina@bkn.go.id").status_code == 303 and mails() == 1  # the same address
        with Session(app.state.engine) as session:
            assert session.exec(select(ActionPlan)).one().supervisor_on_roster is True
        assert send("lain@contoh.id").status_code == 303 and mails() == 2  # a changed one
        assert send("ketiga@contoh.id").status_code == 303 and mails() == 3
        refused = send("keempat@contoh.id")  # a fourth address: no more mail
        assert refused.status_code == 422 and "tiga kali" in refused.text and mails() == 3
        with Session(app.state.engine) as session:
            plan = session.exec(select(ActionPlan)).one()
            assert plan.supervisor_on_roster is False  # an address nobody on the roster has
            plan.confirmed_at, plan.supervisor_seen = datetime.now(UTC), False
            session.add(plan)
            session.commit()
        # answered: the report stays as the supervisor read it
        frozen = send("ketiga@contoh.id")
        assert frozen.status_code == 303 and frozen.headers["location"].endswith("/plan")
        assert learner.get(report_url, follow_redirects=False).status_code == 303
        with Session(app.state.engine) as session:
            assert session.exec(select(ActionPlan)).one().supervisor_seen is False
