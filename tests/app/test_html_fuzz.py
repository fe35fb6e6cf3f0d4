"""The pages (left out of the OpenAPI document) get their own fuzzing: as an anonymous visitor,
a learner, HR and an administrator, generated requests to every page and form route — odd path
values, unknown and hostile query parameters, random form fields with a valid CSRF token —
never get a server error. Seeded and bounded; the API is fuzzed from its OpenAPI
(test_openapi.py)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import OPENAPI_PATHS
from tests.conftest import all_routes, csrf_from

PARAM = re.compile(r"\{([a-z_]+)(?::path)?\}")
NAMES = ["q", "agency", "course", "unit", "grade", "type", "since", "until", "status", "year",
         "before", "after", "ref", "next", "group", "closed", "page", "decided", "ended",
         "action", "subject", "saved", "format", "kind", "lang", "holder", "decision", "note",
         "password", "reason", "confirm", "session", "name", "email", "nip", "agency_id",
         "work_unit", "position", "locale", "outcome", "days", "due_on", "choice"]  # fmt: skip
ODD = st.sampled_from(
    [
        "9" * 25,
        "-1",
        "0",
        "１２",
        "..",
        "%2e%2e",
        "a/b",
        " ",
        "<script>",
        "'",
        "\u202e",
        "x" * 300,
        "2026-02-30",
        "NaN",
        "1e9",
        "BA/2026/000001",
        "null",
    ]  # fmt: skip
)
VALUES = st.one_of(ODD, st.text(max_size=40), st.integers(-(2**70), 2**70).map(str))
EXAMPLES = 400  # per visitor


def _routes(app) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path in all_routes(app)
        if method in ("GET", "POST")
        and path not in OPENAPI_PATHS
        and not path.startswith(("/static", "/api/openapi"))
        and path != "/logout"  # ends the visitor's session: tested elsewhere
    ]


@pytest.mark.parametrize("role", ["anonymous", "learner", "hr", "admin"])
def test_no_page_or_form_gives_a_server_error(visitors, role: str) -> None:
    visitor = visitors(role)
    routes = _routes(visitor.app)
    assert len(routes) > 80
    client = visitor.client()
    token = csrf_from(client, "/")

    @given(
        route=st.sampled_from(routes),
        params=st.lists(VALUES, min_size=3, max_size=3),
        query=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4),
        form=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=5),
    )
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def never_a_server_error(route, params, query, form) -> None:
        method, path = route
        values = iter(params)
        url = PARAM.sub(lambda _m: quote(next(values), safe="") or "x", path)
        if method == "GET":
            response = client.get(url, params=query, follow_redirects=False)
        else:
            data = {**form, "csrf_token": token}
            response = client.post(url, params=query, data=data, follow_redirects=False)
        assert response.status_code < 500, (method, url, query, form, response.status_code)

    never_a_server_error()
