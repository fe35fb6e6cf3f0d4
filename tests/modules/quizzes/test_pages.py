"""Quiz pages: start, answer (htmx autosave or plain form), reload, hand in once, result,
and completion; the answer key never reaches the learner before the review."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from modules.courses import service as courses_service
from modules.progress.models import CourseCompletion, LearningEvent
from modules.quizzes.models import QuizAnswer, QuizAttempt
from tests.conftest import csrf_from, make_settings, register
from tests.modules.courses.test_content_check import COURSE, write_course
from tests.modules.quizzes.test_quiz_format import QUIZ

QUIZ_URL = "/courses/demo/quizzes/satu-kuis"
KEY_TEXTS = [
    "Tepat.",
    "Bukan itu.",
    "Akuntabel berarti dapat",
    "[x]",
    "[5]",
    "negara republik",
    "correct",
    "weight",
]


@pytest.fixture
def app(db_url: str, tmp_path: Path):
    root = write_course(
        tmp_path / "content",
        {
            "demo/course.md": COURSE.replace("completion: all_lessons", "completion: modules"),
            "demo/01-satu/09-kuis.quiz.md": QUIZ.replace("draw: 7\n", "").replace(
                "shuffle_questions: true", "shuffle_questions: false"
            ),
        },
    )
    application = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=application.state.engine, root=root)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


def autosave(
    client: TestClient, attempt: str, token: str, question_id: str, fields: dict[str, str]
):
    """What htmx sends when one question's answer changes."""
    return client.post(
        f"{attempt}/answers/{question_id}",
        headers={"HX-Request": "true"},
        data={"csrf_token": token, **fields},
    )


def start(client: TestClient) -> str:
    response = client.post(
        f"{QUIZ_URL}/start",
        data={"csrf_token": csrf_from(client, QUIZ_URL)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return response.headers["location"]


def test_attempt_page_carries_no_answer_key(client) -> None:
    register(client)
    page = client.get(start(client))
    assert page.status_code == 200
    for text in KEY_TEXTS:
        assert text not in page.text, text
    assert page.text.count('class="card question"') == 8


def test_answers_are_saved_as_given_and_survive_a_reload(client) -> None:
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    saved = autosave(client, attempt, token, "satu-q4", {"q-satu-q4": "negara"})
    assert saved.status_code == 200 and "Tersimpan" in saved.text
    bad = autosave(client, attempt, token, "satu-q1", {"q-satu-q1": "99"})
    assert bad.status_code == 422
    plain = client.post(
        f"{attempt}/save",
        data={"csrf_token": token, "q-satu-q3": "false", "q-satu-q2": ["0", "1"]},
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"].endswith("?saved=1")
    page = client.get(attempt).text  # a reload, or another device
    assert re.search(r'name="q-satu-q4" maxlength="500" autocomplete="off" value="negara"', page)
    assert re.search(r'name="q-satu-q3" value="false" checked', page)
    assert len(re.findall(r'name="q-satu-q2" value="\d" checked', page)) == 2
    assert start(client) == attempt  # "start" again resumes the same attempt


FULL_FORM = {
    "q-satu-q1": "0",
    "q-satu-q3": "false",
    "q-satu-q4": "Negara",
    "q-satu-q5-0": "0",
    "q-satu-q5-1": "1",
    "q-satu-q5-2": "2",
    "q-satu-q6-0": "1",
    "q-satu-q6-1": "2",
    "q-satu-q6-2": "3",
    "q-satu-q7": "0",
    "q-satu-q2": ["0", "1"],
    "q-satu-q8": "4",
}


def test_hand_in_twice_is_graded_once_then_the_result(client, app) -> None:
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    form = FULL_FORM | {"csrf_token": token}
    first = client.post(f"{attempt}/submit", data=form, follow_redirects=False)
    second = client.post(f"{attempt}/submit", data={"csrf_token": token}, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"] == f"{attempt}/result"
    with Session(app.state.engine) as session:
        rows = session.exec(select(QuizAttempt)).all()
        assert len(rows) == 1 and rows[0].score == 100.0 and rows[0].passed
    result = client.get(f"{attempt}/result").text
    assert "100" in result and "Tepat." in result  # the review shows feedback now
    assert client.get(attempt, follow_redirects=False).status_code == 303


def test_hand_in_without_javascript_asks_first_and_names_what_is_unanswered(client, app) -> None:
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    page = client.get(attempt).text
    assert f'formaction="{attempt}/hand-in"' in page  # the button asks; it does not hand in
    # two answers given on the page, one of them a matching question left half done
    asked = client.post(
        f"{attempt}/hand-in",
        data={"csrf_token": token, "q-satu-q1": "0", "q-satu-q3": "false", "q-satu-q5-0": "0"},
        follow_redirects=False,
    )
    assert asked.status_code == 303 and asked.headers["location"] == f"{attempt}/hand-in"
    confirm = client.get(f"{attempt}/hand-in").text
    assert "6 dari 8 soal belum dijawab:" in confirm
    numbers = re.findall(rf'href="{attempt}#q-satu-q(\d)">Soal (\d)</a>', confirm)
    assert [q for q, _n in numbers] == ["2", "4", "5", "6", "7", "8"]  # q5 is only half given
    assert [q for q, n in numbers if q != n] == []  # questions are not shuffled here
    assert "Ya, kumpulkan sekarang" in confirm and f'action="{attempt}/submit"' in confirm
    with Session(app.state.engine) as session:  # nothing handed in yet; the answers are saved
        row = session.exec(select(QuizAttempt)).one()
        assert row.submitted_at is None
    assert "2 dari 8 terjawab" in client.get(attempt).text
    done = client.post(f"{attempt}/submit", data={"csrf_token": token}, follow_redirects=False)
    assert done.headers["location"] == f"{attempt}/result"
    # once handed in, the confirmation leads to the result
    again = client.get(f"{attempt}/hand-in", follow_redirects=False)
    assert again.headers["location"] == f"{attempt}/result"


def test_the_confirmation_says_when_every_question_is_answered(client, app) -> None:
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    client.post(f"{attempt}/save", data=FULL_FORM | {"csrf_token": token})
    page = client.get(f"{attempt}/hand-in").text
    assert "Semua soal sudah dijawab." in page and "belum dijawab" not in page


def test_another_learners_attempt_is_not_found(client, app) -> None:
    register(client)
    attempt = start(client)
    other = TestClient(app)
    register(other, nip="199202022016042002", email="budi@bkn.go.id")
    assert other.get(attempt).status_code == 404
    assert other.get(f"{attempt}/result").status_code == 404
    token = csrf_from(other, "/")
    assert other.post(f"{attempt}/submit", data={"csrf_token": token}).status_code == 404


def test_course_completes_when_lessons_are_done_and_the_quiz_passed(client, app) -> None:
    register(client)
    for lesson in ("satu-a", "satu-b"):
        page = f"/courses/demo/lessons/{lesson}"
        client.post(f"{page}/done", data={"csrf_token": csrf_from(client, page)})
    with Session(app.state.engine) as session:
        assert session.exec(select(CourseCompletion)).all() == []  # the quiz is still open
    attempt = start(client)
    token = csrf_from(client, attempt)
    handed = client.post(
        f"{attempt}/submit",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "q-satu-q1": "0",
            "q-satu-q2": ["0", "1"],
            "q-satu-q3": "false",
            "q-satu-q4": "negara",
            "q-satu-q5-0": "0",
            "q-satu-q5-1": "1",
            "q-satu-q5-2": "2",
            "q-satu-q6-0": "1",
            "q-satu-q6-1": "2",
            "q-satu-q6-2": "3",
            "q-satu-q7": "0",
        },
    )
    with Session(app.state.engine) as session:
        assert session.exec(select(CourseCompletion)).one().course_id == "demo"
        reached = {(e.kind, e.subject) for e in session.exec(select(LearningEvent)).all()}
        assert reached == {
            ("quiz_passed", "satu-kuis"),
            ("module_completed", "satu"),
            ("course_completed", "demo"),
        }
    # the hand-in that completed the course leads to the moment, which links the result
    moment = handed.headers["location"]
    assert moment == f"/courses/demo/completed?attempt={attempt.rsplit('/', 1)[1]}"
    page = client.get(moment).text
    assert "Selamat! Anda telah menyelesaikan kursus ini." in page
    assert f'href="{attempt}/result"' in page and "Nilai 100" in page
    assert "Lihat jawaban" not in client.get("/courses/demo/completed?attempt=tidak-ada").text


def test_a_half_answered_matching_question_is_not_an_error(client) -> None:
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    partial = autosave(client, attempt, token, "satu-q5", {"q-satu-q5-0": "0"})
    assert partial.status_code == 200 and "Belum tersimpan" in partial.text
    whole = autosave(
        client,
        attempt,
        token,
        "satu-q5",
        {"q-satu-q5-0": "0", "q-satu-q5-1": "2", "q-satu-q5-2": "1"},
    )
    assert whole.status_code == 200 and "Tersimpan" in whole.text


def test_the_final_self_assessment_shows_the_change_per_value(db_url, tmp_path) -> None:
    survey = (
        "---\nid: {id}\ntitle: {title}\nminutes: 5\n---\n## {p}-1 (likert; akuntabel)\nSaya jujur.\n\n"
        "## {p}-2 (likert; harmonis)\nSaya menolong.\n"
    )
    root = write_course(
        tmp_path / "content",
        {
            "demo/01-satu/07-awal.quiz.md": survey.format(id="awal", title="Awal", p="sa"),
            "demo/01-satu/08-akhir.quiz.md": survey.format(id="akhir", title="Akhir", p="sb"),
        },
    )
    application = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=application.state.engine, root=root)
    with TestClient(application) as client:
        register(client)
        for quiz, values in (("awal", ("2", "3")), ("akhir", ("4", "3"))):
            url = f"/courses/demo/quizzes/{quiz}"
            attempt = client.post(
                f"{url}/start", data={"csrf_token": csrf_from(client, url)}, follow_redirects=False
            ).headers["location"]
            prefix = "sa" if quiz == "awal" else "sb"
            client.post(
                f"{attempt}/submit",
                data={
                    "csrf_token": csrf_from(client, attempt),
                    f"q-{prefix}-1": values[0],
                    f"q-{prefix}-2": values[1],
                },
            )
        result = client.get(f"{attempt}/result").text
        assert "Dibandingkan dengan asesmen mandiri Anda yang lain" in result
        assert re.search(r"akuntabel</th><td>2,00</td><td>4,00</td><td>\+2,00", result)
        assert re.search(r"harmonis</th><td>3,00</td><td>3,00</td><td>0,00<", result)  # no sign
    application.state.engine.dispose()


def test_the_review_shows_only_what_the_quiz_allows(db_url, tmp_path) -> None:
    quiz = QUIZ.replace("draw: 7\n", "").replace(
        "review: [correctness, feedback]", "review: [correctness]"
    )
    root = write_course(tmp_path / "content", {"demo/01-satu/09-kuis.quiz.md": quiz})
    application = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=application.state.engine, root=root)
    with TestClient(application) as client:
        register(client)
        attempt = start(client)
        client.post(
            f"{attempt}/submit", data={"csrf_token": csrf_from(client, attempt), "q-satu-q1": "1"}
        )
        result = client.get(f"{attempt}/result").text
        assert "Tidak benar" in result  # correctness is allowed
        for text in ("Tepat.", "Bukan itu.", "Akuntabel berarti dapat", "Jawaban terbaik"):
            assert text not in result, text
        quiz_page = client.get(QUIZ_URL).text
        for text in KEY_TEXTS:
            assert text not in quiz_page, text
    application.state.engine.dispose()


def test_saving_with_an_ended_session_asks_to_log_in(client) -> None:
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    csrf_cookie = client.cookies.get("bk_csrf")
    client.cookies.clear()
    client.cookies.set("bk_csrf", csrf_cookie)
    client.cookies.set("bk_session", "ended-or-forged")
    saved = autosave(client, attempt, token, "satu-q4", {"q-satu-q4": "negara"})
    assert saved.status_code == 204 and saved.headers["hx-redirect"].startswith("/login")
    submitted = client.post(f"{attempt}/submit", data={"csrf_token": token}, follow_redirects=False)
    assert submitted.status_code == 303 and submitted.headers["location"].startswith("/login")


def test_queued_answers_keep_the_latest_change_of_each_device(client, app) -> None:
    """The offline queue sends a device id and a sequence number per question: a retry or an
    overtaken change (a lower number from the same device) is acknowledged and not written;
    another device, or the plain form, writes as before."""
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    device = {"device": "perangkat-a1b2c3d4"}

    def kept() -> str:
        with Session(app.state.engine) as session:
            row = session.exec(select(QuizAnswer).where(QuizAnswer.question_id == "satu-q4")).one()
            return row.value

    second = autosave(
        client, attempt, token, "satu-q4", {"q-satu-q4": "kedua", "seq": "2", **device}
    )
    assert second.status_code == 200 and "Tersimpan" in second.text
    late = autosave(
        client, attempt, token, "satu-q4", {"q-satu-q4": "pertama", "seq": "1", **device}
    )
    assert late.status_code == 200 and "Tersimpan" in late.text  # acknowledged: nothing to resend
    again = autosave(
        client, attempt, token, "satu-q4", {"q-satu-q4": "kedua", "seq": "2", **device}
    )
    assert again.status_code == 200
    assert kept() == '"kedua"'
    other = {"device": "perangkat-lain-99", "seq": "1"}
    assert (
        autosave(client, attempt, token, "satu-q4", {"q-satu-q4": "ketiga", **other}).status_code
        == 200
    )
    assert kept() == '"ketiga"'  # another device: the latest to arrive
    client.post(f"{attempt}/save", data={"csrf_token": token, "q-satu-q4": "keempat"})
    assert kept() == '"keempat"'  # the plain form, too
    # the whole-page form sends the page's numbers: an older queued answer arriving after it
    # does not win
    client.post(
        f"{attempt}/save",
        data={"csrf_token": token, "q-satu-q4": "keenam", "seq-satu-q4": "7", **device},
    )
    late = autosave(client, attempt, token, "satu-q4", {"q-satu-q4": "lama", "seq": "6", **device})
    assert late.status_code == 200 and kept() == '"keenam"'
    # a malformed pair is ignored, the answer still saved
    odd = autosave(client, attempt, token, "satu-q4", {"q-satu-q4": "kelima", "seq": "x", **device})
    assert odd.status_code == 200 and kept() == '"kelima"'


def test_a_queued_answer_after_the_attempt_closed_is_refused_with_a_reason(client, app) -> None:
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    client.post(f"{attempt}/submit", data={"csrf_token": token})
    late = autosave(
        client,
        attempt,
        token,
        "satu-q1",
        {"q-satu-q1": "0", "seq": "3", "device": "perangkat-a1b2"},
    )
    assert late.status_code == 409 and "Tidak dihitung" in late.text
    with Session(app.state.engine) as session:
        kept = session.exec(select(QuizAnswer).where(QuizAnswer.question_id == "satu-q1")).one()
        assert kept.value == "null"  # what the grading saw: unanswered


def test_a_queued_copy_of_an_answer_the_hand_in_carried_is_saved_not_refused(client) -> None:
    """The page hands in with its answers and the device's numbers; the same answer still in
    the queue, arriving a moment later, was counted: it is acknowledged, not a conflict. A
    newer one (a higher number) is refused."""
    register(client)
    attempt = start(client)
    token = csrf_from(client, attempt)
    device = {"device": "perangkat-a1b2"}
    client.post(
        f"{attempt}/submit",
        data={"csrf_token": token, "q-satu-q1": "0", "seq-satu-q1": "3", **device},
    )
    copy = autosave(client, attempt, token, "satu-q1", {"q-satu-q1": "0", "seq": "3", **device})
    assert copy.status_code == 200 and "Tidak dihitung" not in copy.text
    newer = autosave(client, attempt, token, "satu-q1", {"q-satu-q1": "1", "seq": "4", **device})
    assert newer.status_code == 409
    other = autosave(
        client, attempt, token, "satu-q1", {"q-satu-q1": "0", "seq": "3", "device": "lain-1"}
    )
    assert other.status_code == 409
