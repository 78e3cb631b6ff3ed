"""One award from application to payout, in a real browser (Debian's chromium driven by Playwright) against
the app served by uvicorn: each demo user signs in and works through the pages with real form submissions.
Only the public-notice period passes off-screen: the test moves its manual clock and runs the deadline
sweep, as the scheduled worker would. A screenshot of every step is kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from services.awards.deadlines import sweep
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from tests.helpers import application, clock, needs_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page

ARTIFACTS = Path(os.environ.get("SMEFLOW_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ENTERPRISE = "南昌精工智能装备有限公司"  # applicant-a, 东湖区, national little giant
AWARD = "国家专精特新“小巨人”企业奖励"
TIMEOUT_MS = 15_000

pytestmark = needs_chromium


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """The directory for this test's screenshots, emptied first so that it shows only the last run."""
    db = "postgres" if os.environ.get("SMEFLOW_TEST_DATABASE_URL", "").startswith("postgresql") else "sqlite"
    folder = ARTIFACTS / "screenshots" / f"{request.node.name}-{db}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


class Steps:
    """Numbered full-page screenshots: 01-applicant-calls.png, 02-..."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.n = 0

    def shot(self, page: Page, name: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)


def sign_in(browser: Browser, base: str, username: str) -> Page:
    """A fresh browser context (its own cookies) signed in through the login form."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, f"{username} could not sign in"
    return page


def submit(page: Page, form: str) -> None:
    """Click the form's submit button and wait for the page the server redirects to."""
    with page.expect_navigation():
        page.locator(form).locator("button[type=submit]").click()


def text(page: Page, selector: str = "main") -> str:
    node = page.locator(selector)
    return node.first.inner_text() if node.count() else page.locator("body").inner_text()


def decide_from_inbox(page: Page, app_id: int, stage: str) -> None:
    """From the officer's inbox, open the case's open step."""
    row = page.locator("tbody tr", has_text=f"#{app_id}")
    assert row.count() == 1, f"case #{app_id} is not in the inbox"
    assert stage in row.inner_text() and ENTERPRISE in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name=stage).click()
    assert re.search(r"/tasks/\d+$", page.url)
    assert page.locator("h1").inner_text() == f"{stage} · 案件 #{app_id}"


def test_award_from_application_to_payout_in_a_browser(world: Services, live_url: str, chromium_browser: Browser,
                                                       shots: Path) -> None:
    steps = Steps(shots)

    # -- the applicant applies, with a supporting PDF --------------------------------------------------
    applicant = sign_in(chromium_browser, live_url, "applicant-a")
    assert applicant.url.endswith("/my") and "尚无申报" in text(applicant)
    applicant.get_by_role("link", name="申报批次").click()
    applicant.wait_for_url("**/calls")
    row = applicant.locator("tbody tr", has_text=AWARD)
    assert "可申报" in row.inner_text() and "300,000.00" in row.inner_text()
    steps.shot(applicant, "applicant-calls")
    with applicant.expect_navigation():
        row.get_by_role("link", name="申报").click()
    assert applicant.locator("h1").inner_text() == f"申报：{AWARD}"
    applicant.fill("input[name=requested_yuan]", "280,000")
    applicant.fill("textarea[name=description]", "公司2023年获评国家级专精特新“小巨人”企业。")
    certificate: FilePayload = {"name": "小巨人认定文件.pdf", "mimeType": "application/pdf", "buffer": PDF}
    applicant.set_input_files("input[name=files]", files=[certificate])
    steps.shot(applicant, "applicant-apply-form")
    submit(applicant, "form[action$='/apply']")
    match = re.search(r"/my/applications/(\d+)", applicant.url)
    assert match, applicant.url
    app_id = int(match.group(1))
    detail_url = f"{live_url}/my/applications/{app_id}"
    mine = text(applicant)
    assert "申报已提交，已进入区县初审。" in mine and "办理中" in mine
    assert applicant.locator("p", has_text="当前环节").locator("strong").inner_text() == "区县初审"
    assert "申请 280,000.00" in mine and "上限 300,000.00" in mine
    assert applicant.get_by_role("link", name="小巨人认定文件.pdf").is_visible()
    steps.shot(applicant, "applicant-submitted")

    # -- the district officer of 东湖区 approves ---------------------------------------------------------
    district = sign_in(chromium_browser, live_url, "district-donghu")
    assert district.url.endswith("/inbox")
    decide_from_inbox(district, app_id, "区县初审")
    task = text(district)
    assert "280,000.00 元" in task and "小巨人认定文件.pdf" in task
    assert district.locator("input[name=amount_yuan]").count() == 0  # the district does not set the amount
    steps.shot(district, "district-task")
    district.check("input[name=decision][value=approve]")
    submit(district, "form[action$='/complete']")
    assert f"已办结“区县初审”（案件 #{app_id}），案件现处于：市中小企业局复审" in text(district)
    assert district.locator("tbody tr", has_text=f"#{app_id}").count() == 0
    steps.shot(district, "district-approved")

    # -- the bureau sets the amount and approves ---------------------------------------------------------
    bureau = sign_in(chromium_browser, live_url, "bureau")
    decide_from_inbox(bureau, app_id, "市中小企业局复审")
    assert "区县初审 · 东湖区经办人 district-donghu · 通过" in text(bureau)
    bureau.check("input[name=decision][value=approve]")
    bureau.fill("input[name=amount_yuan]", "250,000")
    steps.shot(bureau, "bureau-task")
    submit(bureau, "form[action$='/complete']")
    assert f"已办结“市中小企业局复审”（案件 #{app_id}），案件现处于：公示" in text(bureau)
    steps.shot(bureau, "bureau-approved")

    applicant.goto(detail_url)  # the applicant comes back later to follow the case
    mine = text(applicant)
    assert applicant.locator("p", has_text="当前环节").locator("strong").inner_text() == "公示"
    assert "核定 250,000.00" in mine and "已拨付" not in mine
    steps.shot(applicant, "applicant-public-notice")

    # -- the public notice period passes: the clock moves, the scheduled sweep fires the timer ----------
    clock(world).advance(timedelta(days=20))
    report = sweep(world, world.clock.now())
    assert app_id in [fired for fired, _spec in report.fired]
    assert application(world, app_id).stage == "finance_payout"

    # -- finance pays with a payment reference ------------------------------------------------------------
    finance = sign_in(chromium_browser, live_url, "finance")
    decide_from_inbox(finance, app_id, "财政拨付")
    task = text(finance)
    assert "拨付资金" in task and "2024年市级中小企业发展专项资金" in task and "本案核定 250,000.00 元" in task
    assert "剩余额度不足" not in task
    assert finance.locator("input[name=decision]").count() == 3  # 拨付, 暂缓拨付, 退回复审
    finance.check("input[name=decision][value=pay]")
    finance.fill("input[name=payment_reference]", "PAY-2024-0601")
    steps.shot(finance, "finance-task")
    submit(finance, "form[action$='/complete']")
    assert f"已办结“财政拨付”（案件 #{app_id}），案件现处于：已拨付" in text(finance)
    steps.shot(finance, "finance-paid")

    # -- the applicant sees the award paid ---------------------------------------------------------------
    applicant.goto(detail_url)  # the applicant comes back later to follow the case
    mine = text(applicant)
    assert applicant.locator("span.badge.paid").inner_text() == "已拨付"
    assert "已拨付 250,000.00（凭证 PAY-2024-0601" in mine
    timeline = applicant.locator("ul.timeline").inner_text()
    for step in ("区县初审（东湖区）· 通过", "市中小企业局复审（市中小企业局）· 通过", "公示（市中小企业局）· 期满",
                 "财政拨付（市财政局）· 拨付"):
        assert step in timeline, step
    steps.shot(applicant, "applicant-paid")
    applicant.get_by_role("link", name="我的申报", exact=True).click()
    applicant.wait_for_url("**/my")
    listed = applicant.locator("tbody tr", has_text=f"#{app_id}").inner_text()
    assert "已拨付" in listed and "280,000.00 / 250,000.00" in listed
    steps.shot(applicant, "applicant-my-list")

    # -- the manager sees the case on the dashboard's diagram ---------------------------------------------
    manager = sign_in(chromium_browser, live_url, "manager")
    assert manager.url.endswith("/dashboard")
    manager.wait_for_selector("#route-diagram[data-diagram-ready=true]")
    assert manager.locator("#route-diagram svg").count() > 0
    paid_badge = manager.locator('#route-diagram .djs-overlays[data-container-id="end_paid"] .count')
    assert paid_badge.inner_text() == "1" and "ended" in (paid_badge.get_attribute("class") or "")
    assert manager.locator("#route-diagram .djs-overlay .count").all_inner_texts() == ["1"]  # nothing else open
    assert manager.locator("#route-diagram .bjs-powered-by").is_visible()
    steps.shot(manager, "manager-dashboard")
    manager.locator("#diagram").screenshot(path=str(shots / f"{steps.n + 1:02d}-manager-diagram.png"))

    saved = sorted(shots.glob("*.png"))
    assert len(saved) == steps.n + 1 and all(p.stat().st_size > 10_000 for p in saved)
