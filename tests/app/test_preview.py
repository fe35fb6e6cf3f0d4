"""`berakhlak content preview`: one course from disk on a temporary database of its own, loaded
again when a file changes; the learners' database is never touched."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import preview
from app.cli import _preview_reload, _preview_start, cli
from modules.accounts.models import User
from tests.conftest import login, make_settings
from tests.modules.courses.test_content_check import LESSON, write_course


def test_a_course_is_previewed_from_disk_and_loaded_again_on_save(
    db_url: str, tmp_path: Path, app
) -> None:
    folder = write_course(tmp_path / "content", {}) / "demo"
    shown = _preview_start(folder, make_settings(db_url))
    try:
        engine = shown.app.state.engine
        assert str(engine.url).startswith("sqlite:///") and str(shown.work) in str(engine.url)
        with TestClient(shown.app) as client:
            assert login(client, preview.PREVIEW_EMAIL, shown.password).status_code == 303
            page = client.get("/courses/demo/lessons/satu-a")
            assert page.status_code == 200 and "Isi pelajaran" in page.text
            assert _preview_reload(shown) is False  # nothing saved yet
            (folder / "01-satu" / "01-a.md").write_text(
                LESSON.replace("Isi pelajaran", "Isi yang baru ditulis"), encoding="utf-8"
            )
            assert _preview_reload(shown) is True
            assert "Isi yang baru ditulis" in client.get("/courses/demo/lessons/satu-a").text
            # a save that breaks the file: the last good version stays on show
            (folder / "01-satu" / "01-a.md").write_text("---\nid: [\n---\n", encoding="utf-8")
            assert _preview_reload(shown) is True
            assert "Isi yang baru ditulis" in client.get("/courses/demo/lessons/satu-a").text
    finally:
        preview.close(shown)
    assert not shown.work.exists()  # nothing the preview did is kept
    # the database the settings named (the learners') never saw the preview
    with Session(app.state.engine) as session:
        assert session.exec(select(User).where(User.email == preview.PREVIEW_EMAIL)).all() == []


def test_the_command_refuses_what_it_cannot_show(tmp_path: Path) -> None:
    missing = CliRunner().invoke(cli, ["content", "preview", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "bukan folder" in missing.output
    empty = CliRunner().invoke(cli, ["content", "preview", str(tmp_path)])
    assert empty.exit_code == 2
