"""Sandbox fixtures: the hand-computed pool stored (seed.py), signed-in clients, the app served live."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.web import create_app
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
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
    """The app served by uvicorn in a thread (for the browser test); uvicorn binds port 0 itself and
    the fixture reads the port it got (as tests/web/conftest.py does)."""
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(world), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a readiness wait, generous for a loaded machine
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
