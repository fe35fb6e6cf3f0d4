"""The data download covers every table that holds a person's id: adding a table with a user
reference (a foreign key to `user`, or a `user_id`-like column) without covering it in some
module's section, or saying why it is not personal, fails here. And a learner's download holds
what the platform keeps about them, secrets left out."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import NOT_PERSONAL, PERSONAL_DATA
from app.models_registry import metadata
from modules.accounts.models import User
from modules.certificates.models import Certificate
from modules.quizzes.models import QuizAttempt
from tests.conftest import PASSWORD, login, register
from tests.modules.certificates.helpers import complete_in_browserless_client, make_app

PERSON_COLUMNS = {"user_id", "holder_id", "actor_id", "assigned_by", "granted_by", "resolved_by"}
IDENTIFYING = {"nip", "email"}  # a table keyed by a person's NIP or address holds them too


def _holding_a_person() -> set[str]:
    found = set()
    for table in metadata.sorted_tables:
        for column in table.columns:
            to_user = any(fk.column.table.name == "user" for fk in column.foreign_keys)
            if to_user or column.name in PERSON_COLUMNS | IDENTIFYING:
                found.add(table.name)
    return found | {"user"}


def test_every_table_holding_a_person_is_in_the_download() -> None:
    covered = {table for _name, _section, tables in PERSONAL_DATA for table in tables}
    holding = _holding_a_person()
    assert "quiz_attempt" in holding and "mail_message" in holding  # the finder finds
    missing = holding - covered - set(NOT_PERSONAL)
    assert missing == set(), f"add these tables to a section of the data download: {missing}"
    assert set(NOT_PERSONAL) <= holding  # no stale exception


def test_a_learners_download_holds_their_learning_and_no_secret(db_url, tmp_path) -> None:
    app = make_app(db_url, tmp_path)
    client = TestClient(app, base_url="http://testserver")
    assert register(client).status_code == 303
    complete_in_browserless_client(client)
    response = client.get("/me/data.json")
    assert response.status_code == 200
    document = response.json()
    assert list(document)[1:] == [name for name, _s, _t in PERSONAL_DATA]
    with Session(app.state.engine) as session:
        user = session.exec(select(User)).one()
        certificate = session.exec(select(Certificate)).one()
        assert session.exec(select(QuizAttempt)).all() == []
    assert document["account"]["nip"] == user.nip
    assert document["certificates"]["certificates"][0]["number"] == certificate.number
    assert document["learning"]["course_completions"][0]["course"] == "demo"
    assert document["quizzes"] == {"attempts": []}
    assert set(document["audit"]) == {"done_by_you", "about_you", "in_reports"}
    page = client.get("/me/data")  # the same, to read
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for shown in (user.nip, certificate.number, "Sertifikat Anda", "Siapa yang melihat"):
        assert shown in page.text
    assert user.password_hash not in page.text and "password_hash" not in page.text
    text = json.dumps(document)
    for secret in ("password_hash", "token_hash", user.password_hash, "private_pem"):
        assert secret not in text
    assert login(TestClient(app), user.nip, PASSWORD).status_code == 303
    app.state.engine.dispose()


def test_every_table_of_the_download_has_its_part_in_an_erasure() -> None:
    """An erasure deletes, minimises or keeps on purpose every table the download covers
    (app/main.py, ERASURE and the accounts and reports parts run with it)."""
    from app.main import ERASURE_TABLES

    covered = {table for _name, _section, tables in PERSONAL_DATA for table in tables}
    assert covered - ERASURE_TABLES == set(), "say how an erasure treats these tables"
