"""Settings: environment prefix, production refuses the default secret, every one documented."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import DEFAULT_SECRET, ROOT, Settings


def test_environment_variables_use_the_prefix(monkeypatch) -> None:
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("BERAKHLAK_JP_TARGET", "30")
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.db" and settings.jp_target == 30


def test_production_refuses_the_default_or_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key="short")
    assert Settings(environment="production", secret_key="x" * 40).environment == "production"


def test_production_refuses_to_start_from_the_cli(monkeypatch) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    monkeypatch.setenv("BERAKHLAK_ENVIRONMENT", "production")
    monkeypatch.delenv("BERAKHLAK_SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "BERAKHLAK_SECRET_KEY" in result.output


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"BERAKHLAK_{name.upper()}" in readme, name


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(timezone="Mars/Olympus")


def test_the_pppk_ceiling_keeps_a_value_set_under_its_old_name(monkeypatch) -> None:
    """BERAKHLAK_JP_TARGET_PPPK became BERAKHLAK_JP_CEILING_PPPK (PP 49/2018 Pasal 40 ayat (1)
    sets a ceiling, not a target): an installation that still sets the old name keeps it."""
    monkeypatch.setenv("BERAKHLAK_JP_TARGET_PPPK", "20")
    with pytest.warns(UserWarning, match="BERAKHLAK_JP_CEILING_PPPK"):
        assert Settings().jp_ceiling_pppk == 20
    monkeypatch.setenv("BERAKHLAK_JP_CEILING_PPPK", "22")  # the new name wins
    assert Settings().jp_ceiling_pppk == 22
