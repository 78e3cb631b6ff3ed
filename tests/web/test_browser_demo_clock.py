"""A newcomer walks one case through every stage in a real browser, on the demo's own clock (the
state `smeflow demo` leaves: the 2025 call open on 2025-06-16): the banner on every page, the admin
moves the demo clock past the end of the public notice from the page, finance pays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from services.bootstrap import Services
from tests.democlock import demo_on_its_clock
from tests.helpers import needs_chromium, served
from tests.web.test_browser_award_path import PDF, sign_in, submit, text

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = needs_chromium
AWARD = "江西省“专精特新”中小企业奖励"
BANNER = "演示环境 · 演示时钟 "


@pytest.fixture
def demo_url(services: Services) -> Iterator[str]:
    demo = demo_on_its_clock(services)
    with served(demo) as url:
        yield url
    demo.db.dispose()


def banner(page: Page) -> str:
    return page.locator("#demo-banner").inner_text()


def open_step(page: Page, app_id: int, stage: str) -> None:
    row = page.locator("tbody tr", has_text=f"#{app_id}")
    with page.expect_navigation():
        row.get_by_role("link", name=stage).click()


def test_newcomer_walks_a_case_on_the_demo_clock(demo_url: str, chromium_browser: Browser) -> None:
    browser = chromium_browser
    applicant = sign_in(browser, demo_url, "applicant-g")
    assert banner(applicant).startswith(f"{BANNER}2025-06-16 10:0")
    applicant.goto(f"{demo_url}/calls")
    row = applicant.locator("tbody tr", has_text=AWARD)
    assert "可申报" in row.inner_text()
    with applicant.expect_navigation():
        row.get_by_role("link", name="申报").click()
    applicant.fill("input[name=requested_yuan]", "60,000")
    applicant.fill("textarea[name=description]", "演示：2024年获评江西省专精特新中小企业。")
    applicant.set_input_files("input[name=files]",
                              files=[{"name": "认定文件.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    submit(applicant, "form[action$='/apply']")
    match = re.search(r"/my/applications/(\d+)", applicant.url)
    assert match, applicant.url
    app_id = int(match.group(1))

    district = sign_in(browser, demo_url, "district-donghu")
    assert banner(district).startswith(f"{BANNER}2025-06-16 10:")
    open_step(district, app_id, "区县初审")
    district.check("input[name=decision][value=approve]")
    submit(district, "form[action$='/complete']")

    bureau = sign_in(browser, demo_url, "bureau")
    open_step(bureau, app_id, "市中小企业局复审")
    bureau.check("input[name=decision][value=approve]")
    bureau.fill("input[name=amount_yuan]", "55,000")
    submit(bureau, "form[action$='/complete']")
    assert "案件现处于：公示" in text(bureau)

    admin = sign_in(browser, demo_url, "admin")
    with admin.expect_navigation():
        admin.locator("#demo-banner").get_by_role("link", name="拨动演示时钟").click()
    assert "下一个到期期限：2025年6月23日（周一）前" in text(admin)
    with admin.expect_navigation():
        admin.get_by_role("button", name="拨到下一个到期期限之后").click()
    assert "已将演示时钟拨至 2025-06-24 00:01；到期检查触发了 1 个计时器" in text(admin)
    assert banner(admin).startswith(f"{BANNER}2025-06-24 00:0")

    finance = sign_in(browser, demo_url, "finance")
    open_step(finance, app_id, "财政拨付")
    assert "2025年市级中小企业发展专项资金" in text(finance)
    finance.check("input[name=decision][value=pay]")
    finance.fill("input[name=payment_reference]", "PAY-DEMO-2025-0001")
    submit(finance, "form[action$='/complete']")
    assert "案件现处于：已拨付" in text(finance)

    applicant.goto(f"{demo_url}/my/applications/{app_id}")
    assert applicant.locator("span.badge.paid").inner_text() == "已拨付"
    assert banner(applicant).startswith(f"{BANNER}2025-06-24 00:")
