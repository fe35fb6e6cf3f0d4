"""A small population for report tests: two units of one agency, one person of another."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.security import hash_password
from modules.accounts import grants
from modules.agencies import service as agencies_service
from modules.progress.models import CourseCompletion, Enrollment, LearningEvent
from modules.quizzes.models import QuizAnswer, QuizAttempt
from tests.conftest import login, make_user

PASSWORD = "kata-sandi-panjang-sekali-9"
COURSE = "berakhlak"


@dataclass
class Population:
    bkn: int
    lan: int
    ids: dict[str, int]


def _nip(i: int, pppk: bool = False) -> str:
    return f"19900101{'202321' if pppk else '201503'}1{i:03d}"


def populate(app) -> Population:
    """BKN: done (Biro SDM, certificate-less completion this year), started (Biro SDM),
    late (Biro Umum, due yesterday, not started), idle (Biro Umum, nothing), old (PPPK,
    completed last year); LAN: other (completed)."""
    course = app.state.catalogue.get(COURSE)
    version = course.version_id
    now = datetime.now(UTC)
    today = date.today()
    with Session(app.state.engine) as s:
        bkn = agencies_service.get_by_code(session=s, code="LB-BKN").id
        lan = agencies_service.get_by_code(session=s, code="LB-LAN").id
        people = {
            "done": dict(work_unit="Biro SDM", name="Ani Done"),
            "started": dict(work_unit="Biro SDM", name="Budi Started"),
            "late": dict(work_unit="Biro Umum", name="Citra Late"),
            "idle": dict(work_unit="Biro Umum", name="Dedi Idle"),
            "old": dict(work_unit="Biro SDM", name="Eka Old", employment_type="PPPK", grade="IX"),
            "other": dict(work_unit="Biro SDM", name="Fajar Other"),
        }
        ids = {}
        for i, (key, fields) in enumerate(people.items(), start=1):
            user = make_user(
                s,
                nip_number=_nip(i, fields.get("employment_type") == "PPPK"),
                email=f"{key}@example.go.id",
                agency_id=lan if key == "other" else bkn,
                **fields,
            )
            ids[key] = user.id
        first_lesson = course.content.modules[0].lessons[0].id
        due = today + timedelta(days=30)
        s.add(Enrollment(user_id=ids["done"], course_id=COURSE, last_lesson_id=first_lesson))
        s.add(
            Enrollment(
                user_id=ids["started"], course_id=COURSE, last_lesson_id=first_lesson, due_on=due
            )
        )
        s.add(Enrollment(user_id=ids["late"], course_id=COURSE, due_on=today - timedelta(days=1)))
        s.add(Enrollment(user_id=ids["old"], course_id=COURSE, last_lesson_id=first_lesson))
        s.add(Enrollment(user_id=ids["other"], course_id=COURSE, last_lesson_id=first_lesson))
        for key, when in (
            ("done", now - timedelta(days=1)),
            ("old", now - timedelta(days=400)),
            ("other", now - timedelta(days=2)),
        ):
            s.add(
                CourseCompletion(
                    user_id=ids[key],
                    course_id=COURSE,
                    content_version_id=version,
                    jp=course.content.jp,
                    completed_at=when,
                )
            )
            for module in course.content.modules:
                s.add(
                    LearningEvent(
                        user_id=ids[key],
                        course_id=COURSE,
                        kind="module_completed",
                        subject=module.id,
                        content_version_id=version,
                        at=when,
                    )
                )
        s.add(
            LearningEvent(
                user_id=ids["started"],
                course_id=COURSE,
                kind="module_completed",
                subject=course.content.modules[0].id,
                content_version_id=version,
                at=now,
            )
        )
        s.commit()
    return Population(bkn, lan, ids)


def self_assessed(app, user_id: int, quiz_id: str, value: int, number: int = 1) -> None:
    """A handed-in self-assessment with every likert statement answered `value`."""
    course = app.state.catalogue.get(COURSE)
    quiz = next(q for m in course.content.modules for q in m.quizzes if q.id == quiz_id)
    attempt_id = f"{user_id:08d}{quiz_id[:10]}{number:02d}".ljust(32, "x")[:32]
    with Session(app.state.engine) as s:
        s.add(
            QuizAttempt(
                id=attempt_id,
                user_id=user_id,
                course_id=COURSE,
                quiz_id=quiz_id,
                number=number,
                content_version_id=course.version_id,
                seed=1,
                layout="[]",
                submitted_at=datetime.now(UTC),
            )
        )
        s.flush()
        for question in quiz.questions:
            if question.type == "likert":
                s.add(
                    QuizAnswer(
                        attempt_id=attempt_id, question_id=question.id, value=json.dumps(value)
                    )
                )
        s.commit()


def staff(app, role: str, agency_id: int | None, nip: str, **grant: object) -> TestClient:
    """A logged-in HR officer or admin."""
    with Session(app.state.engine) as s:
        user = make_user(
            s,
            nip_number=nip,
            email=f"{role}{nip[-3:]}@example.go.id",
            password_hash=hash_password(PASSWORD),
            agency_id=agency_id or 1,
        )
        grants.grant(session=s, user=user, role=role, agency_id=agency_id, **grant)
    client = TestClient(app, base_url="http://testserver")
    assert login(client, nip, PASSWORD).status_code == 303
    return client
