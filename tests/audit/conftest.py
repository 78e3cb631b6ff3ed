"""Fixtures for the auditor's tests: the demo's six cases (every path of the award routes) plus a
case whose district check ran past its deadline (a stage timer fired by the sweep)."""

from __future__ import annotations

import copy
import shutil
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from config.settings import Settings
from services.audit import replay
from services.audit.replay_views import ReplayResult
from services.awards.deadlines import sweep
from services.awards.demo import Demo, DemoCase
from services.bootstrap import Services, build
from services.time.clock import ManualClock
from tests.conftest import ON_POSTGRES, START
from tests.helpers import act, apply_for, clock


def _run_demo(services: Services) -> dict[str, DemoCase]:
    run = Demo(services, echo=False)
    run.load()
    run.run()
    return run.cases


@pytest.fixture(scope="session")
def demo_template(database_template: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[Path, dict[str, DemoCase], datetime] | None:
    """On SQLite, the demo run once per test process into a database file that tests copy."""
    if ON_POSTGRES:
        return None
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(database_template.split("///", 1)[1], path)
    services = build(Settings(database_url=f"sqlite:///{path}", environment="test", argon2_time_cost=1,
                              argon2_memory_kib=64), clock=ManualClock(START))
    cases = _run_demo(services)
    services.db.dispose()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:  # fold the WAL into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, cases, services.clock.now()


@pytest.fixture
def demo(services: Services, demo_template: tuple[Path, dict[str, DemoCase], datetime] | None
         ) -> dict[str, DemoCase]:
    """The demo's cases by key: a paid, b returned and resubmitted, c rejected by the district,
    d rejected by the bureau, e objection in the public notice, f payout refused (fund exhausted)."""
    if demo_template is None:
        return _run_demo(services)
    path, cases, end = demo_template
    services.db.dispose()
    shutil.copy(path, services.settings.database_url.split("///", 1)[1])
    clock(services).set(end)
    return copy.deepcopy(cases)


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
def cli(services_env: Services) -> CliRunner:
    """A CLI runner whose `smeflow` uses the test database and data directory."""
    return CliRunner()
