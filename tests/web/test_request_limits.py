"""Issue 12, items 2 and 8: every request body is bounded, sent by a signed-in user and received in
time; every answer carries the security headers. Bodies are sent over a real socket to uvicorn, so
that "answered before the body was sent" is what a client sees, not what a test client fakes."""

from __future__ import annotations

import inspect
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from app.web import create_app
from app.web.limits import body_limit
from services.bootstrap import Services
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, apply_for, needs_chromium
from tests.web.routes import all_routes

Login = Callable[[str], TestClient]
Token = Callable[[str], dict[str, str]]


def _raw(live_url: str, head: str, body: bytes = b"", *, wait: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send a request head (and the first bytes of a body) and read the answer, without ever sending
    the rest of the body."""
    parts = urlsplit(live_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < _expected(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def _expected(data: bytes) -> int:
    head, sep, _ = data.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            return len(head) + len(sep) + int(line.split(":", 1)[1])
    return len(data) + 1 if not sep else len(data)


def test_an_oversized_json_body_is_refused_before_it_is_sent(live_url: str) -> None:
    start = time.monotonic()
    status, headers, body = _raw(live_url, "POST /api/v1/tokens HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                                 "Content-Length: 157286400\n", b'{"username": "')
    assert status == 413 and time.monotonic() - start < 5
    assert "64 KiB" in json.loads(body)["detail"] and headers["connection"] == "close"


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(live_url: str) -> None:
    status, _headers, body = _raw(
        live_url, "POST /api/v1/applications/1/documents HTTP/1.1\nHost: x\n"
        "Content-Type: multipart/form-data; boundary=b\nContent-Length: 52428800\n", b"--b\r\n")
    assert status == 401 and json.loads(body)["detail"].startswith("未登录：请先登录")
    # a forged cookie is no better than none; a page answers with the login page
    status, headers, _ = _raw(live_url, "POST /pool/import HTTP/1.1\nHost: x\nCookie: smeflow_session=forged\n"
                              "Content-Type: multipart/form-data; boundary=b\nContent-Length: 1000000\n", b"--b\r\n")
    assert status == 303 and headers["location"] == "/login?next=/pool/import"


def test_a_slow_body_is_cut_off(live_url: str, world: Services, token: Token) -> None:
    world.settings.request_body_timeout_seconds = 0.5
    bearer = token("applicant-a")["Authorization"]
    start = time.monotonic()
    status, _headers, body = _raw(live_url, f"POST /api/v1/enterprise HTTP/1.1\nHost: x\nAuthorization: {bearer}\n"
                                  "Content-Type: application/json\nContent-Length: 1000\n", b'{"name": "')
    assert status == 408 and "超时" in json.loads(body)["detail"]
    assert time.monotonic() - start < 5


def test_a_chunked_body_is_counted_as_it_arrives(world: Services, token: Token) -> None:
    """No Content-Length to check up front: the body is cut off where it passes the limit."""
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    with TestClient(create_app(world)) as c:
        r = c.post("/api/v1/enterprise", content=chunks(), headers={**token("applicant-a"),
                                                                    "Content-Type": "application/json"})
    assert r.status_code == 413 and "64 KiB" in r.json()["detail"]


def test_uploads_have_their_documented_limit_and_pages_answer_with_the_error_page(world: Services,
                                                                                 login: Login) -> None:
    app_id = apply_for(world, "南昌洪城食品有限公司", "m2-srdi-sme-city", 50_000_00)
    applicant = login("applicant-c")
    world.settings.upload_max_bytes = 100_000
    world.settings.upload_max_files = 2
    big = b"%PDF-1.4\n" + b"0" * 300_000
    r = applicant.post(f"/my/applications/{app_id}/documents", data={"csrf_token": "x"},
                       files=[("files", ("a.pdf", big, "application/pdf"))])
    assert r.status_code == 413 and "text/html" in r.headers["content-type"] and "请求体过大" in r.text
    small = b"%PDF-1.4\n" + b"0" * 90_000  # two files under the limit: within 2 x 100 KB, reaches the route
    r = applicant.post(f"/my/applications/{app_id}/documents", data={"csrf_token": "x"},
                       files=[("files", (name, small, "application/pdf")) for name in ("a.pdf", "b.pdf")])
    assert r.status_code == 403 and "CSRF" in r.text  # the route itself answered


def test_every_answer_carries_the_security_headers(world: Services, login: Login) -> None:
    with TestClient(create_app(world), follow_redirects=False) as anonymous:
        page = anonymous.get("/login")
        api = anonymous.get("/api/v1/me")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in page.headers  # plain HTTP: no HSTS
    assert api.status_code == 401
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    with TestClient(create_app(world), base_url="https://smeflow.example", follow_redirects=False) as secure:
        assert secure.get("/login").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_every_stored_diagram_is_served_sandboxed(world: Services, login: Login) -> None:
    app_id = apply_for(world, "南昌洪城食品有限公司", "m2-srdi-sme-city", 50_000_00)
    auditor = login("auditor")
    xml = auditor.get(f"/audit/cases/{app_id}/diagram.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert xml.headers["content-security-policy"] == "sandbox; default-src 'none'"
    admin = login("admin")
    digest = admin.get("/admin/diagrams").text.split("/admin/diagrams/", 1)[1].split(".bpmn", 1)[0]
    download = admin.get(f"/admin/diagrams/{digest}.bpmn")
    assert download.status_code == 200 and download.headers["content-security-policy"] == "sandbox; default-src 'none'"
    by_hash = admin.get(f"/diagrams/{digest}.bpmn")
    assert by_hash.headers["content-security-policy"] == "sandbox; default-src 'none'"


def test_no_route_runs_on_the_event_loop(world: Services) -> None:
    """Every route is a plain function, run in the thread pool: a slow one (an import) cannot freeze the
    server (the import itself: tests/arrears/test_import_concurrency.py)."""
    routes = [r for r in all_routes(create_app(world)) if r.endpoint.__module__.startswith("app.")]
    assert len(routes) > 100  # FastAPI's own /openapi.json and /api/docs are async and serve cached text
    assert [r.path for r in routes if inspect.iscoroutinefunction(r.endpoint)] == []


@needs_chromium
def test_pages_and_the_diagram_viewer_work_under_the_policy(world: Services, live_url: str) -> None:
    """In chromium: the dashboard draws its diagram and the auditor's case page its path with no
    policy violation; the confirmation before closing a call early still asks (and a 'no' keeps the
    call open); the error page's back link goes back."""
    from playwright.sync_api import sync_playwright

    app_id = apply_for(world, "南昌洪城食品有限公司", "m2-srdi-sme-city", 50_000_00)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            violations: list[str] = []
            context = browser.new_context()
            context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page = context.new_page()

            def sign_in(username: str, target: str) -> None:
                page.goto(f"{live_url}/login?next={target}")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", "smeflow-demo")
                page.click("button[type=submit]")
                page.wait_for_url(f"**{target}")

            sign_in("manager", "/dashboard")
            page.wait_for_selector("#route-diagram[data-diagram-ready=true]", timeout=15_000)
            assert page.locator("#route-diagram .djs-overlay .count").count() >= 1
            page.goto(f"{live_url}/audit/cases/{app_id}")
            page.wait_for_selector("[data-diagram-ready=true]", timeout=15_000)
            page.goto(f"{live_url}/audit")
            page.goto(f"{live_url}/no-such-page")
            assert "页面不存在" in page.content()
            page.click("a[data-back]")
            page.wait_for_url("**/audit")
            page.context.clear_cookies()
            sign_in("admin", "/admin/calls")
            asked: list[str] = []
            page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
            page.locator("form[data-confirm] button").first.click()
            page.wait_for_timeout(300)
            assert asked == ["提前截止后不再受理申报，确定吗？"] and page.url.endswith("/admin/calls")
            assert "已提前截止" not in page.content()
            assert violations == []
        finally:
            browser.close()


def test_every_route_that_takes_files_has_its_documented_limit(world: Services) -> None:
    """A route taking files not listed in app.web.limits.UPLOADS would refuse every real file (64 KiB)."""
    takes_files = {r.path for r in all_routes(create_app(world))
                   if "POST" in r.methods and "UploadFile" in str(inspect.signature(r.endpoint))}
    assert len(takes_files) >= 12
    unlisted = [path for path in takes_files
                if body_limit(world.settings, re.sub(r"\{[^}]+\}", "1", path)) == world.settings.request_max_body_bytes]
    assert unlisted == []
