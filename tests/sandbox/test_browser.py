"""The sandbox page in a real browser (Debian's chromium driven by Playwright) against the app served by
uvicorn: the finance bureau uploads the test draft, and sees the hand-computed totals and both charts.
A screenshot is kept under test-artifacts/screenshots/."""

from __future__ import annotations

import os
from pathlib import Path

from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, needs_chromium

ARTIFACTS = Path(os.environ.get("SMEFLOW_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
DRAFT_FILE = Path(__file__).parent / "data" / "test-sandbox-draft.toml"

pytestmark = needs_chromium


def test_finance_prices_a_draft_in_the_browser(world: Services, live_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(f"{live_url}/login")
            page.fill("input[name=username]", "finance")
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.click("text=政策沙盘")
            page.set_input_files("input[name=draft_file]", str(DRAFT_FILE))
            page.select_option("select[name=against]", "2022-109")
            page.fill("input[name=as_of]", "2025-10-01")
            page.fill("input[name=take_up]", "0.5")
            page.click("text=开始测算")
            expect(page.locator("#draft-cap")).to_have_text("2,035,000.00")
            expect(page.locator("#current-ratio")).to_have_text("1,641,250.00")
            expect(page.locator("svg[aria-label=按奖励类型的预计支出]")).to_be_visible()
            expect(page.locator("svg[aria-label=按区县的预计支出]")).to_be_visible()
            expect(page.locator("#losers h2")).to_have_text("减少奖励的企业（6 家）")
            folder = ARTIFACTS / "screenshots"
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / "sandbox-result.png"), full_page=True)
            with page.expect_download() as download:
                page.click("text=下载 Excel（含图表）")
            assert download.value.suggested_filename.endswith(".xlsx")
        finally:
            browser.close()
