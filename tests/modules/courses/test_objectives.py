"""Learning objectives: declared in course.md and module.md, checked, shown on the course page
and on the verification page of a certificate of that version."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from modules.certificates.models import Certificate
from modules.courses import service as courses_service
from modules.learning import workflow
from tests.conftest import make_settings, make_user, run_jobs
from tests.modules.courses.test_content_check import COURSE, MODULE, check, write_course

COURSE_GOALS = (
    "objectives:\n"
    "  - Menjelaskan arti akuntabel dalam pekerjaan sehari-hari\n"
    "  - Memilih tindakan yang akuntabel dalam kasus pelayanan\n"
)
MODULE_GOALS = "objectives:\n  - Mengenali penyalahgunaan fasilitas negara\n"


def _with(front: str, extra: str) -> str:
    head, rest = front.split("\n---\n", 1)
    return f"{head}\n{extra}---\n{rest}"


def test_objectives_are_checked(tmp_path: Path) -> None:
    short = _with(MODULE, "objectives:\n  - Abc\n")
    root = write_course(tmp_path / "content", {"demo/01-satu/module.md": short})
    assert any("objectives" in e for e in check(root))
    root = write_course(
        tmp_path / "ok",
        {
            "demo/course.md": _with(COURSE, COURSE_GOALS),
            "demo/01-satu/module.md": _with(MODULE, MODULE_GOALS),
        },
    )
    assert check(root) == []


def test_objectives_are_shown_on_the_course_and_the_certificate(db_url: str, tmp_path: Path):
    root = write_course(
        tmp_path / "content",
        {
            "demo/course.md": _with(COURSE, COURSE_GOALS),
            "demo/01-satu/module.md": _with(MODULE, MODULE_GOALS),
        },
    )
    app = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=app.state.engine, root=root)
    course = app.state.catalogue.get("demo")
    assert course.content.objectives[0].startswith("Menjelaskan arti akuntabel")
    with TestClient(app) as client:
        page = client.get("/courses/demo").text
        assert "Tujuan pembelajaran" in page and "Memilih tindakan yang akuntabel" in page
        assert "Tujuan modul ini" in page and "Mengenali penyalahgunaan" in page
        with Session(app.state.engine) as session:
            user_id = make_user(session).id
        with Session(app.state.engine) as session:
            for lesson_id in course.lesson_ids:
                workflow.lesson_done(
                    session=session, user_id=user_id, course=course, lesson_id=lesson_id
                )
        run_jobs(app)
        with Session(app.state.engine) as session:
            number = session.exec(select(Certificate.number)).one()
        verify = client.get(f"/verify/{number}").text
        assert "Tujuan pembelajaran" in verify and "Menjelaskan arti akuntabel" in verify
    app.state.engine.dispose()


def test_the_shipped_course_states_its_objectives_and_every_modules() -> None:
    from app.settings import ROOT
    from modules.courses.content import load_content_dir

    courses, errors = load_content_dir(ROOT / "content")
    assert not errors
    course = next(c.content for c in courses if c.content and c.content.id == "berakhlak")
    assert len(course.objectives) >= 3
    assert all(len(m.objectives) >= 2 for m in course.modules), [
        m.id for m in course.modules if len(m.objectives) < 2
    ]
