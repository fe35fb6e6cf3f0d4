"""A small completed course for certificate tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.main import create_app
from modules.certificates import service
from modules.courses import service as courses_service
from modules.progress import service as progress_service
from tests.conftest import csrf_from, make_settings, make_user, run_jobs
from tests.modules.courses.test_content_check import write_course


def make_app(db_url: str, tmp_path: Path, **overrides: object):
    root = write_course(tmp_path / "content", {})
    app = create_app(
        make_settings(
            db_url,
            content_dir=root,
            certificate_cache_dir=tmp_path / "pdf",
            base_url="http://testserver",
            **overrides,
        )
    )
    courses_service.sync_content(engine=app.state.engine, root=root)
    run_jobs(app)
    return app


def completed_user(
    app, index: int = 1, completed_at: datetime | None = None, **fields: object
) -> int:
    """A learner with a recorded completion of the demo course and the certificate it owes
    (an outbox row: not issued until a worker runs), as the learning workflow records them."""
    course = app.state.catalogue.get("demo")
    with Session(app.state.engine, expire_on_commit=False) as session:
        user = make_user(
            session,
            nip_number=f"19900101201503{1 + index % 2}{index:03d}",
            email=f"peserta{index}@bkn.go.id",
            **fields,
        )
        completion = progress_service.record_completion(
            session=session,
            user_id=user.id,
            course_id="demo",
            version_id=course.version_id,
            jp=course.content.jp,
        )
        service.owe(
            session=session,
            owed=service.Owed(
                user_id=user.id,
                course_id="demo",
                completed_at=completed_at or completion.completed_at,
                jp=completion.jp,
                content_version_id=completion.content_version_id,
            ),
        )
        session.commit()
        return int(user.id)


def issue(app, user_id: int):
    """Run the worker (which issues what is owed), then the learner's certificate."""
    run_jobs(app)
    with Session(app.state.engine, expire_on_commit=False) as session:
        return service.current(session=session, user_id=user_id, course_id="demo")


def complete_in_browserless_client(client: TestClient) -> None:
    """Mark both demo lessons done through the real routes, then run the worker (which issues
    the certificate the completion owes)."""
    for lesson in ("satu-a", "satu-b"):
        token = csrf_from(client, f"/courses/demo/lessons/{lesson}")
        response = client.post(
            f"/courses/demo/lessons/{lesson}/done",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
    run_jobs(client.app)  # type: ignore[arg-type]
