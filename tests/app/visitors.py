"""Visitors of every role, each with a database and an app of their own that many tests share
(building them per test was half the suite's time): the authorisation matrix and the GET-safety
walk ask every route as each of them.

A test gets a fresh client with a login session of its own (written directly: no password to
hash), so a test that logs out never logs the next one out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app import jobs
from app.clock import utcnow
from app.main import create_app
from app.security import SESSION_COOKIE
from modules.accounts import grants
from modules.accounts import service as accounts_service
from modules.accounts.models import User
from tests.conftest import agency_id, make_settings, register

ROLES = ["anonymous", "learner", "trainer", "admin", "hr", "hr_other"]


@dataclass
class Visitor:
    """One kind of visitor, their app, and the addresses of what is theirs."""

    role: str
    app: FastAPI
    bkn: int  # the agency id of LB-BKN, the visitor's own agency
    user_id: int | None = None
    personal: dict[str, str] = field(default_factory=dict)  # what -> URL of their own things

    def client(self) -> TestClient:
        """A client logged in as this visitor (anonymous: not logged in)."""
        client = TestClient(self.app, base_url="http://testserver")
        if self.user_id is not None:
            with Session(self.app.state.engine) as session:
                user = session.get(User, self.user_id)
                assert user is not None
                token = accounts_service.start_session(session=session, user=user, days=1)
            client.cookies.set(SESSION_COOKIE, token)
        return client

    def url(self, template: str) -> str:
        return template.replace("{bkn}", str(self.bkn))


def make_visitor(role: str, url: str) -> Visitor:
    """A visitor of `role`: a learner registered through the form (BKN), granted their role."""
    app = create_app(make_settings(url))
    with TestClient(app, base_url="http://testserver") as client:
        visitor = Visitor(role, app, bkn=agency_id(client, "LB-BKN"))
        if role == "anonymous":
            return visitor
        assert register(client).status_code == 303
        lan = agency_id(client, "LB-LAN")
    with Session(app.state.engine) as session:
        user = session.exec(select(User)).one()
        visitor.user_id = user.id
        if role in ("trainer", "admin"):
            grants.grant(session=session, user=user, role=role)
        elif role in ("hr", "hr_other"):
            agency = visitor.bkn if role == "hr" else lan
            grants.grant(session=session, user=user, role="hr", agency_id=agency)
    return visitor


# ---- the state a page view might be tempted to change ---------------------------------------


def seed_personal_state(visitor: Visitor) -> None:
    """Give a registered visitor what an earlier version wrote on page views: every lesson done
    and every graded quiz passed but no completion recorded (as after a new content version),
    an attempt whose time ran out, a certificate still owed, one issued, and (staff) an export
    waiting for a worker."""
    from modules.certificates import service as certificates_service
    from modules.learning import rules
    from modules.progress.models import LessonProgress
    from modules.quizzes import service as quizzes_service
    from modules.quizzes.models import QuizAttempt

    app, user_id = visitor.app, visitor.user_id
    assert user_id is not None
    course = app.state.catalogue.get("berakhlak")
    now = utcnow()
    with Session(app.state.engine, expire_on_commit=False) as session:
        for lesson_id in course.lesson_ids:
            session.add(
                LessonProgress(
                    user_id=user_id,
                    course_id=course.id,
                    lesson_id=lesson_id,
                    content_version_id=course.version_id,
                )
            )
        for index, quiz in enumerate(rules.graded_quizzes(course)):
            session.add(
                QuizAttempt(
                    id=f"passed-{index:02d}-{user_id:020d}",
                    user_id=user_id,
                    course_id=course.id,
                    quiz_id=quiz.id,
                    number=1,
                    content_version_id=course.version_id,
                    seed=index,
                    layout=json.dumps([d.__dict__ for d in quizzes_service.draw(quiz, index)]),
                    started_at=now - timedelta(hours=2),
                    submitted_at=now - timedelta(hours=1),
                    score=1.0,
                    passed=True,
                )
            )
        quiz = rules.graded_quizzes(course)[1]
        expired = QuizAttempt(
            id=f"expired-{user_id:024d}",
            user_id=user_id,
            course_id=course.id,
            quiz_id=quiz.id,
            number=2,
            content_version_id=course.version_id,
            seed=7,
            layout=json.dumps([d.__dict__ for d in quizzes_service.draw(quiz, 7)]),
            started_at=now - timedelta(hours=1),
            deadline_at=now - timedelta(minutes=30),
        )
        session.add(expired)
        owed = certificates_service.Owed(
            user_id=user_id,
            course_id=course.id,
            completed_at=now - timedelta(days=1),
            jp=course.content.jp,
            content_version_id=course.version_id,
        )
        issued = certificates_service.issue(
            session=session,
            completion=owed,
            course_title=course.content.title,
            content_version=course.content.version_label,
            policy=app.state.certificate_policy,
        )
        # a second completion's certificate still owed (its job waits for a worker)
        jobs.enqueue(
            session,
            certificates_service.ISSUE_JOB,
            owed.as_payload(),
            key=f"{user_id}/owed-for-the-walk",
            user_id=user_id,
        )
        session.commit()
        visitor.personal.update(
            {
                "expired attempt": f"/attempts/{expired.id}",
                "expired attempt result": f"/attempts/{expired.id}/result",
                "certificate pdf": f"/certificates/{issued.code}.pdf",
                "certificate jwt": f"/certificates/{issued.code}/credential.jwt",
                "certificate json": f"/certificates/{issued.code}/credential.json",
                "verification": f"/verify/{issued.number}",
            }
        )
        if visitor.role in ("hr", "admin"):
            _seed_export(visitor, session)


def _seed_export(visitor: Visitor, session: Session) -> None:
    """An export its owner asked for minutes ago, which no worker has started."""
    from modules.reports import jobs as report_jobs
    from modules.reports import queries

    job = report_jobs.create(
        session=session,
        user_id=visitor.user_id,  # type: ignore[arg-type]
        kind="people",
        fmt="csv",
        filters=queries.Filters(course_id="berakhlak"),
        year=2026,
        locale="id",
        rows=1,
    )
    job.created_at = utcnow() - timedelta(minutes=10)
    session.add(job)
    session.commit()
    visitor.personal["export status"] = f"/manage/reports/exports/{job.id}"


# ---- a log of every write, kept by the database itself --------------------------------------

WRITES_TABLE = "test_write_log"


def install_write_log(app: FastAPI) -> None:
    """Triggers on every table record each insert, update (with the columns it changed) and
    delete into WRITES_TABLE: what a request wrote, whichever code path did it."""
    engine = app.state.engine
    with engine.begin() as conn:
        tables = _tables(conn)
        conn.execute(
            text(
                f"CREATE TABLE {WRITES_TABLE} (tbl TEXT NOT NULL, op TEXT NOT NULL, "
                "cols TEXT NOT NULL, action TEXT)"
            )
        )
        if engine.dialect.name == "sqlite":
            for table, columns in tables.items():
                for statement in _sqlite_triggers(table, columns):
                    conn.execute(text(statement))
        else:
            conn.execute(text(_PG_FUNCTION))
            for table in tables:
                conn.execute(
                    text(
                        f'CREATE TRIGGER test_write_log AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
                        "FOR EACH ROW EXECUTE FUNCTION test_log_write()"
                    )
                )


def _tables(conn: Any) -> dict[str, list[str]]:
    from sqlalchemy import inspect

    inspector = inspect(conn)
    return {
        name: [c["name"] for c in inspector.get_columns(name)]
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


def _sqlite_triggers(table: str, columns: list[str]) -> Iterator[str]:
    def listed(condition: str) -> str:
        parts = [f"CASE WHEN {condition.format(c=c)} THEN '{c},' ELSE '' END" for c in columns]
        return " || ".join(parts)

    action = "NEW.action" if table == "audit_event" else "NULL"
    inserted = listed('NEW."{c}" IS NOT NULL')
    changed = listed('OLD."{c}" IS NOT NEW."{c}"')
    yield (
        f'CREATE TRIGGER "test_w_{table}_i" AFTER INSERT ON "{table}" BEGIN INSERT INTO '
        f"{WRITES_TABLE} VALUES ('{table}', 'INSERT', {inserted}, {action}); END"
    )
    yield (
        f'CREATE TRIGGER "test_w_{table}_u" AFTER UPDATE ON "{table}" BEGIN INSERT INTO '
        f"{WRITES_TABLE} VALUES ('{table}', 'UPDATE', {changed}, NULL); END"
    )
    yield (
        f'CREATE TRIGGER "test_w_{table}_d" AFTER DELETE ON "{table}" BEGIN INSERT INTO '
        f"{WRITES_TABLE} VALUES ('{table}', 'DELETE', '', NULL); END"
    )


_PG_FUNCTION = f"""
CREATE FUNCTION test_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE cols text := '';
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT coalesce(string_agg(key || ',', ''), '') INTO cols
      FROM jsonb_each(to_jsonb(NEW)) WHERE value <> 'null'::jsonb;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT coalesce(string_agg(n.key || ',', ''), '') INTO cols
      FROM jsonb_each(to_jsonb(NEW)) n WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key;
  END IF;
  INSERT INTO {WRITES_TABLE} VALUES (TG_TABLE_NAME, TG_OP, cols,
    CASE WHEN TG_TABLE_NAME = 'audit_event' AND TG_OP = 'INSERT'
      THEN to_jsonb(NEW) ->> 'action' END);
  RETURN NULL;
END $$;
"""


@dataclass(frozen=True)
class Write:
    table: str
    op: str
    columns: frozenset[str]
    action: str | None


def take_writes(app: FastAPI) -> list[Write]:
    """The writes logged since the last call (and forget them)."""
    with app.state.engine.begin() as conn:
        rows = conn.execute(text(f"SELECT tbl, op, cols, action FROM {WRITES_TABLE}")).all()
        conn.execute(text(f"DELETE FROM {WRITES_TABLE}"))
    return [
        Write(tbl, op, frozenset(c for c in cols.split(",") if c), action)
        for tbl, op, cols, action in rows
    ]
