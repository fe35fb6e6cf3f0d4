"""`berakhlak keys …` and `berakhlak certificates …` against a real database."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from modules.certificates import keys, service
from modules.certificates.models import Certificate
from tests.conftest import SECRET
from tests.modules.certificates.helpers import completed_user, issue, make_app


@pytest.fixture
def env(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", db_url)
    monkeypatch.setenv("BERAKHLAK_SECRET_KEY", SECRET)
    app = make_app(db_url, tmp_path)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--lang", "en", *args])

    yield app, run
    app.state.engine.dispose()


def test_keys_generate_rotate_and_list(env) -> None:
    app, run = env
    first = run("keys", "generate")
    assert first.exit_code == 0, first.output
    kid = first.output.split()[-1]
    rotated = run("keys", "rotate")
    assert rotated.exit_code == 0 and f"retired {kid}" in rotated.output
    listing = run("keys", "list").output.strip().splitlines()
    # newest first: the new key, the one just retired, the one made at start-up (retired too)
    assert len(listing) == 3 and listing[1].startswith(kid) and not listing[1].endswith("-")
    assert listing[0].endswith("-") and not listing[2].endswith("-")
    with Session(app.state.engine) as session:
        assert kid in {k["kid"] for k in keys.published(session=session)}  # still published
        assert keys.signing_key(session=session, secret=SECRET).kid != kid


def test_revoke_and_reissue_from_the_command_line(env) -> None:
    app, run = env
    certificate = issue(app, completed_user(app))
    assert run("certificates", "revoke", "BA/1999/000001", "--reason", "apa saja").exit_code == 2
    short = run("certificates", "revoke", certificate.number, "--reason", "x")
    assert short.exit_code == 2 and "5 to 500" in short.output
    reissued = run("certificates", "reissue", certificate.code)
    assert reissued.exit_code == 0, reissued.output
    with Session(app.state.engine) as session:
        new = service.current(session=session, user_id=certificate.user_id, course_id="demo")
        assert new.revision == 2 and new.number in reissued.output
    done = run("certificates", "revoke", new.number, "--reason", "Kelulusan dibatalkan")
    assert done.exit_code == 0, done.output
    with Session(app.state.engine) as session:
        assert session.get(Certificate, new.id).revoked_reason == "Kelulusan dibatalkan"
    again = run("certificates", "revoke", new.number, "--reason", "Kelulusan dibatalkan")
    assert again.exit_code == 2 and "already revoked" in again.output


def test_an_hr_officer_made_on_the_command_line_is_scoped_to_their_agency(env) -> None:
    app, run = env
    from modules.accounts import grants
    from modules.accounts import service as accounts_service
    from modules.accounts.models import User
    from modules.agencies import service as agencies_service

    result = CliRunner().invoke(
        cli,
        [
            "users",
            "create",
            "--nip",
            "198001012005011904",
            "--name",
            "Petugas SDM",
            "--email",
            "sdm@bkn.go.id",
            "--agency",
            "LB-BKN",
            "--role",
            "hr",
            "--password-stdin",
        ],
        input="kata-sandi-panjang-sekali-9\n",
    )
    assert result.exit_code == 0, result.output
    with Session(app.state.engine) as session:
        user = accounts_service.get_by_nip(session=session, nip="198001012005011904")
        bkn = agencies_service.get_by_code(session=session, code="LB-BKN")
        assert isinstance(user, User)
        scope = grants.hr_scope(session=session, user_id=user.id)
        assert scope.agencies == {bkn.id} and not scope.everything and not scope.units
