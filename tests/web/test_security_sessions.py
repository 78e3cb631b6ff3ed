"""Issue 12 items 5 and 9: sessions end at once (logout, deactivation, a password change, a password
set by an admin; reactivation revives nothing), API tokens expire and are listed and revoked by their
owner and by an admin, and a login posted from another site is refused. New passwords are checked
(item 3: common and trivial ones refused)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import ApiToken, AuditEvent, UserSession
from tests.web.conftest import csrf_of

Login = Callable[[str], TestClient]
Token = Callable[[str], dict[str, str]]


def _browser(base: str, username: str, password: str = DEMO_PASSWORD) -> httpx.Client:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    r = c.post("/login", data={"username": username, "password": password})
    assert r.status_code == 303, r.text
    return c


def _signed_in(c: httpx.Client | TestClient, page: str = "/account") -> bool:
    r = c.get(page)
    assert r.status_code in (200, 303), r.status_code
    return r.status_code == 200


def test_an_old_cookie_is_dead_after_logout_over_http(world: Services, live_url: str) -> None:
    browser = _browser(live_url, "bureau")
    stolen = browser.cookies["smeflow_session"]  # a copy of the cookie, as an attacker would keep it
    csrf = csrf_of(browser.get("/account").text)
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    replay = httpx.get(f"{live_url}/inbox", cookies={"smeflow_session": stolen}, follow_redirects=False, timeout=30)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")
    with world.uow() as uow:
        assert uow.session.scalar(select(UserSession.id)) is None  # the row is gone


def test_deactivation_ends_sessions_and_reactivation_revives_none(world: Services, live_url: str) -> None:
    officer = _browser(live_url, "district-donghu")
    assert _signed_in(officer, "/inbox")
    admin = _browser(live_url, "admin")
    csrf = csrf_of(admin.get("/admin/users/district-donghu").text)
    form = {"csrf_token": csrf, "role": "district", "review_unit": "donghu", "display_name": "东湖区经办人"}
    assert admin.post("/admin/users/district-donghu", data={**form, "standing": "inactive"}).status_code == 303
    assert not _signed_in(officer, "/inbox")
    assert admin.post("/admin/users/district-donghu", data={**form, "standing": "active"}).status_code == 303
    assert not _signed_in(officer, "/inbox")  # reactivated, but the old cookie stays dead
    assert _signed_in(_browser(live_url, "district-donghu"), "/inbox")  # a new sign-in works


def test_a_password_change_ends_every_other_session(world: Services, login: Login) -> None:
    here, elsewhere = login("finance"), login("finance")
    csrf = csrf_of(here.get("/account").text)
    change = {"csrf_token": csrf, "current_password": DEMO_PASSWORD, "new_password": "Ganjiang-river-2025",
              "new_password_again": "Ganjiang-river-2025"}
    wrong = here.post("/account/password", data={**change, "current_password": "not-it-at-all"})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    common = here.post("/account/password", data={**change, "new_password": "password1",
                                                  "new_password_again": "password1"})
    assert common.status_code == 422 and "常见密码" in common.text
    done = here.post("/account/password", data=change)
    assert done.status_code == 200 and "此前的所有登录" in done.text
    assert _signed_in(here)  # this browser got a new session
    assert not _signed_in(elsewhere)
    fresh = TestClient(here.app, follow_redirects=False)
    assert fresh.post("/login", data={"username": "finance", "password": DEMO_PASSWORD}).status_code == 401
    assert fresh.post("/login", data={"username": "finance", "password": "Ganjiang-river-2025"}).status_code == 303
    with world.uow() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "user.password")).one()
        assert event.actor == "finance" and "Ganjiang" not in event.payload


def test_an_admin_sets_a_password_and_the_users_sessions_end(world: Services, login: Login) -> None:
    victim, admin = login("manager"), login("admin")
    csrf = csrf_of(admin.get("/admin/users/manager").text)
    trivial = admin.post("/admin/users/manager/password", data={"csrf_token": csrf, "password": "        "})
    assert trivial.status_code == 422 and "过于简单" in trivial.text
    assert _signed_in(victim)
    ok = admin.post("/admin/users/manager/password", data={"csrf_token": csrf, "password": "Xihu-lake-bridge-9"})
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/users?done=password-set"
    assert not _signed_in(victim)


def test_tokens_expire_and_are_listed_and_revoked(world: Services, client: TestClient, token: Token) -> None:
    made = client.post("/api/v1/tokens", json={"username": "bureau", "password": DEMO_PASSWORD, "days": 7,
                                               "name": "报表脚本"})
    assert made.status_code == 200
    expires = datetime.fromisoformat(made.json()["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    too_long = client.post("/api/v1/tokens", json={"username": "bureau", "password": DEMO_PASSWORD, "days": 91})
    assert too_long.status_code == 422 and too_long.json()["field"] == "days"
    bureau = {"Authorization": f"Bearer {made.json()['token']}"}
    mine = client.get("/api/v1/tokens", headers=bureau).json()
    assert [(t["name"], t["live"]) for t in mine] == [("报表脚本", True)]
    finance = token("finance")
    assert client.get("/api/v1/tokens?user=bureau", headers=finance).status_code == 403
    assert client.delete(f"/api/v1/tokens/{made.json()['id']}", headers=finance).status_code == 404
    assert client.get("/api/v1/me", headers=bureau).status_code == 200
    # expired: the same token a moment after its expiry
    with world.uow() as uow:
        uow.session.execute(update(ApiToken).where(ApiToken.id == made.json()["id"])
                            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        uow.commit()
    assert client.get("/api/v1/me", headers=bureau).status_code == 401
    # revoked by its owner, and another revoked by an admin
    second = client.post("/api/v1/tokens", json={"username": "bureau", "password": DEMO_PASSWORD}).json()
    other = {"Authorization": f"Bearer {second['token']}"}
    assert client.get("/api/v1/me", headers=other).status_code == 200
    admin = token("admin")
    listed = client.get("/api/v1/tokens?user=bureau", headers=admin).json()
    assert [t["live"] for t in listed] == [True, False]
    revoked = client.delete(f"/api/v1/tokens/{second['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert client.get("/api/v1/me", headers=other).status_code == 401
    third = client.post("/api/v1/tokens", json={"username": "bureau", "password": DEMO_PASSWORD}).json()
    own = {"Authorization": f"Bearer {third['token']}"}
    assert client.delete(f"/api/v1/tokens/{third['id']}", headers=own).status_code == 200
    assert client.get("/api/v1/me", headers=own).status_code == 401


def test_a_token_is_revoked_from_the_account_page(world: Services, client: TestClient, login: Login) -> None:
    made = client.post("/api/v1/tokens", json={"username": "auditor", "password": DEMO_PASSWORD}).json()
    page = login("auditor")  # read-only, but its own tokens it may revoke
    html = page.get("/account").text
    assert "有效" in html and f'/account/tokens/{made["id"]}/revoke' in html
    r = page.post(f"/account/tokens/{made['id']}/revoke", data={"csrf_token": csrf_of(html), "next": "/account"})
    assert r.status_code == 303 and r.headers["location"] == "/account"
    assert "已撤销" in page.get("/account").text
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 401


def test_a_login_posted_from_another_site_is_refused(client: TestClient) -> None:
    form = {"username": "admin", "password": DEMO_PASSWORD}
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Referer": "https://evil.example/phish.html"}):
        r = client.post("/login", data=form, headers=headers)
        assert r.status_code == 403 and "登录请求来自其他网站" in r.text, headers
        assert "smeflow_session" not in r.headers.get("set-cookie", "")
    same = client.post("/login", data=form, headers={"Origin": "http://testserver",
                                                     "Referer": "http://testserver/login"})
    assert same.status_code == 303


def test_common_and_trivial_passwords_are_refused(world: Services, token: Token, client: TestClient) -> None:
    admin = token("admin")
    base = {"username": "newcomer", "display_name": "新同事", "role": "bureau"}
    for password, rule in (("password", "常见密码"), ("12345678", "连续字符"), ("        ", "过于简单"),
                           ("woaini1314", "常见密码"), ("newcomer-2024", "用户名")):
        r = client.post("/api/v1/admin/users", headers=admin, json={**base, "password": password})
        assert r.status_code == 422 and r.json()["field"] == "password" and rule in r.json()["rule"], (password, r.text)
    ok = client.post("/api/v1/admin/users", headers=admin, json={**base, "password": "Tengwang-pavilion-1"})
    assert ok.status_code == 201
