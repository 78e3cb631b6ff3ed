"""Web fixtures: the ASGI app on the test database, an HTTP client, and logged-in sessions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.web import create_app
from services.bootstrap import Services
from services.demo import DEMO_PASSWORD, Demo


@pytest.fixture
def world(services: Services) -> Services:
    Demo(services, echo=False).load()
    return services


@pytest.fixture
def client(world: Services) -> Iterator[TestClient]:
    with TestClient(create_app(world), follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def login(world: Services) -> Callable[[str], TestClient]:
    """A fresh client logged in as `username` (password of the demo accounts)."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(create_app(world), follow_redirects=False)
        clients.append(c)
        r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 303, r.text
        return c

    yield make  # type: ignore[misc]
    for c in clients:
        c.close()


@pytest.fixture
def token(world: Services) -> Callable[[str], dict[str, str]]:
    """Bearer-token headers for `username`."""
    def make(username: str) -> dict[str, str]:
        with TestClient(create_app(world)) as c:
            r = c.post("/api/v1/tokens", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['token']}"}
    return make
