"""Alembic migrations are the only schema source: after upgrading, models and database agree."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from app.models_registry import metadata


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == [], f"write a migration (berakhlak db revision -m ...): {diff}"


def test_completions_without_a_certificate_become_owed_on_upgrade(db_url: str) -> None:
    """Before the worker, certificates were issued on a page view: the migration that brings
    the outbox makes every completion still without one owed, and the worker issues it. The
    way down and up again is walked too."""
    from sqlmodel import Session, select

    from app import migrate
    from app.db import make_engine
    from app.jobs import Job
    from app.main import create_app, make_worker
    from modules.certificates.models import Certificate
    from tests.conftest import make_settings

    engine = make_engine(db_url)
    command.downgrade(migrate.alembic_config(engine), "5a1c0e7d9b21")  # before the outbox
    with Session(engine) as session:
        # the schema of that revision (no columns added since): a plain insert
        user_id = session.exec(
            text(
                'INSERT INTO "user" (nip, employment_type, name, email, password_hash, '
                "agency_id, work_unit, position, grade, active, created_at) VALUES "
                "('199001012015031001', 'PNS', 'Siti', 'siti@bkn.go.id', 'x', 1, 'Unit', "
                "'Analis', 'III/a', :t, :at) RETURNING id"
            ).bindparams(t=True, at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        ).scalar_one()
        version = session.exec(text("SELECT current_version_id FROM course")).scalar_one()
        session.exec(
            text(
                "INSERT INTO course_completion (user_id, course_id, content_version_id, jp, "
                "completed_at) VALUES (:u, 'berakhlak', :v, 10, :at)"
            ).bindparams(u=user_id, v=version, at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        )
        session.commit()
    migrate.upgrade(engine)
    with Session(engine) as session:
        job = session.exec(select(Job)).all()
        owed = [j for j in job if j.kind == "certificate.issue"]
        assert len(owed) == 1 and owed[0].data()["completed_at"].startswith("2026-11-30T08:00")
    engine.dispose()
    app = create_app(make_settings(db_url))
    make_worker(app.state).run_until_idle()
    with Session(app.state.engine) as session:
        certificate = session.exec(select(Certificate)).one()
        assert certificate.user_id == user_id and certificate.completed_at.day == 30
    app.state.engine.dispose()


def test_the_restore_generation_migration_keeps_reissued_certificates(db_url, tmp_path) -> None:
    """The certificate table is rebuilt on SQLite (AUTOINCREMENT) although it refers to itself
    (a re-issue's `replaces_id`): down and up again with a re-issued certificate in it, on the
    app's own connections (foreign keys enforced)."""
    from sqlmodel import Session, select

    from app import migrate
    from modules.certificates import service
    from modules.certificates.models import Certificate
    from tests.modules.certificates.helpers import completed_user, issue, make_app

    app = make_app(db_url, tmp_path)
    first = issue(app, completed_user(app))
    with Session(app.state.engine, expire_on_commit=False) as session:
        second = service.reissue(
            session=session,
            certificate=session.get(Certificate, first.id),
            policy=app.state.certificate_policy,
            actor_id=None,
            address="test",
        )
    engine = app.state.engine
    command.downgrade(migrate.alembic_config(engine), "660a2f7762f1")
    migrate.upgrade(engine)
    with Session(engine) as session:
        rows = {c.id: c for c in session.exec(select(Certificate)).all()}
        assert rows[second.id].replaces_id == first.id and rows[first.id].revoked_at is not None
        assert {c.generation for c in rows.values()} == {0}
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_rosters_applied_before_hold_the_people_they_made(db_url: str) -> None:
    """The migration that brings roster entries records the people a roster made (unclaimed,
    or claimed as the audit trail says) as held by their agency's roster; people who
    registered themselves are held by none (their disputes go to an administrator)."""
    from app import migrate
    from app.db import make_engine

    engine = make_engine(db_url)
    command.downgrade(migrate.alembic_config(engine), "983037de730f")  # before roster_entry
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for i, hashed in enumerate(("", "argon2-hash", "argon2-hash"), start=1):
            conn.execute(
                text(
                    'INSERT INTO "user" (nip, employment_type, name, email, password_hash, '
                    "agency_id, work_unit, position, grade, active, created_at) VALUES "
                    "(:nip, 'PNS', 'Siti', :email, :hash, 1, 'Unit', 'Analis', 'III/a', "
                    ":t, :at)"
                ),
                {
                    "nip": f"19900101201503100{i}",
                    "email": f"p{i}@bkn.go.id",
                    "hash": hashed,
                    "t": True,
                    "at": at,
                },
            )
        conn.execute(
            text(
                "INSERT INTO audit_event (at, actor_id, action, subject_type, subject_id, "
                "detail, address) VALUES (:at, NULL, 'user.claim', 'user', "
                "'199001012015031002', '', '')"
            ),
            {"at": at},
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        held = conn.execute(text("SELECT nip, email FROM roster_entry ORDER BY nip")).all()
    engine.dispose()
    assert [tuple(r) for r in held] == [
        ("199001012015031001", "p1@bkn.go.id"),
        ("199001012015031002", "p2@bkn.go.id"),
    ]
