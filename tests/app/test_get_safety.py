"""GET never changes learning state, certificates, keys or jobs. Every GET route of the
authorisation matrix, and every page of a visitor's own things, is asked as each role against a
database that logs every write (triggers on every table); nothing may be written but:

- sessions: a login's sliding expiry, and an API token's last use;
- rate-limit counters;
- the audit of views (HR and admins looking at people's records);
- the learner's last-visited lesson: the resume point, kept on their enrolment.

The visitors carry the state earlier versions changed on page views: every lesson done and every
quiz passed without a completion recorded, an attempt whose time ran out, a certificate still
owed, an export no worker has started."""

from __future__ import annotations

import pytest

from tests.app.test_authorisation import EXPECTED
from tests.app.visitors import ROLES, Write, take_writes

VIEW_ACTIONS = {
    "user.view",
    "user.search",
    "report.people",
    "report.jp",
    "report.download",
    "api.people",
    "api.jp",
    "certificate.view",
    "certificate.list",
    "certificate.bulk_download",
}
RESUME_POINT = {"last_lesson_id", "last_seen_at"}
ENROLMENT_BY_A_VISIT = {"user_id", "course_id", "started_at", *RESUME_POINT}


def allowed(write: Write) -> bool:
    """Whether a GET may make this write (see the module docstring)."""
    if write.table == "auth_session" and write.op == "UPDATE":
        return write.columns <= {"last_seen_at", "expires_at"}
    if write.table == "api_token" and write.op == "UPDATE":
        return write.columns <= {"last_used_at"}
    if write.table == "rate_counter":
        return write.op in ("INSERT", "UPDATE")
    if write.table == "audit_event":
        return write.op == "INSERT" and write.action in VIEW_ACTIONS
    if write.table == "audit_scope":  # whose records a view could show, with its event
        return write.op == "INSERT"
    if write.table == "enrollment":
        if write.op == "INSERT":
            return write.columns <= ENROLMENT_BY_A_VISIT
        return write.op == "UPDATE" and write.columns <= RESUME_POINT
    return False


GET_ROUTES = sorted((path, spec[0]) for (method, path), spec in EXPECTED.items() if method == "GET")
PERSONAL = [
    "expired attempt",
    "expired attempt result",
    "certificate pdf",
    "certificate jwt",
    "certificate json",
    "verification",
    "export status",
]


def _walk(visitor, url: str) -> list[Write]:
    client = visitor.client()
    take_writes(visitor.app)  # logging in is not the page's doing
    response = client.get(url, follow_redirects=False)
    assert response.status_code < 500, (url, response.status_code)
    return [w for w in take_writes(visitor.app) if not allowed(w)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: r[0])
def test_a_get_writes_nothing_but_what_is_allowed(visitors, role: str, route) -> None:
    visitor = visitors(role, observed=True)
    _path, url = route
    assert _walk(visitor, visitor.url(url)) == []


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
@pytest.mark.parametrize("what", PERSONAL)
def test_a_get_of_ones_own_things_writes_nothing_but_what_is_allowed(
    visitors, role: str, what: str
) -> None:
    visitor = visitors(role, observed=True)
    url = visitor.personal.get(what)
    if url is None:  # an export is staff's (HR and admins) only
        assert what == "export status" and role not in ("hr", "admin")
        return
    assert _walk(visitor, url) == []


def test_the_walk_sees_writes() -> None:
    """The rule refuses what earlier versions did on page views."""
    assert not allowed(Write("course_completion", "INSERT", frozenset({"user_id"}), None))
    assert not allowed(Write("job", "INSERT", frozenset({"kind"}), None))
    assert not allowed(Write("signing_key", "INSERT", frozenset({"kid"}), None))
    assert not allowed(Write("quiz_attempt", "UPDATE", frozenset({"submitted_at"}), None))
    assert not allowed(Write("enrollment", "UPDATE", frozenset({"due_on"}), None))
    assert not allowed(Write("audit_event", "INSERT", frozenset({"action"}), "role.grant"))
    assert allowed(Write("enrollment", "UPDATE", frozenset(RESUME_POINT), None))


def test_the_write_log_sees_what_a_get_writes(visitors) -> None:
    """The log is live: the one learning write a GET makes (the resume point) is seen."""
    visitor = visitors("learner", observed=True)
    client = visitor.client()
    take_writes(visitor.app)
    first = "/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar"
    second = "/courses/berakhlak/lessons/akuntabel-kasus-pengadaan-apbd"
    for url in (first, second):
        assert client.get(url).status_code == 200
    writes = [w for w in take_writes(visitor.app) if w.table == "enrollment"]
    assert writes and all(allowed(w) for w in writes)
    assert any(RESUME_POINT & w.columns for w in writes)
