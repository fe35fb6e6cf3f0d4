"""Catalogue, rendering, assets, and a broken course that keeps its last good version."""

from __future__ import annotations

import shutil
from pathlib import Path

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ROOT
from modules.courses import service
from tests.conftest import csrf_from, make_settings, register, run_jobs
from tests.modules.courses.test_content_check import write_course


def test_catalogue_lists_the_shipped_course(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Internalisasi Nilai Dasar ASN BerAKHLAK" in page.text
    assert "11 JP" in page.text


def test_course_page_lists_modules_and_lessons(client) -> None:
    soup = BeautifulSoup(client.get("/courses/berakhlak").text, "html.parser")
    assert len(soup.select("ol.modules > li")) == 10
    assert len(soup.select("ol.lessons > li")) == 39


def test_lesson_renders_callouts_tables_and_footnotes(client) -> None:
    register(client)
    html = client.get("/courses/berakhlak/lessons/berorientasi-pelayanan-kasus-puskesmas").text
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select("div.callout-case[role=note] .callout-title")
    assert soup.select("div.callout-reflection")
    assert soup.select(".footnotes li")
    assert soup.find("h1").get_text(strip=True)
    assert soup.select('a[rel="next"]') and soup.select('a[rel="prev"]')


def _sync(engine, root: Path):
    return service.sync_content(engine=engine, root=root)


def test_raw_html_is_escaped_and_assets_are_served(db_url, tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "content",
        {"demo/01-satu/02-b.md": "---\nid: satu-b\ntitle: Dua\n---\n<script>alert(1)</script>\n"},
    )
    app = create_app(make_settings(db_url, content_dir=root))
    results = _sync(app.state.engine, root)
    assert results[0].errors == [] and results[0].created
    with TestClient(app) as client:
        register(client)
        lesson = client.get("/courses/demo/lessons/satu-b").text
        assert "<script>alert" not in lesson and "&lt;script&gt;" in lesson
        first = BeautifulSoup(client.get("/courses/demo/lessons/satu-a").text, "html.parser")
        image = first.select_one(".prose img")["src"]
        assert first.select_one(".prose a[href='/courses/demo/lessons/satu-b']")
        asset = client.get(image)
        assert asset.status_code == 200 and asset.headers["content-type"] == "image/png"
        assert "immutable" in asset.headers["cache-control"]
        assert client.get("/assets/" + "0" * 64 + "/x.png").status_code == 404
    app.state.engine.dispose()


def test_broken_course_keeps_serving_its_last_good_version(db_url, tmp_path: Path) -> None:
    root = write_course(tmp_path / "content", {})
    app = create_app(make_settings(db_url, content_dir=root))
    good = _sync(app.state.engine, root)[0]
    (root / "demo/01-satu/02-b.md").write_text("---\nid: satu-b\ntitle: Dua\nbad: 1\n---\nX\n")
    broken = _sync(app.state.engine, root)[0]
    assert broken.errors and broken.kept_previous and broken.version == good.version
    with TestClient(app) as client:
        health = client.get("/healthz").json()
        demo = next(c for c in health["content"] if c["course"] == "demo")
        assert demo["status"] == "broken" and demo["serving"] == good.version
        register(client)
        assert "Isi kedua" in client.get("/courses/demo/lessons/satu-b").text
    app.state.engine.dispose()


def test_new_version_is_picked_up_and_progress_keeps_its_version(db_url, tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "berakhlak", root / "berakhlak")
    app = create_app(make_settings(db_url, content_dir=root))
    with TestClient(app) as client:
        register(client)
        from tests.modules.progress.test_progress import mark

        mark(client, "pengantar-mengapa-nilai-dasar")
        lesson = root / "berakhlak/00-pengantar/01-mengapa-nilai-dasar.md"
        lesson.write_text(lesson.read_text() + "\nParagraf tambahan versi baru.\n")
        result = _sync(app.state.engine, root)[0]
        assert result.created
        app.state.catalogue.refresh(force=True)
        page = client.get("/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar").text
        assert "Paragraf tambahan versi baru." in page
        assert "1 dari 39 pelajaran selesai" in page
    app.state.engine.dispose()


def test_broken_course_file_still_names_the_version_served(db_url, tmp_path: Path) -> None:
    root = write_course(tmp_path / "content", {})
    app = create_app(make_settings(db_url, content_dir=root))
    good = _sync(app.state.engine, root)[0]
    (root / "demo/course.md").write_text("---\nid: demo\ntitle: [rusak\n---\n")
    broken = _sync(app.state.engine, root)[0]
    assert broken.course_id == "demo" and broken.kept_previous
    assert broken.version == good.version
    with TestClient(app) as client:
        demo = next(c for c in client.get("/healthz").json()["content"] if c["folder"] == "demo")
        assert demo["status"] == "broken" and demo["serving"] == good.version
    app.state.engine.dispose()


def test_duplicate_course_id_is_reported_on_the_second_folder(db_url, tmp_path: Path) -> None:
    root = write_course(tmp_path / "content", {})
    shutil.copytree(root / "demo", root / "demo-copy")
    app = create_app(make_settings(db_url, content_dir=root))
    results = {Path(r.folder).name: r for r in _sync(app.state.engine, root)}
    assert results["demo"].errors == []
    assert any("course.md:1:" in str(e) and "'demo'" in str(e) for e in results["demo-copy"].errors)
    app.state.engine.dispose()


def test_a_removed_course_folder_withdraws_the_course(db_url, tmp_path: Path) -> None:
    root = tmp_path / "content"
    write_course(root, {})
    shutil.copytree(ROOT / "content" / "berakhlak", root / "berakhlak")
    app = create_app(make_settings(db_url, content_dir=root))
    _sync(app.state.engine, root)
    shutil.rmtree(root / "demo")
    _sync(app.state.engine, root)
    app.state.catalogue.refresh(force=True)
    assert app.state.catalogue.get("demo") is None
    assert app.state.catalogue.get("berakhlak") is not None
    with TestClient(app) as client:
        folders = [c["folder"] for c in client.get("/healthz").json()["content"]]
        assert folders == ["berakhlak"]
    app.state.engine.dispose()


def test_a_learner_left_at_n_of_n_by_a_new_version_is_completed(db_url, tmp_path: Path) -> None:
    from sqlmodel import Session, select

    from modules.progress.models import CourseCompletion

    root = write_course(tmp_path / "content", {})
    app = create_app(make_settings(db_url, content_dir=root))
    _sync(app.state.engine, root)
    with TestClient(app) as client:
        register(client)
        page = "/courses/demo/lessons/satu-a"
        client.post(f"{page}/done", data={"csrf_token": csrf_from(client, page)})
        (root / "demo/01-satu/02-b.md").unlink()
        (root / "demo/01-satu/01-a.md").write_text(
            (root / "demo/01-satu/01-a.md").read_text().replace("(02-b.md)", "(01-a.md)")
        )
        assert _sync(app.state.engine, root)[0].created
        app.state.catalogue.refresh(force=True)
        assert "1 dari 1 pelajaran selesai" in client.get("/courses/demo").text
        with Session(app.state.engine) as session:  # pages only read: not yet completed
            assert session.exec(select(CourseCompletion)).all() == []
        assert run_jobs(app) >= 1  # the worker settles the course's learners again
        with Session(app.state.engine) as session:
            assert session.exec(select(CourseCompletion)).one().course_id == "demo"
        assert "Sertifikat" in client.get("/certificates").text
        assert "Selesai pada" in client.get("/courses/demo").text
    app.state.engine.dispose()
