"""Progress: mark done (htmx and plain form), completion and JP, resume point, my learning."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlmodel import select

from modules.progress.models import CourseCompletion, LessonProgress
from tests.conftest import csrf_from, make_user, register, run_jobs

COURSE = "/courses/berakhlak"
FIRST = "pengantar-mengapa-nilai-dasar"
SECOND = "pengantar-landasan-hukum"


def lesson_url(lesson_id: str) -> str:
    return f"{COURSE}/lessons/{lesson_id}"


def mark(client, lesson_id: str, htmx: bool = False, what: str = "done"):
    token = csrf_from(client, "/")
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"{lesson_url(lesson_id)}/{what}",
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )


def test_lessons_need_a_login_but_the_course_page_does_not(client) -> None:
    assert client.get(COURSE).status_code == 200
    response = client.get(lesson_url(FIRST), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={lesson_url(FIRST)}"


def test_unknown_course_or_lesson_is_404(client) -> None:
    register(client)
    assert client.get("/courses/tidak-ada").status_code == 404
    assert client.get(lesson_url("tidak-ada")).status_code == 404
    assert mark(client, "tidak-ada").status_code == 404


def test_plain_form_marks_done_and_goes_to_the_next_lesson(client, session) -> None:
    register(client)
    response = mark(client, FIRST)
    assert response.status_code == 303
    assert response.headers["location"] == f"{lesson_url(SECOND)}?marked={FIRST}"
    assert "telah ditandai selesai" in client.get(response.headers["location"]).text
    row = session.exec(select(LessonProgress)).one()
    assert row.lesson_id == FIRST and row.content_version_id > 0


def test_htmx_gets_the_status_fragment(client) -> None:
    register(client)
    response = mark(client, FIRST, htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card status"')
    assert "<html" not in response.text
    assert "Vary" in response.headers and "HX-Request" in response.headers["vary"]
    undone = mark(client, FIRST, htmx=True, what="undone")
    assert "/done" in undone.text


def test_double_submit_counts_once(client, session) -> None:
    register(client)
    mark(client, FIRST)
    mark(client, FIRST)
    assert len(session.exec(select(LessonProgress)).all()) == 1


def _user_id(session) -> int:
    from modules.accounts.models import User

    return session.exec(select(User)).one().id


def test_completing_every_lesson_completes_the_course_once(client, session, app) -> None:
    from tests.modules.quizzes.helpers import pass_quizzes

    register(client)
    course = app.state.catalogue.get("berakhlak")
    assert course.content.completion == "modules"  # lessons, quizzes, tests and the plan
    pass_quizzes(app, _user_id(session), course)
    assert session.exec(select(CourseCompletion)).all() == []  # lessons still to do
    plan = client.get(f"{COURSE}/plan").text
    assert "aktivitas terakhir" in plan and 'name="behaviour-pelayanan"' not in plan
    for lesson_id in course.lesson_ids[:-1]:
        mark(client, lesson_id)
    assert session.exec(select(CourseCompletion)).all() == []
    before_last = mark(client, course.lesson_ids[-2], what="undone", htmx=True)
    assert "done-badge" not in before_last.text
    mark(client, course.lesson_ids[-2])
    last = mark(client, course.lesson_ids[-1], htmx=True)
    assert "HX-Redirect" not in last.headers  # the action plan is still to write
    assert session.exec(select(CourseCompletion)).all() == []
    # the plan, the last activity, completes the course: the moment has its own page
    form = client.get(f"{COURSE}/plan").text
    assert 'name="behaviour-pelayanan"' in form
    due = (date.today() + timedelta(days=20)).isoformat()
    data = {
        "csrf_token": csrf_from(client, f"{COURSE}/plan"),
        "behaviour-pelayanan": "Setiap Senin saya mengabari pemohon tentang berkas mereka.",
        "evidence-pelayanan": "Tidak ada pemohon yang bertanya dua kali tentang status.",
        "due-pelayanan": due,
    }
    bad = client.post(f"{COURSE}/plan", data={**data, "due-pelayanan": "kemarin"})
    assert bad.status_code == 422 and "Setiap Senin saya mengabari" in bad.text
    done = client.post(f"{COURSE}/plan", data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{COURSE}/completed"
    moment = client.get(f"{COURSE}/completed").text
    assert "Rencana aksi Anda" in moment
    assert "Selamat! Anda telah menyelesaikan kursus ini." in moment
    assert f"<strong>{course.content.jp} JP</strong>" in moment
    completion = session.exec(select(CourseCompletion)).one()
    assert completion.jp == course.content.jp
    mark(client, course.lesson_ids[-1], what="undone")
    mark(client, course.lesson_ids[-1])
    assert len(session.exec(select(CourseCompletion)).all()) == 1
    page = client.get("/me/learning").text
    assert f"{course.content.jp} <span>/ 20 JP" in page


def test_resume_point_follows_the_last_lesson_opened(client) -> None:
    register(client)
    client.get(lesson_url(SECOND))
    page = client.get(COURSE).text
    assert f'href="{lesson_url(SECOND)}"' in page and "Lanjutkan" in page
    mark(client, SECOND)
    page = client.get(COURSE).text
    assert "Lanjutkan: " in page
    learning = client.get("/me/learning").text
    assert "Internalisasi Nilai Dasar ASN BerAKHLAK" in learning


def test_learners_progress_is_their_own(client, app) -> None:
    from fastapi.testclient import TestClient

    register(client)
    mark(client, FIRST)
    other = TestClient(app)
    register(other, nip="199202022016042002", email="budi@bkn.go.id")
    page = other.get(COURSE).text
    assert "0 dari 39 pelajaran selesai" in page


def test_jp_year_follows_the_site_time_zone(session, app) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from modules.courses.models import Course
    from modules.progress import service

    user = make_user(session)
    course = session.get(Course, "berakhlak")
    # 06:00 WIB on 1 January 2026 is still 31 December 2025 in UTC.
    session.add(
        CourseCompletion(
            user_id=user.id,
            course_id="berakhlak",
            jp=10,
            content_version_id=course.current_version_id,
            completed_at=datetime(2025, 12, 31, 23, 0, tzinfo=UTC),
        )
    )
    session.commit()
    jakarta = ZoneInfo("Asia/Jakarta")
    assert service.jp_earned(session=session, user_id=user.id, year=2026, zone=jakarta) == 10
    assert service.jp_earned(session=session, user_id=user.id, year=2025, zone=jakarta) == 0
    assert service.jp_earned(session=session, user_id=user.id, year=2025, zone=UTC) == 10


def test_mark_done_after_the_session_ended_returns_to_the_lesson(client, app) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import PASSWORD, login

    register(client)
    token = csrf_from(client, lesson_url(FIRST))
    other_tab = TestClient(app, cookies=dict(client.cookies))
    other_tab.post("/logout", data={"csrf_token": token})  # the session ends elsewhere
    response = client.post(
        f"{lesson_url(FIRST)}/done",
        data={"csrf_token": token},
        headers={"Referer": f"http://testserver{lesson_url(FIRST)}"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?expired=1&next={lesson_url(FIRST)}"
    assert "sesi anda telah berakhir" in client.get(response.headers["location"]).text.lower()
    back = login(client, "199001012015031001", PASSWORD)
    # login() posts without the next field; the form carries it in a real browser
    assert back.status_code == 303
    stale = client.post(f"{lesson_url(FIRST)}/done", data={"csrf_token": token})
    assert stale.status_code == 403  # the CSRF cookie is new after login
    htmx = client.post(
        f"{lesson_url(FIRST)}/done",
        data={"csrf_token": csrf_from(client, lesson_url(FIRST))},
        headers={"HX-Request": "true", "HX-Current-URL": "https://elsewhere.example/x"},
        follow_redirects=False,
    )
    assert htmx.status_code == 200  # logged in again: the lesson is marked


def test_a_completed_course_keeps_its_lessons_done(client, session, app) -> None:
    from tests.modules.quizzes.helpers import pass_quizzes, write_plan

    register(client)
    course = app.state.catalogue.get("berakhlak")
    pass_quizzes(app, _user_id(session), course)
    for lesson_id in course.lesson_ids:
        mark(client, lesson_id)
    assert write_plan(app, _user_id(session), course).completed_now
    page = client.get(lesson_url(FIRST)).text
    assert "/undone" not in page  # no "mark as not done" once completed
    mark(client, FIRST, what="undone")
    assert len(session.exec(select(LessonProgress)).all()) == len(course.lesson_ids)


def test_every_lesson_done_is_not_enough_without_the_quizzes(client, session, app) -> None:
    register(client)
    course = app.state.catalogue.get("berakhlak")
    for lesson_id in course.lesson_ids:
        mark(client, lesson_id)
    assert session.exec(select(CourseCompletion)).all() == []


def test_next_after_a_modules_last_lesson_is_its_quiz(client, app) -> None:
    """A learner who only follows "next" meets every module's quiz."""
    register(client)
    course = app.state.catalogue.get("berakhlak")
    module = next(m for m in course.content.modules if m.after_lessons)
    last, quiz = module.lessons[-1], module.after_lessons[0]
    quiz_url = f"{COURSE}/quizzes/{quiz.id}"
    page = client.get(lesson_url(last.id))
    assert f'<a rel="next" href="{quiz_url}">' in page.text
    fragment = mark(client, last.id, htmx=True)
    assert f'href="{quiz_url}"' in fragment.text and f"Berikutnya: {quiz.title}" in fragment.text
    undone = mark(client, last.id, htmx=True, what="undone")
    assert undone.status_code == 200
    plain = mark(client, last.id)  # without JavaScript: back to this lesson, which links the quiz
    assert plain.headers["location"] == f"{lesson_url(last.id)}?marked={last.id}"
    assert f'href="{quiz_url}"' in client.get(plain.headers["location"]).text
    # a lesson in the middle of a module still leads to the next lesson
    first = module.lessons[0]
    assert (
        f'<a rel="next" href="{lesson_url(module.lessons[1].id)}">'
        in client.get(lesson_url(first.id)).text
    )


def test_the_course_page_says_exactly_what_is_left(client, app) -> None:
    """All lessons done is not enough when quizzes must be passed: the page names them."""
    register(client)
    course = app.state.catalogue.get("berakhlak")
    page = client.get(COURSE).text
    assert "Untuk menyelesaikan kursus" in page and "39 pelajaran belum selesai" in page
    client.get(lesson_url(FIRST))  # the first visit enrols
    for lesson_id in course.lesson_ids:
        mark(client, lesson_id)
    page = client.get(COURSE).text
    assert "pelajaran belum selesai" not in page
    required = [q for m in course.content.modules for q in m.quizzes if q.required]
    graded = [q for q in required if not q.hand_in_completes]
    taken = [q for q in required if q.hand_in_completes]  # the pre-test and the survey
    assert [q.kind for q in taken] == ["pre_test", "survey"]
    assert f"{len(graded)} kuis belum lulus" in page
    assert f"{len(taken)} tes atau survei belum dikerjakan" in page
    for quiz in required:
        assert f'href="{COURSE}/quizzes/{quiz.id}">{quiz.title}</a>' in page
    assert f'href="{COURSE}/plan">Rencana Aksi</a>' in page  # the last activity
    # "my learning" says it too, and leads to the first quiz left
    mine = client.get("/me/learning").text
    assert f"{len(required)} kuis atau formulir belum dikerjakan" in mine
    assert f'href="{COURSE}/quizzes/{required[0].id}">Berikutnya: {required[0].title}</a>' in mine


def test_the_completion_page_leads_to_the_certificate_once_issued(client, session, app) -> None:
    from tests.modules.quizzes.helpers import pass_quizzes, write_plan

    register(client)
    assert client.get(f"{COURSE}/completed", follow_redirects=False).headers["location"] == COURSE
    course = app.state.catalogue.get("berakhlak")
    pass_quizzes(app, _user_id(session), course)
    for lesson_id in course.lesson_ids:
        mark(client, lesson_id)
    assert write_plan(app, _user_id(session), course).completed_now
    waiting = client.get(f"{COURSE}/completed").text
    assert "Sertifikat Anda sedang disiapkan" in waiting and 'hx-trigger="every 2s"' in waiting
    assert (
        "11 JP" in client.get(COURSE).text
        and f'href="{COURSE}/completed"' in client.get(COURSE).text
    )
    run_jobs(app)
    ready = client.get(f"{COURSE}/completed").text
    assert "Nomor sertifikat" in ready and "hx-trigger" not in ready
    code = re.search(r'href="/certificates/([A-Z0-9]+)\.pdf"', ready).group(1)
    assert f"/verify/{code}" in ready


def test_a_new_learner_is_welcomed_with_what_to_do_first(client) -> None:
    response = register(client)
    page = client.get("/me/learning").text
    assert "Selamat datang, " in page
    # the course opens with its pre-test
    assert f'href="{COURSE}/quizzes/pre-test">Mulai: Pre-test Pengetahuan' in page
    client.get(lesson_url(FIRST))  # the first lesson opened: the welcome has done its work
    page = client.get("/me/learning").text
    assert "Selamat datang" not in page and "Lanjutkan: " in page
    assert response.status_code == 303


def test_a_pppk_sees_a_ceiling_not_a_target(client, session) -> None:
    """PP 49/2018 Pasal 40 ayat (1): at most 24 JP in a contract year."""
    from modules.accounts.models import User

    register(client)
    user = session.exec(select(User)).one()
    user.employment_type = "PPPK"
    session.add(user)
    session.commit()
    page = client.get("/me/learning").text
    assert "paling lama 24 JP dalam satu tahun masa perjanjian kerja" in page
    assert "bukan target" in page and '<progress class="progress" max="24"' not in page
