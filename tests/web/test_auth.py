"""Login, sessions, CSRF and bearer tokens."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of


def test_login_sets_a_signed_session_and_sends_each_role_home(client: TestClient) -> None:
    bad = client.post("/login", data={"username": "bureau", "password": "wrong-password"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    assert 'name="username" autocomplete="username" required value="bureau"' in bad.text  # kept; password not
    assert "wrong-password" not in bad.text
    ok = client.post("/login", data={"username": "bureau", "password": "smeflow-demo"})
    assert ok.status_code == 303 and ok.headers["location"] == "/inbox"
    assert "smeflow_session" in ok.cookies


def test_tampered_cookie_is_not_a_session(client: TestClient) -> None:
    client.cookies.set("smeflow_session", "eyJ1IjoxLCJjIjoieCJ9.forged.signature")
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_logout_needs_the_csrf_token(login: Callable[[str], TestClient]) -> None:
    c = login("manager")
    missing = c.post("/logout", data={})
    assert missing.status_code == 403 and "CSRF" in missing.text
    wrong = c.post("/logout", data={"csrf_token": "not-the-token"})
    assert wrong.status_code == 403
    page = c.get("/account")  # every page with the layout carries the token once logged in
    ok = c.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert ok.status_code == 303 and ok.headers["location"] == "/login"


def test_api_tokens(client: TestClient, token: Callable[[str], dict[str, str]]) -> None:
    assert client.get("/api/v1/me").status_code == 401
    me = client.get("/api/v1/me", headers=token("district-donghu"))
    assert me.status_code == 200 and me.json()["review_unit"] == "donghu"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer smf_nope"}).status_code == 401
    wrong = client.post("/api/v1/tokens", json={"username": "bureau", "password": "x"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "password"


def test_openapi_document(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["info"]["title"] == "smeflow" and "/api/v1/me" in doc["paths"]
