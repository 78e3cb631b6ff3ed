"""SMEFLOW_CLOCK: the CLI and the flows run at a chosen instant in development and test; any other
environment refuses it, and a time without its offset is refused."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app.cli import app
from config.settings import Settings, get_settings
from services.bootstrap import Services, build
from services.time.clock import ManualClock
from tests.conftest import point_env_at


def test_build_reads_the_clock_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMEFLOW_ENVIRONMENT", "test")
    monkeypatch.setenv("SMEFLOW_CLOCK", "2024-06-03T10:00+08:00")
    assert build(Settings()).clock.now() == datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
    monkeypatch.delenv("SMEFLOW_CLOCK")
    assert not isinstance(build(Settings()).clock, ManualClock)  # the real time (or the demo's stored clock)


@pytest.mark.parametrize(("environment", "value", "rule"), [
    ("production", "2024-06-03T10:00+08:00", "honoured only in development and test"),
    ("staging", "2024-06-03T10:00+08:00", "honoured only in development and test"),
    ("test", "2024-06-03T10:00", "must carry its UTC offset"),
])
def test_a_fixed_clock_is_refused_outside_development_and_test(environment: str, value: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as caught:
        Settings(environment=environment, clock=value, secret_key=secrets.token_urlsafe(32),
                 audit_signing_key=secrets.token_urlsafe(32))
    assert "SMEFLOW_CLOCK" in str(caught.value)


def test_the_cli_runs_at_the_set_instant(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    point_env_at(services, monkeypatch)
    runner = CliRunner()
    monkeypatch.setenv("SMEFLOW_CLOCK", "2024-06-10T09:00+08:00")  # Monday, 端午节
    get_settings.cache_clear()
    assert "今天不是工作日：不发送待办提醒" in runner.invoke(app, ["remind"]).output
    monkeypatch.setenv("SMEFLOW_CLOCK", "2024-06-11T09:00+08:00")  # Tuesday
    get_settings.cache_clear()
    result = runner.invoke(app, ["remind"])
    assert result.exit_code == 0 and "已为 0 名经办人排队发送待办提醒 0 封" in result.output
    get_settings.cache_clear()
