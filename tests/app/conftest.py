"""Fixtures of the platform's tests: visitors of every role, shared across tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.app.visitors import Visitor, install_write_log, make_visitor, seed_personal_state


@pytest.fixture(scope="package")
def visitors(db_factory, tmp_path_factory) -> Iterator[Callable[..., Visitor]]:
    """`visitors(role)`: that role's visitor, made once for the tests that share it.
    `visitors(role, observed=True)`: another one whose database logs every write and who has
    personal state a page view might be tempted to change (see seed_personal_state)."""
    made: dict[tuple[str, bool], tuple[Visitor, str]] = {}

    def get(role: str, observed: bool = False) -> Visitor:
        if (role, observed) not in made:
            url = db_factory.new(tmp_path_factory.mktemp(f"{role}-{int(observed)}"))
            visitor = make_visitor(role, url)
            if observed:
                if visitor.user_id is not None:
                    seed_personal_state(visitor)
                install_write_log(visitor.app)
            made[(role, observed)] = (visitor, url)
        return made[(role, observed)][0]

    yield get
    for visitor, url in made.values():
        visitor.app.state.engine.dispose()
        db_factory.drop(url)
