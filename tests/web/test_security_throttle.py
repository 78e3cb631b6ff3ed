"""Issue 12 item 3: failed sign-ins are throttled per username and per client address, with a short
lockout, a clear message and an audit event; the client address is the socket's unless a named proxy
forwards it (item 12)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import AuditEvent, LoginThrottle
from tests.conftest import requires_postgres
from tests.web.conftest import csrf_of
from tests.web.served import serve_env, served


def _events(world: Services) -> list[AuditEvent]:
    with world.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "login.locked")))


def test_an_account_is_locked_after_five_failures_even_for_the_right_password(world: Services,
                                                                              client: TestClient) -> None:
    for _ in range(4):
        assert client.post("/login", data={"username": "bureau", "password": "guess-again"}).status_code == 401
    assert _events(world) == []
    fifth = client.post("/login", data={"username": "bureau", "password": "guess-again"})
    assert fifth.status_code == 401  # the fifth failure starts the lock
    right = client.post("/login", data={"username": "bureau", "password": DEMO_PASSWORD})
    assert right.status_code == 429 and "登录失败次数过多" in right.text and "分钟" in right.text
    assert "smeflow_session" not in right.headers.get("set-cookie", "")
    api = client.post("/api/v1/tokens", json={"username": "bureau", "password": DEMO_PASSWORD})
    assert api.status_code == 429 and "登录失败次数过多" in api.json()["detail"]
    assert client.post("/login", data={"username": "finance", "password": DEMO_PASSWORD}).status_code == 303
    [event] = _events(world)
    assert event.actor == "anonymous"
    assert '"scope":"account"' in event.payload and '"username":"bureau"' in event.payload
    with world.uow() as uow:  # the lockout (15 minutes) has run out
        uow.session.execute(update(LoginThrottle).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
        uow.commit()
    assert client.post("/login", data={"username": "bureau", "password": DEMO_PASSWORD}).status_code == 303
    with world.uow() as uow:
        assert uow.session.get(LoginThrottle, "user:bureau") is None  # success clears the username's count


def test_guessing_the_current_password_on_the_account_page_is_throttled_too(
        world: Services, login: Callable[[str], TestClient]) -> None:
    """A stolen session cannot guess the current password without limit: wrong ones count against the
    username like failed sign-ins, and once locked even the right one changes nothing."""
    thief = login("finance")
    csrf = csrf_of(thief.get("/account").text)
    change = {"csrf_token": csrf, "new_password": "Ganjiang-river-2025", "new_password_again": "Ganjiang-river-2025"}
    for _ in range(5):
        wrong = thief.post("/account/password", data={**change, "current_password": "guess-again"})
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    right = thief.post("/account/password", data={**change, "current_password": DEMO_PASSWORD})
    assert right.status_code == 429 and "次数过多" in right.text and "分钟" in right.text
    assert "密码已更改" not in right.text
    [event] = _events(world)
    assert '"scope":"account"' in event.payload and '"username":"finance"' in event.payload
    fresh = TestClient(thief.app, follow_redirects=False)  # the account is locked for sign-in as well
    assert fresh.post("/login", data={"username": "finance", "password": DEMO_PASSWORD}).status_code == 429
    with world.uow() as uow:  # the lock has run out: the password was never changed
        uow.session.execute(update(LoginThrottle).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
        uow.commit()
    assert fresh.post("/login", data={"username": "finance", "password": DEMO_PASSWORD}).status_code == 303


def test_failures_of_unknown_usernames_count_too_and_the_window_runs_out(world: Services,
                                                                         client: TestClient) -> None:
    for _ in range(4):
        assert client.post("/login", data={"username": "Nobody", "password": "x-x-x-x"}).status_code == 401
    with world.uow() as uow:  # the window (15 minutes) ran out: the count starts again
        uow.session.execute(update(LoginThrottle).values(window_started_at=datetime.now(UTC) - timedelta(minutes=16)))
        uow.commit()
    assert client.post("/login", data={"username": "nobody", "password": "x-x-x-x"}).status_code == 401
    with world.uow() as uow:
        row = uow.session.get(LoginThrottle, "user:nobody")
        assert row is not None and row.failures == 1 and row.locked_until is None


def test_an_address_guessing_many_accounts_is_locked(world: Services, client: TestClient) -> None:
    for n in range(20):  # 20 usernames, one wrong password each: no account reaches its limit
        assert client.post("/login", data={"username": f"user-{n}", "password": "x-x-x-x"}).status_code == 401
    r = client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD})
    assert r.status_code == 429
    assert ['"scope":"address"' in e.payload for e in _events(world)] == [True]


@pytest.mark.parametrize(("proxies", "locked"), [("", True), ("127.0.0.1", False)])
def test_a_forged_forwarded_address_does_not_dodge_the_lock(world: Services, tmp_path: Path, proxies: str,
                                                            locked: bool) -> None:
    env = serve_env(world.settings.database_url, tmp_path, environment="development",
                    forwarded_allow_ips=proxies, login_max_failures_per_address="3")
    with served(env, tmp_path / "serve.log") as base:
        for n in range(3):
            r = httpx.post(f"{base}/login", data={"username": f"user-{n}", "password": "x-x-x-x"},
                           headers={"X-Forwarded-For": f"203.0.113.{n}"}, timeout=30)
            assert r.status_code == 401
        last = httpx.post(f"{base}/login", data={"username": "admin", "password": DEMO_PASSWORD},
                          headers={"X-Forwarded-For": "203.0.113.99"}, follow_redirects=False, timeout=30)
        assert last.status_code == (429 if locked else 303)


def test_stale_keys_are_forgotten(world: Services, client: TestClient) -> None:
    assert client.post("/login", data={"username": "someone", "password": "x-x-x-x"}).status_code == 401
    with world.uow() as uow:
        uow.session.execute(update(LoginThrottle).values(window_started_at=datetime.now(UTC) - timedelta(minutes=16)))
        uow.commit()
    assert client.post("/login", data={"username": "another", "password": "x-x-x-x"}).status_code == 401
    with world.uow() as uow:
        keys = set(uow.session.scalars(select(LoginThrottle.key)))
    assert keys == {"user:another", "addr:testclient"}  # user:someone's window ran out: gone


@requires_postgres()
def test_concurrent_failures_are_all_counted_without_deadlock(world: Services, live_url: str) -> None:
    """24 failed sign-ins at once over HTTP (8 usernames, stale keys of others present to be pruned): each
    is answered 401 or, once the address is locked, 429 (none a 500 from a deadlock); every failure is
    counted once, no username is locked (3 < 5), and the address (limit 20) is, with one audit event."""
    with world.uow() as uow:
        old = datetime.now(UTC) - timedelta(hours=1)
        uow.session.add_all([LoginThrottle(key=f"user:old-{n}", failures=1, window_started_at=old)
                             for n in range(50)])
        uow.commit()

    def fail(n: int) -> int:
        r = httpx.post(f"{live_url}/login", data={"username": f"racer-{n % 8}", "password": "x-x-x-x"}, timeout=60)
        return r.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(fail, range(24)))
    assert set(codes) <= {401, 429} and codes.count(401) >= 20, codes
    with world.uow() as uow:
        rows = {r.key: r for r in uow.session.scalars(select(LoginThrottle))}
        assert not any(k.startswith("user:old-") for k in rows)
        assert sum(rows[f"user:racer-{n}"].failures for n in range(8)) == codes.count(401)
        assert all(rows[f"user:racer-{n}"].locked_until is None for n in range(8))
        assert rows["addr:127.0.0.1"].locked_until is not None
    assert ['"scope":"address"' in e.payload for e in _events(world)] == [True]
