"""The authoring workspace over HTTP: a trainer starts a course, edits it file by file, sees
each problem by file and line, previews and tries it while learners keep the published
version, publishes, rolls back; two editors cannot overwrite each other; the worker writes
what was published to the content folder (and commits it in a repository of its own); a sync
from disk never undoes a publish made in the browser."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select
from sqlmodel import Session

from app.main import create_app
from modules.accounts import grants
from modules.accounts.models import User
from modules.authoring import service
from modules.courses import service as courses
from modules.courses.models import Course
from tests.conftest import agency_id, csrf_from, make_settings, register, run_jobs
from tests.modules.courses.test_content_check import write_course

LESSON_A = "01-satu/01-a.md"


def png() -> bytes:
    """A real picture, with a comment a camera or editor might have left in it."""
    from PIL import Image, PngImagePlugin

    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "GPS -6.2, 106.8")
    Image.new("RGB", (8, 8), "navy").save(out, "PNG", pnginfo=info)
    return out.getvalue()


@pytest.fixture
def env(db_url: str, tmp_path: Path):
    root = write_course(tmp_path / "content", {})
    app = create_app(make_settings(db_url, content_dir=root))
    courses.sync_content(engine=app.state.engine, root=root)
    app.state.catalogue.refresh(force=True)
    yield app, root
    app.state.engine.dispose()


def person(app, role: str | None, number: str, course: str | None = None):
    """A client registered through the form and logged in, granted `role`."""
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url="http://testserver")
    email = f"p{number}@bkn.go.id"
    assert register(client, nip=f"19900101201503100{number}", email=email).status_code == 303
    if role:
        with Session(app.state.engine) as session:
            user = session.exec(select(User).where(User.email == email)).scalars().one()
            grants.grant(session=session, user=user, role=role, course_id=course)
    return client


def post(client, url: str, **data: str):
    data["csrf_token"] = csrf_from(client, "/")
    return client.post(url, data=data, follow_redirects=False)


def revision(client, course: str = "demo") -> str:
    page = client.get(f"/author/courses/{course}").text
    found = re.search(r'name="revision" value="(\d+)"', page)
    assert found, page
    return found.group(1)


def test_a_trainer_edits_previews_publishes_and_rolls_back(env) -> None:
    app, root = env
    trainer, learner = person(app, "trainer", "1"), person(app, None, "2")
    lesson_url = "/courses/demo/lessons/satu-a"
    assert "Isi pelajaran" in learner.get(lesson_url).text
    assert post(trainer, "/author/courses/demo/draft").status_code == 303
    text = trainer.get(f"/author/courses/demo/edit?path={LESSON_A}").text
    assert "Isi pelajaran dengan" in text
    # a mistake: a broken link on line 5, reported there, in Indonesian
    broken = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nBaru: [rusak](tidak-ada.md).\n"
    saved = post(
        trainer, "/author/courses/demo/edit", path=LESSON_A, text=broken, revision=revision(trainer)
    )
    assert saved.status_code == 303
    overview = trainer.get("/author/courses/demo").text
    assert f"{LESSON_A}:6" in overview and "tidak-ada.md" in overview
    assert 'disabled aria-describedby="problems"' in overview  # no publishing
    assert (
        post(trainer, "/author/courses/demo/publish", revision=revision(trainer)).status_code == 422
    )
    # fixed; the preview shows the draft while the learner still reads the published lesson
    fixed = broken.replace("[rusak](tidak-ada.md)", "teks yang diperbarui")
    post(
        trainer, "/author/courses/demo/edit", path=LESSON_A, text=fixed, revision=revision(trainer)
    )
    preview = trainer.get("/author/courses/demo/preview/lessons/satu-a")
    assert preview.status_code == 200 and "teks yang diperbarui" in preview.text
    assert "teks yang diperbarui" not in learner.get(lesson_url).text
    assert learner.get("/author/courses/demo/preview/lessons/satu-a").status_code == 403
    # publish: live for the learner at once
    assert (
        post(trainer, "/author/courses/demo/publish", revision=revision(trainer)).status_code == 303
    )
    assert "teks yang diperbarui" in learner.get(lesson_url).text
    history = trainer.get("/author/courses/demo/history").text
    assert "Diterbitkan di peramban" in history and "1 diubah" in history
    with Session(app.state.engine) as session:
        rows = courses.publications(session, "demo")
        first_version = rows[-1].version_id
        change = trainer.get(f"/author/courses/demo/history/{rows[0].id}").text
    assert "<ins>+Baru: teks yang diperbarui.</ins>" in change
    # roll back: the learner reads the first version again; the audit trail has each step
    assert (
        post(trainer, "/author/courses/demo/rollback", version_id=str(first_version)).status_code
        == 303
    )
    assert "teks yang diperbarui" not in learner.get(lesson_url).text
    with Session(app.state.engine) as session:
        actions = [r.action for r in courses.publications(session, "demo")]
        draft = service.get(session, "demo")
        assert draft is not None and not service.unpublished(session, draft)  # it followed
    assert actions == ["rollback", "publish", "sync"]
    audit = person(app, "admin", "3").get("/admin/audit").text
    for label in ("Menerbitkan draf", "Mengembalikan kursus", "Mengubah draf"):
        assert label in audit


def test_two_editors_on_one_revision_cannot_overwrite_each_other(env) -> None:
    app, _root = env
    first, second = person(app, "trainer", "1"), person(app, "trainer", "2")
    post(first, "/author/courses/demo/draft")
    seen = revision(first)
    assert revision(second) == seen
    mine = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nVersi pertama.\n"
    theirs = mine.replace("pertama", "kedua")
    assert (
        post(
            first, "/author/courses/demo/edit", path=LESSON_A, text=mine, revision=seen
        ).status_code
        == 303
    )
    late = post(second, "/author/courses/demo/edit", path=LESSON_A, text=theirs, revision=seen)
    assert late.status_code == 409
    assert "Versi kedua" in late.text  # their text stays on the page
    assert "tidak disimpan" in late.text.lower()
    with Session(app.state.engine) as session:
        assert service.files(session, "demo")[LESSON_A] == mine.encode()


def test_trying_a_quiz_in_the_preview_writes_no_row(env, tmp_path) -> None:
    app, root = env
    quiz = (
        "---\nid: satu-kuis\ntitle: Kuis Satu\nminutes: 5\npass_mark: 50\n---\n"
        "## satu-q1 (single)\nIbu kota Indonesia?\n\n- [x] Jakarta\n- [ ] Bandung\n"
    )
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    post(
        trainer,
        "/author/courses/demo/edit",
        path="01-satu/03-kuis.quiz.md",
        text=quiz,
        revision=revision(trainer),
    )
    page = trainer.get("/author/courses/demo/preview/quizzes/satu-kuis")
    assert page.status_code == 200, trainer.get("/author/courses/demo").text
    engine = app.state.engine
    tables = MetaData()
    tables.reflect(engine)

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for name, t in tables.tables.items()
            }

    before = counts()
    tried = post(
        trainer,
        "/author/courses/demo/preview/quizzes/satu-kuis",
        **{"q-satu-q1": "0", "order-satu-q1": "0,1"},
    )
    assert tried.status_code == 200 and "Skor 100%" in tried.text
    wrong = post(trainer, "/author/courses/demo/preview/quizzes/satu-kuis", **{"q-satu-q1": "1"})
    assert "Skor 0%" in wrong.text
    after = counts()
    # only the CSRF page views' sessions may move; no learning row, attempt, answer or job
    changed = {name for name in before if before[name] != after[name]}
    assert changed <= {"auth_session", "rate_counter"}, changed


def test_a_new_course_from_nothing_and_who_may_see_it(env) -> None:
    app, _root = env
    trainer, other = (
        person(app, "trainer", "1", course="demo"),
        person(app, "trainer", "2", course="demo"),
    )
    learner = person(app, None, "3")
    made = post(trainer, "/author/courses", course_id="etika-asn", title="Etika ASN")
    assert made.status_code == 303 and made.headers["location"] == "/author/courses/etika-asn"
    assert "lolos pemeriksaan" in trainer.get("/author/courses/etika-asn").text
    assert other.get("/author/courses/etika-asn").status_code == 403  # not theirs
    assert learner.get("/author").status_code == 403
    taken = post(trainer, "/author/courses", course_id="demo", title="Lagi")
    assert taken.status_code == 422 and "sudah ada" in taken.text
    bad = post(trainer, "/author/courses", course_id="Etika ASN!", title="Etika")
    assert bad.status_code == 422
    assert (
        post(
            trainer, "/author/courses/etika-asn/publish", revision=revision(trainer, "etika-asn")
        ).status_code
        == 303
    )
    assert "Etika ASN" in learner.get("/").text


def test_uploads_are_checked_and_an_image_needs_its_description(env) -> None:
    app, _root = env
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")

    def upload(name: str, data: bytes, **fields: str):
        fields.update(csrf_token=csrf_from(trainer, "/"), revision=revision(trainer))
        return trainer.post(
            "/author/courses/demo/upload",
            data=fields,
            files={"file": (name, data)},
            follow_redirects=False,
        )

    no_alt = upload("foto.png", png(), folder="01-satu/img")
    assert no_alt.status_code == 422 and "teks alternatif" in no_alt.text
    done = upload("foto.png", png(), folder="01-satu/img", alt="Logo instansi")
    assert done.status_code == 200 and "![Logo instansi](foto.png)" in done.text, re.findall(
        r"<p class=\"notice\"[^<]*", done.text
    )
    assert upload("palsu.png", b"MZ\x90\x00 not a picture").status_code == 422
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert upload("x.svg", svg, folder="01-satu").status_code == 422
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("course.md", "---\nid: demo\n---\n")
        archive.writestr("../../escape.md", "x")
    with Session(app.state.engine) as session:
        before = service.files(session, "demo")
    refused = upload("kursus.zip", slip.getvalue())
    assert refused.status_code == 422 and "escape.md" in refused.text
    with Session(app.state.engine) as session:
        assert service.files(session, "demo") == before  # nothing half-written
    # an image written without a description is a problem of its line
    lesson = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nLihat:\n\n![](img/foto.png)\n"
    post(
        trainer, "/author/courses/demo/edit", path=LESSON_A, text=lesson, revision=revision(trainer)
    )
    assert f"{LESSON_A}:8" in trainer.get("/author/courses/demo").text


def test_the_worker_writes_a_publish_to_disk_and_commits_it(env) -> None:
    app, root = env
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@x",
            "commit",
            "-qm",
            "start",
        ],
        check=True,
    )
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    text = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nDari peramban.\n"
    post(trainer, "/author/courses/demo/edit", path=LESSON_A, text=text, revision=revision(trainer))
    post(trainer, "/author/courses/demo/publish", revision=revision(trainer))
    run_jobs(app)
    assert (root / "demo" / LESSON_A).read_text() == text
    log = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%an <%ae>|%s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log.startswith("Siti") and "p1@bkn.go.id" in log and "demo: publish" in log
    assert (
        "Ditulis ke folder konten dan di-commit" in trainer.get("/author/courses/demo/history").text
    )
    # the sync that follows changes nothing: disk and database agree
    results = courses.sync_content(engine=app.state.engine, root=root)
    assert [r.created for r in results] == [False]
    with Session(app.state.engine) as session:
        assert [p.action for p in courses.publications(session, "demo")] == ["publish", "sync"]


def test_a_sync_of_a_folder_behind_never_undoes_a_browser_publish(env) -> None:
    app, root = env
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    text = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nDari peramban.\n"
    post(trainer, "/author/courses/demo/edit", path=LESSON_A, text=text, revision=revision(trainer))
    post(trainer, "/author/courses/demo/publish", revision=revision(trainer))
    with Session(app.state.engine) as session:
        live = session.get(Course, "demo").current_version_id
    courses.sync_content(engine=app.state.engine, root=root)  # the folder is the old version
    with Session(app.state.engine) as session:
        assert session.get(Course, "demo").current_version_id == live
    # a folder edited on disk and synced is a change like any other, and in the same history
    (root / "demo" / LESSON_A).write_text(text.replace("peramban", "disk"))
    courses.sync_content(engine=app.state.engine, root=root)
    with Session(app.state.engine) as session:
        assert [p.action for p in courses.publications(session, "demo")] == [
            "sync",
            "publish",
            "sync",
        ]


def test_a_moodle_bank_imported_into_the_draft_lists_what_it_could_not_keep(env) -> None:
    app, _root = env
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    bank = (
        "::satu-ibukota:: Ibu kota Indonesia? {=Jakarta ~Bandung ~Medan}\n\n"
        "::satu-esai:: Jelaskan pendapat Anda. {}\n"
    )
    fields = {
        "csrf_token": csrf_from(trainer, "/"),
        "revision": revision(trainer),
        "format": "gift",
        "folder": "01-satu",
        "quiz_id": "bank-satu",
        "title": "Bank Satu",
    }
    done = trainer.post(
        "/author/courses/demo/import",
        data=fields,
        files={"file": ("bank.gift", bank.encode())},
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    assert "1 soal diimpor ke 01-satu/bank-satu.quiz.md" in done.text
    assert "baris 3: soal esai (tanpa jawaban) tidak didukung (dilewati)" in done.text
    with Session(app.state.engine) as session:
        text = service.files(session, "demo")["01-satu/bank-satu.quiz.md"].decode()
    assert "## bank-satu-satu-ibukota (single)" in text and "minutes: 5" in text
    fields["format"] = "word"
    assert (
        trainer.post(
            "/author/courses/demo/import", data=fields, files={"file": ("bank.gift", bank.encode())}
        ).status_code
        == 422
    )


def test_an_agency_course_is_offered_to_the_agencies_its_owner_chooses(env) -> None:
    app, _root = env
    trainer = person(app, "trainer", "1")  # of BKN
    post(trainer, "/author/courses", course_id="etika-asn", title="Etika ASN")
    post(trainer, "/author/courses/etika-asn/publish", revision=revision(trainer, "etika-asn"))
    from fastapi.testclient import TestClient

    own, other = person(app, None, "2"), TestClient(app, base_url="http://testserver")
    lan = "Lembaga Administrasi Negara"
    assert (
        register(other, nip="199001012015031009", email="p9@lan.go.id", agency=lan).status_code
        == 303
    )
    lesson = "/courses/etika-asn/lessons/pengantar-sambutan"
    assert "Etika ASN" in own.get("/").text and own.get(lesson).status_code == 200
    admin = person(app, "admin", "4")
    lan_id = str(agency_id(admin, "LB-LAN"))
    assigned = post(admin, "/manage/assignments", course="etika-asn", agency=lan_id)
    assert assigned.status_code == 422 and "tidak ditawarkan kepada instansi itu" in assigned.text
    assert "Etika ASN" not in other.get("/").text
    assert (
        other.get(lesson).status_code == 404 and other.get("/courses/etika-asn").status_code == 404
    )
    quiz = (
        "---\nid: etika-kuis\ntitle: Kuis Etika\nminutes: 5\npass_mark: 50\n---\n"
        "## etika-q1 (single)\nIbu kota Indonesia?\n\n- [x] Jakarta\n- [ ] Bandung\n"
    )
    post(
        trainer,
        "/author/courses/etika-asn/edit",
        path="01-pengantar/02-kuis.quiz.md",
        text=quiz,
        revision=revision(trainer, "etika-asn"),
    )
    post(trainer, "/author/courses/etika-asn/publish", revision=revision(trainer, "etika-asn"))
    assert post(other, "/courses/etika-asn/quizzes/etika-kuis/start").status_code == 404
    # nor can they begin it by marking a lesson done, or asking for its status
    assert post(other, f"{lesson}/done").status_code == 404
    assert post(other, f"{lesson}/undone").status_code == 404
    assert other.get(f"{lesson}/status").status_code == 404
    assert other.get(lesson).status_code == 404
    assert post(own, "/courses/etika-asn/quizzes/etika-kuis/start").status_code == 303
    # a trainer of another agency cannot widen it; the owner's trainer can
    assert (
        post(
            trainer, "/author/courses/etika-asn/access", audience="chosen", agencies="LB-LAN"
        ).status_code
        == 303
    )
    assert "Etika ASN" in other.get("/").text and other.get(lesson).status_code == 200
    assert "Lembaga Administrasi Negara" in trainer.get("/author/courses/etika-asn").text
    bad = post(trainer, "/author/courses/etika-asn/access", audience="chosen", agencies="XX-NOPE")
    assert bad.status_code == 422 and "XX-NOPE" in bad.text
    national = post(trainer, "/author/courses/demo/access", audience="all")
    assert national.status_code == 403  # a national course: admins only


def test_a_reviewed_course_publishes_only_the_revision_another_person_approved(env) -> None:
    app, _root = env
    author, reviewer = person(app, "trainer", "1"), person(app, "trainer", "2")
    admin = person(app, "admin", "3")
    assert (
        post(admin, "/author/courses/demo/access", audience="all", accredited="on").status_code
        == 303
    )
    post(author, "/author/courses/demo/draft")
    text = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nDitinjau dulu.\n"
    post(author, "/author/courses/demo/edit", path=LESSON_A, text=text, revision=revision(author))
    refused = post(author, "/author/courses/demo/publish", revision=revision(author))
    assert refused.status_code == 422 and "peninjau menyetujui revisi ini" in refused.text
    assert post(author, "/author/courses/demo/review", revision=revision(author)).status_code == 303
    own = post(author, "/author/courses/demo/approve", revision=revision(author))
    assert own.status_code == 422  # four eyes
    assert (
        post(reviewer, "/author/courses/demo/approve", revision=revision(reviewer)).status_code
        == 303
    )
    # a change after the approval needs a new one
    post(
        author,
        "/author/courses/demo/edit",
        path=LESSON_A,
        text=text + "\nLagi.\n",
        revision=revision(author),
    )
    assert (
        post(author, "/author/courses/demo/publish", revision=revision(author)).status_code == 422
    )
    post(reviewer, "/author/courses/demo/approve", revision=revision(reviewer))
    assert (
        post(author, "/author/courses/demo/publish", revision=revision(author)).status_code == 303
    )
    audit = admin.get("/admin/audit").text
    assert "Menyetujui draf kursus" in audit and "Meminta tinjauan" in audit


def test_the_editor_of_a_published_quiz_shows_how_its_questions_perform(env) -> None:
    from modules.learning import workflow
    from modules.quizzes import service as quizzes
    from tests.conftest import make_user

    app, _root = env
    quiz_file = (
        "---\nid: satu-kuis\ntitle: Kuis Satu\nminutes: 5\npass_mark: 50\n---\n"
        "## satu-q1 (single)\nIbu kota Indonesia?\n\n- [x] Jakarta\n- [ ] Bandung\n"
    )
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    post(
        trainer,
        "/author/courses/demo/edit",
        path="01-satu/03-kuis.quiz.md",
        text=quiz_file,
        revision=revision(trainer),
    )
    assert (
        post(trainer, "/author/courses/demo/publish", revision=revision(trainer)).status_code == 303
    )
    app.state.catalogue.refresh(force=True)
    course = app.state.catalogue.get("demo")
    _module, quiz = course.quiz("satu-kuis")
    for k in range(4):  # three right, one wrong
        with Session(app.state.engine, expire_on_commit=False) as session:
            user = make_user(session, f"19900101201503109{k}", f"q{k}@bkn.go.id")
            attempt = workflow.start_attempt(
                session=session,
                user_id=user.id,
                course=course,
                quiz=quiz,
                catalogue=app.state.catalogue,
            )
            quizzes.save_answer(
                session=session,
                attempt=attempt,
                quiz=quiz,
                question_id="satu-q1",
                value=0 if k else 1,
            )
            quizzes.submit(session=session, attempt_id=attempt.id, quiz=quiz)
    page = trainer.get("/author/courses/demo/edit?path=01-satu/03-kuis.quiz.md").text
    table = page[page.index("Kinerja soal yang sudah diterbitkan") :]
    assert "4 percobaan dinilai" in table and "<code>satu-q1</code>" in table
    assert "75%" in table.replace("\xa0", "")  # facility
    assert "1✓: 3 · 2: 1" in table  # choices per option, the key marked


def test_the_worker_never_overwrites_changes_on_disk_that_were_never_synced(env) -> None:
    app, root = env
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    edited_on_disk = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nDi disk.\n"
    (root / "demo" / LESSON_A).write_text(edited_on_disk)
    text = edited_on_disk.replace("Di disk", "Di peramban")
    post(trainer, "/author/courses/demo/edit", path=LESSON_A, text=text, revision=revision(trainer))
    post(trainer, "/author/courses/demo/publish", revision=revision(trainer))
    run_jobs(app)
    assert (root / "demo" / LESSON_A).read_text() == edited_on_disk
    assert "Tidak ditulis ke folder konten" in trainer.get("/author/courses/demo/history").text


# ---- found by an attacker's probe of the workspace -------------------------------------------


def test_an_author_cannot_lift_the_review_or_approve_a_draft_they_changed(env) -> None:
    app, _root = env
    first, second = person(app, "trainer", "1"), person(app, "trainer", "2")
    third, admin = person(app, "trainer", "3"), person(app, "admin", "4")
    post(admin, "/author/courses/demo/access", audience="all", accredited="on")
    post(first, "/author/courses/demo/draft")
    # the owner agency's trainer may widen the audience but never lift the review: the demo
    # course is national, so only admins reach the form at all
    assert post(first, "/author/courses/demo/access", audience="all").status_code == 403
    text = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nPerubahan pertama.\n"
    post(first, "/author/courses/demo/edit", path=LESSON_A, text=text, revision=revision(first))
    notes = "catatan kecil\n"
    post(
        second,
        "/author/courses/demo/edit",
        path="01-satu/notes.txt",
        text=notes,
        revision=revision(second),
    )
    # the first author is not the last editor, yet made a change: no approving it
    refused = post(first, "/author/courses/demo/approve", revision=revision(first))
    assert refused.status_code == 422 and "empat mata" in refused.text
    assert (
        post(second, "/author/courses/demo/approve", revision=revision(second)).status_code == 422
    )
    assert post(third, "/author/courses/demo/approve", revision=revision(third)).status_code == 303
    assert post(first, "/author/courses/demo/publish", revision=revision(first)).status_code == 303


def test_an_agency_trainer_keeps_the_review_on_their_own_course(env) -> None:
    app, _root = env
    trainer, admin = person(app, "trainer", "1"), person(app, "admin", "2")
    post(trainer, "/author/courses", course_id="etika-asn", title="Etika ASN")
    post(admin, "/author/courses/etika-asn/access", audience="chosen", accredited="on")
    assert post(trainer, "/author/courses/etika-asn/access", audience="all").status_code == 303
    with Session(app.state.engine) as session:
        access = courses.access_of(session=session, course_id="etika-asn")
        assert access.accredited and access.review and access.agencies is None


def test_a_save_between_the_check_and_the_read_is_never_published(env, monkeypatch) -> None:
    app, _root = env
    trainer, other = person(app, "trainer", "1"), person(app, "trainer", "2")
    post(trainer, "/author/courses/demo/draft")
    seen = revision(trainer)
    real = service.files
    raced = "---\nid: satu-a\ntitle: Pelajaran A\nminutes: 90\n---\nMenyelinap.\n"

    def files_after_a_save(session, course_id):
        monkeypatch.setattr(service, "files", real)
        post(other, "/author/courses/demo/edit", path=LESSON_A, text=raced, revision=seen)
        return real(session, course_id)

    monkeypatch.setattr(service, "files", files_after_a_save)
    late = post(trainer, "/author/courses/demo/publish", revision=seen)
    assert late.status_code == 409
    learner = person(app, None, "3")
    assert "Menyelinap" not in learner.get("/courses/demo/lessons/satu-a").text


def test_opening_a_draft_gives_no_lasting_right_to_the_course(env) -> None:
    app, _root = env
    trainer = person(app, "trainer", "1", course="demo")
    post(trainer, "/author/courses/demo/draft")
    with Session(app.state.engine) as session:
        user = session.exec(select(User).where(User.email == "p1@bkn.go.id")).scalars().one()
        for row in grants.grants_of(session=session, user_id=user.id):
            grants.withdraw(session=session, user=user, grant_id=row.id, actor_id=None, address="")
        grants.grant(session=session, user=user, role="trainer", course_id="berakhlak")
    assert trainer.get("/author/courses/demo").status_code == 403


def test_paths_that_cannot_sit_in_a_course_folder_are_refused(env) -> None:
    app, _root = env
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    for path in ("01-satu/x\n/y.md", "a" * 120 + ".md", f"{LESSON_A}/dalam.md", "01-satu"):
        answer = post(
            trainer, "/author/courses/demo/edit", path=path, text="x", revision=revision(trainer)
        )
        assert answer.status_code == 422, path
    # a title that YAML would read otherwise is written quoted
    post(trainer, "/author/courses", course_id="kutip", title="[a, b] # c")
    assert "lolos pemeriksaan" in trainer.get("/author/courses/kutip").text


def test_archives_with_bad_names_or_many_small_files_are_refused(env) -> None:
    app, _root = env
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")

    def upload(archive_bytes: bytes):
        fields = {"csrf_token": csrf_from(trainer, "/"), "revision": revision(trainer)}
        return trainer.post(
            "/author/courses/demo/upload",
            data=fields,
            files={"file": ("kursus.zip", archive_bytes)},
        )

    def zipped(entries: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries.items():
                archive.writestr(name, data)
        return out.getvalue()

    with Session(app.state.engine) as session:
        before = service.files(session, "demo")
    course = before["course.md"]
    hidden = upload(zipped({"course.md": course, ".notes/a.md": b"x"}))
    assert hidden.status_code == 422
    many = {f"f{i}.txt": bytes([65 + i % 26]) * 60_000 for i in range(60)}
    bomb = upload(zipped({"course.md": course, **many}))
    assert bomb.status_code == 422 and "mungkin bom zip" in bomb.text
    with Session(app.state.engine) as session:
        assert service.files(session, "demo") == before


def test_an_svg_script_in_another_namespace_is_refused() -> None:
    from modules.authoring import archive

    for svg in (
        b'<svg xmlns="http://www.w3.org/2000/svg"><h:script xmlns:h="http://www.w3.org/1999/xhtml">'
        b"alert(1)</h:script></svg>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" '
        b'to="javascript:alert(1)"/></a></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><animate attributeName="onbegin"/></svg>',
    ):
        problem, _data = archive.file_problem("gambar.svg", svg)
        assert problem, svg


def test_uploads_take_their_own_size_limit_and_unused_files_are_pruned(env) -> None:
    app, _root = env
    trainer = person(app, "trainer", "1")
    post(trainer, "/author/courses/demo/draft")
    pdf = b"%PDF-1.4\n" + b"0" * 1_500_000  # over the 1 MB request limit of other routes
    fields = {
        "csrf_token": csrf_from(trainer, "/"),
        "revision": revision(trainer),
        "folder": "01-satu",
    }
    done = trainer.post(
        "/author/courses/demo/upload", data=fields, files={"file": ("panduan.pdf", pdf)}
    )
    assert done.status_code == 200, done.text[:300]
    post(
        trainer,
        "/author/courses/demo/delete",
        path="01-satu/panduan.pdf",
        revision=revision(trainer),
    )
    from app import jobs
    from modules.courses.models import SourceFile

    with Session(app.state.engine) as session:
        jobs.enqueue(session, "authoring.prune_sources", {})
        session.commit()
    run_jobs(app)
    with Session(app.state.engine) as session:
        sizes = session.exec(select(SourceFile.size)).scalars().all()
        assert max(sizes) < 1_000_000  # the deleted upload's bytes are gone
        assert service.files(session, "demo")  # what drafts and versions use stays
