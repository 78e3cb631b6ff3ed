"""Shared fixtures.

Database tests run on SQLite by default. With SMEFLOW_TEST_DATABASE_URL pointing at PostgreSQL
they run there (each xdist worker in its own schema), and the PostgreSQL-only tests run too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from config.settings import Settings
from services.bootstrap import Services, build
from services.db.base import Base
from services.db.session import make_engine
from services.setup import initialise
from services.time.clock import ManualClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 6, 3, 9, 0, tzinfo=SHANGHAI)  # a Monday; the 2024 calendar is known
PG_URL = os.environ.get("SMEFLOW_TEST_DATABASE_URL", "")
#: default schema prefix: one per checkout, so test runs of two clones never drop each other's schemas
_CHECKOUT_PREFIX = "smeflow_test_" + hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]
ON_POSTGRES = PG_URL.startswith("postgresql")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, initialised database: a SQLite file to copy, or a PostgreSQL schema."""
    if ON_POSTGRES:
        # Two checkouts (or SMEFLOW_TEST_SCHEMA_PREFIX) share one PostgreSQL database side by side
        schema = f"{os.environ.get('SMEFLOW_TEST_SCHEMA_PREFIX', _CHECKOUT_PREFIX)}_{_worker()}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = _pg_url(schema)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template')}/template.db"
    services = build(Settings(database_url=url, environment="test"), clock=ManualClock(START))
    initialise(services)
    services.db.dispose()
    return url


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def db_url(database_template: str, tmp_path: Path) -> str:
    if ON_POSTGRES:
        _reset_postgres(database_template)
        return database_template
    path = tmp_path / "smeflow.db"
    shutil.copy(database_template.split("///", 1)[1], path)
    return f"sqlite:///{path}"


@pytest.fixture
def services(db_url: str, tmp_path: Path) -> Iterator[Services]:
    """The wired service on a fresh database, with a manual clock at 2024-06-03 09:00 Shanghai."""
    svc = build(Settings(database_url=db_url, environment="test", data_dir=tmp_path,
                         argon2_time_cost=1, argon2_memory_kib=64), clock=ManualClock(START))
    if ON_POSTGRES:
        initialise(svc)  # the schema was truncated: reload policy data and diagrams
    yield svc
    svc.db.dispose()


def point_env_at(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """SMEFLOW_* pointing at `services`' database and data directory, for code that builds its own
    service from the environment (the CLI, the flows); the settings cache is cleared."""
    from config.settings import get_settings

    monkeypatch.setenv("SMEFLOW_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("SMEFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("SMEFLOW_ENVIRONMENT", "test")
    get_settings.cache_clear()


@pytest.fixture
def services_env(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """`services`, with the environment pointing at it (point_env_at)."""
    from config.settings import get_settings

    point_env_at(services, monkeypatch)
    yield services
    get_settings.cache_clear()


def requires_postgres() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: set SMEFLOW_TEST_DATABASE_URL")
