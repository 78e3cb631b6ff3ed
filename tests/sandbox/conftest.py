"""Sandbox fixtures: the hand-computed pool stored (seed.py), signed-in clients, the app served live."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.web import create_app
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from tests.helpers import served
from tests.sandbox.seed import seed


@pytest.fixture
def world(services: Services) -> Services:
    seed(services)
    return services


@pytest.fixture
def login(world: Services) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(create_app(world), follow_redirects=False)
        clients.append(c)
        assert c.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 303
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def live_url(world: Services) -> Iterator[str]:
    """The app served by uvicorn in a thread (for the browser test; tests.helpers.served)."""
    with served(world) as url:
        yield url
