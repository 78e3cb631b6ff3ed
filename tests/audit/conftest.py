"""Fixtures for the auditor's tests: the demo's six cases (every path of the award routes) plus a
case whose district check ran past its deadline (a stage timer fired by the sweep)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from config.settings import get_settings
from services import replay
from services.bootstrap import Services
from services.deadlines import sweep
from services.demo import Demo, DemoCase
from services.replay_views import ReplayResult
from tests.helpers import act, apply_for, clock


@pytest.fixture
def demo(services: Services) -> dict[str, DemoCase]:
    """The demo's cases by key: a paid, b returned and resubmitted, c rejected by the district,
    d rejected by the bureau, e objection in the public notice, f payout refused (fund exhausted)."""
    run = Demo(services, echo=False)
    run.load()
    run.run()
    return run.cases


def overdue_case(services: Services) -> int:
    """A case whose district check is overdue: the stage's deadline timer fires, then it is approved."""
    app_id = apply_for(services, "南昌洪城食品有限公司", "m2-srdi-sme-city", 50_000_00)
    clock(services).advance(timedelta(days=30))
    report = sweep(services, services.clock.now())
    assert any(spec == "district_check_deadline" for _, spec in report.fired), report
    act(services, app_id, "district-donghu", "approve")
    return app_id


def replay_of(services: Services, application_id: int) -> ReplayResult:
    with services.uow() as uow:
        return replay.replay_case(uow, services, application_id=application_id)


def sql(services: Services, statement: str, **params: Any) -> None:
    with services.db.begin() as conn:
        conn.execute(text(statement), params)


@pytest.fixture
def cli(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner whose `smeflow` uses the test database and data directory."""
    monkeypatch.setenv("SMEFLOW_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("SMEFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("SMEFLOW_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
