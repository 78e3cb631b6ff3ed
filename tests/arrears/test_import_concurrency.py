"""Issue 12, item 11: a ledger import does not freeze the server. While a 60,000-row upload is being
parsed and stored, another visitor's page is served (over real HTTP, against uvicorn). The page is the
sign-in page, which needs no database: on SQLite every transaction takes the write lock at its start
(services/db/session.py), so a page that reads the database waits for the import's transaction there
(in its own thread, never on the event loop)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from services.bootstrap import Services
from tests.arrears.conftest import PASSWORD, build_campaign
from tests.arrears.test_import import big_ledger
from tests.helpers import served


@pytest.fixture
def server(services: Services) -> Iterator[str]:
    build_campaign(services)
    with served(services) as url:
        yield url


def _login(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 303
    return client


def test_another_request_is_served_during_an_import(server: str) -> None:
    bureau, visitor = _login(server, "bureau"), httpx.Client(base_url=server, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', bureau.get("/arrears/import").text)
    assert token
    content = big_ledger(60_000)
    finished: dict[str, float] = {}

    def upload() -> None:
        r = bureau.post("/arrears/import", data={"csrf_token": token.group(1)},
                        files={"file": ("big.csv", content, "text/csv")})
        finished["import"] = time.monotonic()
        finished["status"] = r.status_code
        finished["imported"] = float("已导入 60000 件" in r.text or "已导入 60,000 件" in r.text)

    worker = threading.Thread(target=upload)
    worker.start()
    time.sleep(0.5)  # the upload (6 MB over loopback) has arrived; the import is running
    page = visitor.get("/login")
    served = time.monotonic()
    worker.join(180)
    assert page.status_code == 200 and finished["status"] == 200 and finished["imported"] == 1.0
    assert served < finished["import"] - 0.3, "the page waited for the import to finish"
    bureau.close()
    visitor.close()
