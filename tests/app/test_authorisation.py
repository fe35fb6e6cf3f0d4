"""Every route, for every kind of visitor, gets exactly the expected answer. A route missing from
EXPECTED fails the suite, so a new route cannot ship without its authorisation decided."""

from __future__ import annotations

import pytest

from tests.app.visitors import ROLES
from tests.conftest import all_routes, csrf_from

LESSON = "/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar"
QUIZ = "/courses/berakhlak/quizzes/akuntabel-kuis"
ATTEMPT = "/attempts/not-an-attempt-of-this-visitor"
JOB = "0123456789abcdef0123456789abcdef"
ROSTER = "/manage/roster/" + "0" * 32
RESET_TOKEN = "not-a-link-that-was-ever-sent-0123456789ab"
AUTHOR = "/author/courses/nope"
# (method, route path) -> (concrete URL, status for anonymous, status for a learner)
# 303 to /login for anonymous visitors of personal pages; POSTs carry a valid CSRF token.
EXPECTED: dict[tuple[str, str], tuple[str, int, int]] = {
    ("GET", "/"): ("/", 200, 200),
    ("GET", "/healthz"): ("/healthz", 200, 200),
    ("GET", "/livez"): ("/livez", 200, 200),
    ("GET", "/readyz"): ("/readyz", 200, 200),
    # for the addresses and token of the settings only (tests/app/test_observability.py)
    ("GET", "/metrics"): ("/metrics", 404, 404),
    ("GET", "/register"): ("/register", 200, 303),
    ("POST", "/register"): ("/register", 422, 422),
    ("GET", "/login"): ("/login", 200, 303),
    ("POST", "/login"): ("/login", 422, 422),
    # a password reset by mail: open to anyone (no identifier given: refused); a link that
    # does not work is gone for everyone (tests/modules/accounts/test_reset.py)
    ("GET", "/forgot-password"): ("/forgot-password", 200, 200),
    ("POST", "/forgot-password"): ("/forgot-password", 422, 422),
    ("GET", "/reset-password/{token}"): (f"/reset-password/{RESET_TOKEN}", 410, 410),
    ("POST", "/reset-password/{token}"): (f"/reset-password/{RESET_TOKEN}", 410, 410),
    ("GET", "/confirm-email/{token}"): (f"/confirm-email/{RESET_TOKEN}", 410, 410),
    ("GET", "/verify-email/{token}"): (f"/verify-email/{RESET_TOKEN}", 410, 410),
    ("POST", "/verify-email/{token}"): (f"/verify-email/{RESET_TOKEN}", 410, 410),
    ("POST", "/me/verify-email"): ("/me/verify-email", 303, 303),
    ("POST", "/confirm-email/{token}"): (f"/confirm-email/{RESET_TOKEN}", 410, 410),
    # invitations, NIP disputes and reminders (tests/modules/accounts/test_invitations.py,
    # test_disputes.py, tests/modules/learning/test_reminders.py): open to anyone, the link
    # or token is the authority; one that does not work is gone or unknown for everyone
    ("GET", "/claim/{token}"): (f"/claim/{RESET_TOKEN}", 410, 410),
    ("POST", "/claim/{token}"): (f"/claim/{RESET_TOKEN}", 410, 410),
    ("GET", "/nip-dispute"): ("/nip-dispute", 200, 200),
    ("POST", "/nip-dispute"): ("/nip-dispute", 422, 422),  # an empty form
    ("GET", "/nip-dispute/confirm/{token}"): (f"/nip-dispute/confirm/{RESET_TOKEN}", 410, 410),
    ("POST", "/nip-dispute/confirm/{token}"): (f"/nip-dispute/confirm/{RESET_TOKEN}", 410, 410),
    ("GET", "/unsubscribe/{token}"): ("/unsubscribe/1.0123456789abcdef0123456789abcdef", 404, 404),
    ("POST", "/unsubscribe/{token}"): ("/unsubscribe/1.0123456789abcdef0123456789abcdef", 404, 404),
    ("POST", "/api/unsubscribe/{token}"): (
        "/api/unsubscribe/1.0123456789abcdef0123456789abcdef",
        404,
        404,
    ),
    ("POST", "/me/reminders"): ("/me/reminders", 303, 303),
    # erasure on request (tests/modules/accounts/test_erasure.py): one's own account only;
    # an empty form is refused, a withdrawal without a request changes nothing
    # the privacy notice: public; acknowledging it is for a logged-in person
    ("GET", "/privacy"): ("/privacy", 200, 200),
    # the installable app: public, and nothing personal in them
    ("GET", "/sw.js"): ("/sw.js", 200, 200),
    ("GET", "/manifest.webmanifest"): ("/manifest.webmanifest", 200, 200),
    ("GET", "/icons/{name}.png"): ("/icons/icon-192.png", 200, 200),
    ("GET", "/offline"): ("/offline", 200, 200),
    ("POST", "/privacy"): ("/privacy", 303, 303),
    ("GET", "/me/erase"): ("/me/erase", 303, 200),
    ("POST", "/me/erase"): ("/me/erase", 303, 422),
    ("POST", "/me/erase/withdraw"): ("/me/erase/withdraw", 303, 303),
    ("POST", "/me/move/withdraw"): ("/me/move/withdraw", 303, 303),
    # a person's own logins (tests/modules/accounts/test_sessions.py)
    ("GET", "/me/sessions"): ("/me/sessions", 303, 200),
    ("POST", "/me/sessions"): ("/me/sessions", 303, 303),
    ("POST", "/logout"): ("/logout", 303, 303),
    ("POST", "/lang"): ("/lang", 303, 303),
    ("GET", "/me/profile"): ("/me/profile", 303, 200),
    ("POST", "/me/profile"): ("/me/profile", 303, 422),
    ("POST", "/me/password"): ("/me/password", 303, 422),
    ("GET", "/me/learning"): ("/me/learning", 303, 200),
    ("GET", "/me/data"): ("/me/data", 303, 200),
    ("GET", "/me/data.json"): ("/me/data.json", 303, 200),
    ("GET", "/courses/{course_id}"): ("/courses/berakhlak", 200, 200),
    ("GET", "/courses/{course_id}/lessons/{lesson_id}"): (LESSON, 303, 200),
    ("GET", "/courses/{course_id}/lessons/{lesson_id}/status"): (f"{LESSON}/status", 303, 200),
    ("POST", "/courses/{course_id}/lessons/{lesson_id}/done"): (f"{LESSON}/done", 303, 303),
    ("POST", "/courses/{course_id}/lessons/{lesson_id}/undone"): (f"{LESSON}/undone", 303, 303),
    ("GET", "/courses/{course_id}/quizzes/{quiz_id}"): (QUIZ, 303, 200),
    # not completed yet: back to the course page
    ("GET", "/courses/{course_id}/completed"): ("/courses/berakhlak/completed", 303, 303),
    ("POST", "/courses/{course_id}/quizzes/{quiz_id}/start"): (f"{QUIZ}/start", 303, 303),
    # the action plan: a learner who has not finished the rest is told what is left (GET) or
    # sent back to that page (POST); without a plan, its report page sends them to the plan
    ("GET", "/courses/{course_id}/plan"): ("/courses/berakhlak/plan", 303, 200),
    ("POST", "/courses/{course_id}/plan"): ("/courses/berakhlak/plan", 303, 303),
    ("GET", "/courses/{course_id}/plan/report"): ("/courses/berakhlak/plan/report", 303, 303),
    ("POST", "/courses/{course_id}/plan/report"): ("/courses/berakhlak/plan/report", 303, 303),
    # a supervisor's link: no account; a token never sent opens nothing
    ("GET", "/plans/confirm/{token}"): ("/plans/confirm/" + RESET_TOKEN, 404, 404),
    ("POST", "/plans/confirm/{token}"): ("/plans/confirm/" + RESET_TOKEN, 404, 404),
    # an attempt id that is not the visitor's: anonymous visitors log in, learners get 404
    ("GET", "/attempts/{attempt_id}"): (ATTEMPT, 303, 404),
    ("GET", "/attempts/{attempt_id}/result"): (f"{ATTEMPT}/result", 303, 404),
    ("POST", "/attempts/{attempt_id}/save"): (f"{ATTEMPT}/save", 303, 404),
    ("POST", "/attempts/{attempt_id}/submit"): (f"{ATTEMPT}/submit", 303, 404),
    ("POST", "/attempts/{attempt_id}/hand-in"): (f"{ATTEMPT}/hand-in", 303, 404),
    ("GET", "/attempts/{attempt_id}/hand-in"): (f"{ATTEMPT}/hand-in", 303, 404),
    ("POST", "/attempts/{attempt_id}/answers/{question_id}"): (
        f"{ATTEMPT}/answers/akuntabel-01",
        303,
        404,
    ),
    # (url, anonymous, learner, trainer, admin) where the roles differ
    ("GET", "/courses/{course_id}/quizzes/{quiz_id}/statistics"): (
        f"{QUIZ}/statistics",
        303,
        403,
        200,
        200,
    ),
    # the authoring workspace (tests/modules/authoring/test_workspace.py): trainers and
    # admins; a course with no draft and not published is 404 for them (here "nope"), so that
    # no answer depends on which test made a draft first
    ("GET", "/author"): ("/author", 303, 403, 200, 200),
    ("POST", "/author/courses"): ("/author/courses", 303, 403, 422, 422),
    ("GET", "/author/courses/{course_id}"): ("/author/courses/berakhlak", 303, 403, 200, 200),
    ("POST", "/author/courses/{course_id}/draft"): (f"{AUTHOR}/draft", 303, 403, 404, 404),
    ("GET", "/author/courses/{course_id}/edit"): (f"{AUTHOR}/edit", 303, 403, 404, 404),
    ("POST", "/author/courses/{course_id}/edit"): (f"{AUTHOR}/edit", 303, 403, 404, 404),
    ("POST", "/author/courses/{course_id}/delete"): (f"{AUTHOR}/delete", 303, 403, 404, 404),
    ("POST", "/author/courses/{course_id}/upload"): (f"{AUTHOR}/upload", 303, 403, 404, 404),
    ("POST", "/author/courses/{course_id}/import"): (f"{AUTHOR}/import", 303, 403, 404, 404),
    ("POST", "/author/courses/{course_id}/access"): (f"{AUTHOR}/access", 303, 403, 404, 404),
    ("POST", "/author/courses/{course_id}/review"): (f"{AUTHOR}/review", 303, 403, 404, 404),
    ("POST", "/author/courses/{course_id}/approve"): (f"{AUTHOR}/approve", 303, 403, 404, 404),
    ("GET", "/author/courses/{course_id}/preview"): (f"{AUTHOR}/preview", 303, 403, 404, 404),
    ("GET", "/author/courses/{course_id}/preview/lessons/{lesson_id}"): (
        f"{AUTHOR}/preview/lessons/satu-a",
        303,
        403,
        404,
        404,
    ),
    ("GET", "/author/courses/{course_id}/preview/assets/{sha256}/{filename}"): (
        f"{AUTHOR}/preview/assets/{'0' * 64}/logo.png",
        303,
        403,
        404,
        404,
    ),
    ("GET", "/author/courses/{course_id}/preview/quizzes/{quiz_id}"): (
        f"{AUTHOR}/preview/quizzes/kuis",
        303,
        403,
        404,
        404,
    ),
    ("POST", "/author/courses/{course_id}/preview/quizzes/{quiz_id}"): (
        f"{AUTHOR}/preview/quizzes/kuis",
        303,
        403,
        404,
        404,
    ),
    ("POST", "/author/courses/{course_id}/publish"): (f"{AUTHOR}/publish", 303, 403, 404, 404),
    ("GET", "/author/courses/{course_id}/history"): (
        "/author/courses/berakhlak/history",
        303,
        403,
        200,
        200,
    ),
    ("GET", "/author/courses/{course_id}/history/{publication_id}"): (
        "/author/courses/berakhlak/history/999999",
        303,
        403,
        404,
        404,
    ),
    ("POST", "/author/courses/{course_id}/rollback"): (
        "/author/courses/berakhlak/rollback",
        303,
        403,
        422,
        422,
    ),
    ("GET", "/certificates"): ("/certificates", 303, 200),
    # a code that is not the visitor's certificate: anonymous visitors log in, learners get 404
    ("GET", "/certificates/{code}.pdf"): ("/certificates/ABCDEFGHJKLM.pdf", 303, 404),
    ("GET", "/certificates/{code}/credential.jwt"): (
        "/certificates/ABCDEFGHJKLM/credential.jwt",
        303,
        404,
    ),
    ("GET", "/certificates/{code}/credential.json"): (
        "/certificates/ABCDEFGHJKLM/credential.json",
        303,
        404,
    ),
    ("GET", "/verify"): ("/verify", 200, 200),
    ("GET", "/verify/{ref:path}"): ("/verify/BA/2026/999999", 404, 404),
    # the holder check of a paper copy: open to anyone, counted (test_documents.py)
    ("POST", "/verify/{ref:path}"): ("/verify/BA/2026/999999", 404, 404),
    ("GET", "/credentials/verify"): ("/credentials/verify", 200, 200),
    ("POST", "/credentials/verify"): ("/credentials/verify", 422, 422),  # an empty form
    ("POST", "/api/v1/credentials/verify"): ("/api/v1/credentials/verify", 422, 422),
    ("GET", "/issuer"): ("/issuer", 200, 200),
    # HR (scoped to agencies, tested in tests/modules/certificates) and admins only
    # {bkn}: the agency the visitor registered with; HR of another agency is refused
    ("GET", "/manage/certificates"): ("/manage/certificates?agency={bkn}", 303, 403, 403, 200),
    ("GET", "/manage/certificates.zip"): (
        "/manage/certificates.zip?agency={bkn}",
        303,
        403,
        403,
        200,
    ),
    ("GET", "/manage/certificates/{code}"): (
        "/manage/certificates/ABCDEFGHJKLM",
        303,
        403,
        403,
        404,
    ),
    ("POST", "/manage/certificates/{code}/revoke"): (
        "/manage/certificates/ABCDEFGHJKLM/revoke",
        303,
        403,
        403,
        404,
    ),
    ("POST", "/manage/certificates/{code}/reissue"): (
        "/manage/certificates/ABCDEFGHJKLM/reissue",
        303,
        403,
        403,
        404,
    ),
    # roster import: HR (any agency: the rows are checked against their scope) and admins;
    # an upload that is not the visitor's (here: none) is not found
    ("GET", "/manage/roster"): ("/manage/roster", 303, 403, 403, 200),
    ("POST", "/manage/roster"): ("/manage/roster", 303, 403, 403, 422),  # no file
    ("GET", "/manage/roster/{upload_id}"): (ROSTER, 303, 403, 403, 404),
    ("GET", "/manage/roster/{upload_id}/report.csv"): (f"{ROSTER}/report.csv", 303, 403, 403, 404),
    ("POST", "/manage/roster/{upload_id}/apply"): (f"{ROSTER}/apply", 303, 403, 403, 404),
    ("POST", "/manage/roster/{upload_id}/invite"): (f"{ROSTER}/invite", 303, 403, 403, 404),
    # HR (any agency: whom they see is their scope) and admins; no choice made: 422
    ("GET", "/manage/invitations"): ("/manage/invitations", 303, 403, 403, 200),
    ("POST", "/manage/invitations"): ("/manage/invitations", 303, 403, 403, 422),
    ("GET", "/manage/disputes"): ("/manage/disputes", 303, 403, 403, 200),
    ("GET", "/manage/disputes/{dispute_id}"): ("/manage/disputes/999999", 303, 403, 403, 404),
    ("POST", "/manage/disputes/{dispute_id}"): ("/manage/disputes/999999", 303, 403, 403, 404),
    # requests to erase an account: HR (whom they decide is their scope) and admins; no
    # decision chosen: 422
    ("GET", "/manage/erasures"): ("/manage/erasures", 303, 403, 403, 200),
    ("POST", "/manage/erasures/{request_id}"): ("/manage/erasures/999999", 303, 403, 403, 422),
    # moves of people a roster lists: HR (whom they decide is their roster's scope) and admins
    ("GET", "/manage/moves"): ("/manage/moves", 303, 403, 403, 200),
    ("POST", "/manage/moves/{request_id}"): ("/manage/moves/999999", 303, 403, 403, 422),
    ("GET", "/.well-known/jwks.json"): ("/.well-known/jwks.json", 200, 200),
    # one public key, what a credential header's kid dereferences to (an unknown one: 404)
    ("GET", "/keys/{kid}"): ("/keys/not-a-key", 404, 404),
    ("GET", "/credentials/status/{list_id}"): ("/credentials/status/1", 200, 200),
    ("GET", "/admin/users"): ("/admin/users?q=Siti", 303, 403, 403, 200),
    ("GET", "/admin/audit"): ("/admin/audit", 303, 403, 403, 200),
    ("GET", "/admin/jobs"): ("/admin/jobs", 303, 403, 403, 200),
    ("POST", "/admin/jobs/{job_id}/retry"): ("/admin/jobs/999999/retry", 303, 403, 403, 404),
    ("GET", "/admin/agencies"): ("/admin/agencies?q=Bandung", 303, 403, 403, 200),
    ("GET", "/admin/agencies/new"): ("/admin/agencies/new", 303, 403, 403, 200),
    ("POST", "/admin/agencies/new"): ("/admin/agencies/new", 303, 403, 403, 422),
    ("GET", "/admin/agencies/import"): ("/admin/agencies/import", 303, 403, 403, 200),
    ("POST", "/admin/agencies/import"): ("/admin/agencies/import", 303, 403, 403, 422),
    ("GET", "/admin/agencies/{agency_id}"): ("/admin/agencies/{bkn}", 303, 403, 403, 200),
    ("POST", "/admin/agencies/{agency_id}"): ("/admin/agencies/999999", 303, 403, 403, 404),
    ("GET", "/admin/users/{user_id}"): ("/admin/users/999999", 303, 403, 403, 404),
    ("POST", "/admin/users/{user_id}/grants"): (
        "/admin/users/999999/grants",
        303,
        403,
        403,
        404,
    ),
    ("POST", "/admin/users/{user_id}/grants/{grant_id}/withdraw"): (
        "/admin/users/999999/grants/1/withdraw",
        303,
        403,
        403,
        404,
    ),
    # reports: HR of the visitor's agency and admins; HR of another agency is refused
    ("GET", "/manage/reports"): ("/manage/reports?agency={bkn}", 303, 403, 403, 200),
    ("GET", "/manage/reports/people"): ("/manage/reports/people?agency={bkn}", 303, 403, 403, 200),
    ("GET", "/manage/reports/jp"): ("/manage/reports/jp?agency={bkn}", 303, 403, 403, 200),
    ("GET", "/manage/reports/self-assessment"): (
        "/manage/reports/self-assessment?agency={bkn}",
        303,
        403,
        403,
        200,
    ),
    ("GET", "/manage/reports/after"): (
        "/manage/reports/after?agency={bkn}",
        303,
        403,
        403,
        200,
    ),
    # no export chosen: 422, unless the agency is out of scope
    ("POST", "/manage/reports/exports"): (
        "/manage/reports/exports?agency={bkn}",
        303,
        403,
        403,
        422,
    ),
    ("GET", "/manage/reports/exports"): ("/manage/reports/exports", 303, 403, 403, 200),
    # a job that is not the visitor's
    ("GET", "/manage/reports/exports/{job_id}"): (
        f"/manage/reports/exports/{JOB}",
        303,
        403,
        403,
        404,
    ),
    ("GET", "/manage/reports/exports/{job_id}/download"): (
        f"/manage/reports/exports/{JOB}/download",
        303,
        403,
        403,
        404,
    ),
    ("GET", "/manage/assignments"): ("/manage/assignments", 303, 403, 403, 200),
    # an empty form: 422, unless the agency is out of scope (tested in tests/modules/progress)
    ("POST", "/manage/assignments"): ("/manage/assignments", 303, 403, 403, 422),
    # API tokens: HR officers and admins manage their own; someone else's token is not found
    ("GET", "/manage/api-tokens"): ("/manage/api-tokens", 303, 403, 403, 200),
    ("POST", "/manage/api-tokens"): ("/manage/api-tokens", 303, 403, 403, 422),  # no name
    ("POST", "/manage/api-tokens/{token_id}/revoke"): (
        "/manage/api-tokens/999999/revoke",
        303,
        403,
        403,
        404,
    ),
    # the report API takes API tokens only: a login session is no key, so every visitor here
    # (none sends a token) gets 401. What a token opens, including the refusal of another
    # agency (403 for agency={bkn}, and never BKN's people without it), and expired, revoked
    # and withdrawn tokens: tests/modules/reports/test_api.py and
    # tests/modules/accounts/test_tokens.py.
    ("GET", "/api/v1/reports/completion"): (
        "/api/v1/reports/completion?agency={bkn}",
        401,
        401,
        401,
        401,
    ),
    ("GET", "/api/v1/reports/people"): ("/api/v1/reports/people?agency={bkn}", 401, 401, 401, 401),
    ("GET", "/api/v1/reports/jp"): ("/api/v1/reports/jp?agency={bkn}", 401, 401, 401, 401),
    ("GET", "/api/v1/reports/self-assessment"): (
        "/api/v1/reports/self-assessment?agency={bkn}",
        401,
        401,
        401,
        401,
    ),
    ("GET", "/assets/{sha256}/{filename}"): ("/assets/" + "0" * 64 + "/x.png", 404, 404),
    ("GET", "/static"): ("/static/app.css", 200, 200),
    ("GET", "/api/openapi.json"): ("/api/openapi.json", 200, 200),
}


def test_every_route_is_in_the_matrix(app) -> None:
    routes = {(m, p) for m, p in all_routes(app) if m != "HEAD"}
    routes.add(("GET", "/static"))
    assert routes == set(EXPECTED), f"decide authorisation for: {routes ^ set(EXPECTED)}"


# HR officers are learners too: unless listed here, they get the learner's answer.
# (hr: HR of the visitor's own agency, hr_other: HR of another agency)
HR_ANSWERS: dict[tuple[str, str], tuple[int, int]] = {
    ("GET", "/manage/certificates"): (200, 403),
    ("GET", "/manage/certificates.zip"): (200, 403),
    ("GET", "/manage/reports"): (200, 403),
    ("GET", "/manage/reports/people"): (200, 403),
    ("GET", "/manage/reports/jp"): (200, 403),
    ("GET", "/manage/reports/self-assessment"): (200, 403),
    ("GET", "/manage/reports/after"): (200, 403),
    ("POST", "/manage/reports/exports"): (422, 403),
    ("GET", "/manage/reports/exports"): (200, 200),
    ("GET", "/manage/reports/exports/{job_id}"): (404, 404),
    ("GET", "/manage/reports/exports/{job_id}/download"): (404, 404),
    ("GET", "/manage/assignments"): (200, 200),
    ("POST", "/manage/assignments"): (422, 422),
    ("GET", "/manage/roster"): (200, 200),
    ("POST", "/manage/roster"): (422, 422),
    ("GET", "/manage/roster/{upload_id}"): (404, 404),
    ("GET", "/manage/roster/{upload_id}/report.csv"): (404, 404),
    ("POST", "/manage/roster/{upload_id}/apply"): (404, 404),
    ("POST", "/manage/roster/{upload_id}/invite"): (404, 404),
    ("GET", "/manage/invitations"): (200, 200),
    ("POST", "/manage/invitations"): (422, 422),
    ("GET", "/manage/disputes"): (200, 200),
    ("GET", "/manage/disputes/{dispute_id}"): (404, 404),
    ("POST", "/manage/disputes/{dispute_id}"): (404, 404),
    ("GET", "/manage/erasures"): (200, 200),
    ("POST", "/manage/erasures/{request_id}"): (422, 422),
    ("GET", "/manage/moves"): (200, 200),
    ("POST", "/manage/moves/{request_id}"): (422, 422),
    # any HR officer keeps their own tokens, whatever their agency
    ("GET", "/manage/api-tokens"): (200, 200),
    ("POST", "/manage/api-tokens"): (422, 422),
    ("POST", "/manage/api-tokens/{token_id}/revoke"): (404, 404),
    ("GET", "/api/v1/reports/completion"): (401, 401),
    ("GET", "/api/v1/reports/people"): (401, 401),
    ("GET", "/api/v1/reports/jp"): (401, 401),
    ("GET", "/api/v1/reports/self-assessment"): (401, 401),
}


def _answers(route: tuple[str, str]) -> tuple[str, dict[str, int]]:
    url, anonymous, learner, *staff = EXPECTED[route]
    trainer, admin = staff if staff else (learner, learner)
    hr, hr_other = HR_ANSWERS.get(route, (learner, learner))
    answers = [anonymous, learner, trainer, admin, hr, hr_other]
    return url, dict(zip(ROLES, answers, strict=True))


def test_hr_answers_name_routes_in_the_matrix() -> None:
    assert set(HR_ANSWERS) <= set(EXPECTED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_answers_each_role(visitors, role: str, route: tuple[str, str]) -> None:
    url, by_role = _answers(route)
    visitor = visitors(role)
    client = visitor.client()
    url = visitor.url(url)
    expected = by_role[role]
    if route[0] == "POST":
        data = {"csrf_token": csrf_from(client, "/")}
        response = client.post(url, data=data, follow_redirects=False)
    else:
        response = client.get(url, follow_redirects=False)
    assert response.status_code == expected, (role, route, response.status_code)
    if (
        response.status_code == 303
        and role == "anonymous"
        and route[1].startswith(
            ("/me/", "/courses/{course_id}/lessons", "/courses/{course_id}/quizzes", "/attempts")
        )
    ):
        expected_login = "/login?next=" if route[0] == "GET" else "/login?expired=1&next="
        assert response.headers["location"].startswith(expected_login)
