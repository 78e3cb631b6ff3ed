"""Settings: defaults from config/defaults.toml, environment overrides, secret guard."""

from __future__ import annotations

import gc
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import DEFAULTS_FILE, DEV_SECRET_KEY, InsecureSecretError, Settings, get_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import os

    for name in list(os.environ):
        if name.startswith("SMEFLOW_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _defaults() -> dict[str, object]:
    with DEFAULTS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def test_defaults_come_from_defaults_toml() -> None:
    s = Settings()
    for key, value in _defaults().items():
        actual = getattr(s, key)
        assert (str(actual) if isinstance(actual, Path) else actual) == value, key
    assert s.stage_limits == {
        "district_check": 10,
        "onsite_check": 10,
        "bureau_review": 15,
        "public_notice": 5,
        "finance_payout": 10,
        "finance_deferral": 20,
        "correct_application": 10,
        "offer_confirmation": 15,
        "arrears_acceptance": 10,
        "arrears_transfer": 10,
        "arrears_supply_material": 10,
        "arrears_repayment_plan": 10,
        "arrears_debtor_response": 10,
        "arrears_escalation_step": 5,
        "arrears_verification": 10,
    }
    assert s.honours_highest_only is True
    assert s.timezone == "Asia/Shanghai"
    assert s.environment == "development" and s.secret_key == ""  # generated on first use (session_secret)
    assert s.database_url == "sqlite:///var/smeflow.db"
    assert s.policy_dir is None and s.calendar_dir is None


def test_every_field_is_described() -> None:
    assert all(f.description for f in Settings.model_fields.values())


def test_secrets_not_in_repr() -> None:
    s = Settings(secret_key="s3cret-value-" * 3, smtp_password="hunter2")
    assert "s3cret-value" not in repr(s) and "hunter2" not in repr(s)


def test_env_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMEFLOW_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("SMEFLOW_HONOURS_HIGHEST_ONLY", "false")
    monkeypatch.setenv("SMEFLOW_SMTP_PORT", "2525")
    monkeypatch.setenv("SMEFLOW_STAGE_LIMITS", '{"district_check": 5}')
    monkeypatch.setenv("SMEFLOW_CALENDAR_DIR", str(tmp_path))
    s = get_settings()
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.honours_highest_only is False and s.smtp_port == 2525
    assert s.stage_limits["district_check"] == 5
    assert s.stage_limits["bureau_review"] == 15  # the rest keep their defaults
    assert s.calendar_dir == tmp_path
    assert get_settings() is s


def test_nested_stage_limit_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMEFLOW_STAGE_LIMITS__PUBLIC_NOTICE", "7")
    s = Settings()
    assert s.stage_limits["public_notice"] == 7 and s.stage_limit("district_check") == 10


def test_bad_stage_limits_refused() -> None:
    with pytest.raises(ValidationError, match="unknown stage"):
        Settings(stage_limits={"distrct_check": 5})
    with pytest.raises(ValidationError, match="positive"):
        Settings(stage_limits={"district_check": 0})


def test_database_url_follows_data_dir(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).database_url == f"sqlite:///{tmp_path.as_posix()}/smeflow.db"


def test_public_secret_refused_outside_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMEFLOW_ENVIRONMENT", "production")
    monkeypatch.setenv("SMEFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMEFLOW_SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(InsecureSecretError, match="拒绝启动：SMEFLOW_SECRET_KEY 是公开的值"):
        Settings()
    monkeypatch.setenv("SMEFLOW_SECRET_KEY", "r" * 40)
    monkeypatch.setenv("SMEFLOW_AUDIT_SIGNING_KEY", "too-short")
    with pytest.raises(InsecureSecretError, match="SMEFLOW_AUDIT_SIGNING_KEY 短于 32 字节"):
        Settings()
    monkeypatch.setenv("SMEFLOW_AUDIT_SIGNING_KEY", "a" * 40)
    assert Settings().environment == "production"
    assert Settings(environment="test", secret_key=DEV_SECRET_KEY).environment == "test"


def test_unknown_timezone_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        Settings(timezone="Mars/Olympus")


def test_the_collector_threshold_is_set_for_the_process() -> None:
    """Building the services sets the young-generation threshold of the cyclic garbage collector;
    0 leaves what the process had."""
    from services.bootstrap import build

    before = gc.get_threshold()
    try:
        build(Settings(environment="test", database_url="sqlite://", gc_young_threshold=12_345))
        assert gc.get_threshold() == (12_345, *before[1:])
        build(Settings(environment="test", database_url="sqlite://", gc_young_threshold=0))
        assert gc.get_threshold()[0] == 12_345
    finally:
        gc.set_threshold(*before)
    with pytest.raises(ValidationError, match="gc_young_threshold"):
        Settings(environment="test", gc_young_threshold=-1)
