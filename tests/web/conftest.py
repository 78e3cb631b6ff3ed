"""Web fixtures: the ASGI app on the test database, an HTTP client, and logged-in sessions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from app.web import create_app
from services.awards.demo import DEMO_PASSWORD, Demo
from services.bootstrap import Services
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, served

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def world(services: Services) -> Services:
    Demo(services, echo=False).load()
    return services


@pytest.fixture
def chromium_browser() -> Iterator[Browser]:
    """Debian's chromium driven by Playwright; a test that asks for it is skipped when it is missing
    (.ci/run installs it, and .ci/check_skips.py fails a CI pass whose browser tests did not run)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(CHROMIUM_MISSING)

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


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


@pytest.fixture
def live_url(world: Services) -> Iterator[str]:
    """The app served by uvicorn in a thread, on the test database and manual clock (for the browser
    tests; tests.helpers.served)."""
    with served(world) as url:
        yield url
