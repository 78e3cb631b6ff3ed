"""Issue 12 item 9 in a real browser (Debian's chromium driven by Playwright): a page on another site
that auto-submits a login form to smeflow (login CSRF: signing the victim in as the attacker) gets the
refusal, and the browser holds no session afterwards; the site's own login page still signs in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from tests.helpers import needs_chromium
from tests.web.test_browser_award_path import TIMEOUT_MS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = needs_chromium


@pytest.fixture
def attacker_site(live_url: str) -> Iterator[str]:
    """Another origin (localhost, its own port) serving a page that posts the attacker's credentials."""
    page = f"""<!doctype html><html><body>
<form id="f" method="post" action="{live_url}/login">
<input name="username" value="applicant-b"><input name="password" value="{DEMO_PASSWORD}">
</form><script>document.getElementById('f').submit()</script></body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/prize.html"
    server.shutdown()
    thread.join(5)


def test_a_cross_site_login_form_does_not_sign_the_browser_in(world: Services, live_url: str, attacker_site: str,
                                                              chromium_browser: Browser) -> None:
    context = chromium_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    with page.expect_response(f"{live_url}/login") as answer:
        page.goto(attacker_site)
    assert answer.value.status == 403
    page.wait_for_selector("text=登录请求来自其他网站")
    assert not [c for c in context.cookies(live_url) if c["name"] == "smeflow_session"]
    page.goto(f"{live_url}/my")
    assert page.url.startswith(f"{live_url}/login")  # not signed in as the attacker
    page.fill("input[name=username]", "applicant-a")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/my")
    assert [c for c in context.cookies(live_url) if c["name"] == "smeflow_session"]
    context.close()
