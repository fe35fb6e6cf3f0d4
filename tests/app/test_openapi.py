"""The OpenAPI document holds the JSON API and the public JSON endpoints, and documents every
status code and content type they answer with: schemathesis generates requests from it (with
an HR officer's token, on a populated database) and checks each answer against it — no server
error, no undocumented status, content type, header or body. A bounded, seeded run here; the
deep run is tests/fuzz/deep_openapi.py (its figures in docs/api.md)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.main import OPENAPI_PATHS, create_app
from tests.conftest import make_settings, run_jobs
from tests.modules.reports.api_helpers import token_for
from tests.modules.reports.helpers import populate, staff

HR_NIP = "198001012005011901"
EXAMPLES = 30  # per operation: the whole run stays within a minute or two


@pytest.fixture
def api_app(db_url):
    app = create_app(make_settings(db_url))
    run_jobs(app)
    pop = populate(app)
    staff(app, "hr", pop.bkn, HR_NIP)
    app.state.fuzz_token = token_for(app, HR_NIP)
    yield app
    app.state.engine.dispose()


def test_the_api_answers_as_its_openapi_says(api_app) -> None:
    """Every operation, EXAMPLES generated requests each (seeded), answered as documented."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {api_app.state.fuzz_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPENAPI_PATHS)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,  # the same requests every run: a failure is a failure, not luck
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case) -> None:
            # left out: positive_data_acceptance (values no schema can rule out, such as a
            # course that does not exist, are refused with a documented 4xx)
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        answers_as_documented()


def test_the_openapi_holds_the_api_and_no_page(db_url) -> None:
    app = create_app(make_settings(db_url))
    paths = set(app.openapi()["paths"])
    assert paths == set(OPENAPI_PATHS)
    for path, operations in app.openapi()["paths"].items():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                assert "text/html" not in answer.get("content", {}), (path, status)
    app.state.engine.dispose()
