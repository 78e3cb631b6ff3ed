"""Prefect fixtures: one `prefect_test_harness` per test process (it takes about 12 s to start),
and the environment that makes a flow's `services.bootstrap.build()` use the test database."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# Before prefect is imported: no telemetry (offline), and Prefect's home away from the user's.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="smeflow-prefect-home-"))

from services.bootstrap import Services


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A temporary Prefect server for the whole session (flows run against it for real).

    About 12 s to start on an idle machine; the generous timeout is for a loaded CI runner.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def flow_env(prefect_server: None, services_env: Services) -> Services:
    """Flows build their service from SMEFLOW_*: point them at the `services` test database."""
    return services_env
