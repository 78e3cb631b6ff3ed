"""/api/docs works without internet access: Swagger UI is served from the app's own /static, and in
chromium, with every request to another host refused, it lists the API's operations with no policy
violation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.bootstrap import Services
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, needs_chromium


def test_docs_page_loads_only_local_assets(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text and "http" not in page.text
    assert "unsafe-inline' https" not in page.headers["content-security-policy"]
    assert "script-src 'self';" in page.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert client.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200, asset


@needs_chromium
def test_docs_render_in_a_browser_with_no_internet(world: Services, live_url: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    refused: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(live_url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            problems: list[str] = []
            context.on("console", lambda m: problems.append(m.text)
                       if "Content Security Policy" in m.text or m.type == "error" else None)
            context.route("**/*", offline)
            page = context.new_page()
            page.goto(f"{live_url}/api/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert any("/api/v1/me" in p for p in paths) and len(paths) >= 20
            assert refused == [] and problems == []
        finally:
            browser.close()
