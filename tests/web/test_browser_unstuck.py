"""Cases that used to get stuck, walked through in a real browser (Debian's chromium, Playwright) against
the app served by uvicorn, to the payout:

- a measure-9 case (an entrepreneurship-innovation base) of 东湖区, whose only ordinary district officer
  decides the district check and so may not do the on-site check: the step goes to the unit head
  (head-donghu), the officer sees it greyed with the reason, the head checks, the case is paid;
- a payout the fund cannot cover: finance defers it (暂缓拨付) with a reason, the bureau tops the fund
  up at /funds, finance pays.

Only the public-notice period passes off-screen (the clock moves and the sweep runs, as the worker
would). Screenshots of each step go under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from services.awards.deadlines import sweep
from services.awards.demo import ENTERPRISES
from services.bootstrap import Services
from services.db.models import Enterprise, Fund
from tests.helpers import application, clock, needs_chromium
from tests.web.test_browser_award_path import (  # noqa: F401  (shots: a fixture)
    PDF,
    Steps,
    shots,
    sign_in,
    submit,
    text,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page

pytestmark = needs_chromium

BASE_ENTERPRISE = ENTERPRISES[5][1]  # 赣江双创产业园运营有限公司, national base (measure 9), applicant-f
BASE_AWARD = "国家小型微型企业创业创新示范基地奖励"
GIANT_ENTERPRISE = ENTERPRISES[0][1]  # 南昌精工智能装备有限公司, 东湖区, applicant-a
GIANT_AWARD = "国家专精特新“小巨人”企业奖励"


def apply(browser: Browser, base: str, username: str, award: str, amount: str, steps: Steps) -> tuple[Page, int]:
    page = sign_in(browser, base, username)
    page.goto(f"{base}/calls")
    row = page.locator("tbody tr", has_text=award)
    assert "可申报" in row.inner_text(), row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name="申报").click()
    page.fill("input[name=requested_yuan]", amount)
    page.fill("textarea[name=description]", "申报说明（浏览器测试）")
    certificate: FilePayload = {"name": "认定文件.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.set_input_files("input[name=files]", files=[certificate])
    submit(page, "form[action$='/apply']")
    match = re.search(r"/my/applications/(\d+)", page.url)
    assert match, page.url
    steps.shot(page, f"{username}-submitted")
    return page, int(match.group(1))


def open_step(page: Page, app_id: int, stage: str, enterprise: str) -> None:
    page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/inbox")
    row = page.locator("tbody tr", has_text=f"#{app_id}")
    assert row.count() == 1, f"case #{app_id} is not in the inbox: {text(page)}"
    assert stage in row.inner_text() and enterprise in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name=stage).click()
    assert page.locator("h1").inner_text() == f"{stage} · 案件 #{app_id}"


def decide(page: Page, decision: str, steps: Steps, name: str, **fields: str) -> None:
    page.check(f"input[name=decision][value={decision}]")
    for field, value in fields.items():
        page.fill(f"[name={field}]", value)
    steps.shot(page, name)
    submit(page, "form[action$='/complete']")


def pass_the_public_notice(world: Services, app_id: int) -> None:
    clock(world).advance(timedelta(days=20))
    report = sweep(world, world.clock.now())
    assert app_id in [fired for fired, _spec in report.fired]
    assert application(world, app_id).stage == "finance_payout"


def test_a_measure_9_case_of_a_one_officer_district_reaches_payout_through_the_unit_head(
        world: Services, live_url: str, chromium_browser: Browser, shots: Path) -> None:  # noqa: F811 (fixtures)
    steps = Steps(shots)
    with world.uow() as uow:  # the base is registered with 东湖区: one ordinary officer and a head
        uow.session.scalars(select(Enterprise).where(Enterprise.name == BASE_ENTERPRISE)).one().review_unit_code \
            = "donghu"
        uow.commit()
    applicant, app_id = apply(chromium_browser, live_url, "applicant-f", BASE_AWARD, "300,000", steps)

    district = sign_in(chromium_browser, live_url, "district-donghu")
    open_step(district, app_id, "区县初审", BASE_ENTERPRISE)
    decide(district, "approve", steps, "district-check")
    assert "案件现处于：现场核查" in text(district)
    row = district.locator("tbody tr", has_text=f"#{app_id}")  # the on-site check: shown, greyed, not offered
    assert row.count() == 1 and row.get_attribute("aria-disabled") == "true"
    assert "不可办理" in row.inner_text() and "职责分离" in row.inner_text()
    assert "已转单位负责人" in row.inner_text()  # where the step went (issue 13)
    assert row.locator("button").count() == 0
    steps.shot(district, "district-greyed")
    district.goto(live_url + (row.get_by_role("link", name="现场核查").get_attribute("href") or ""))
    assert district.locator("form[action$='/complete']").count() == 0 and "职责分离" in text(district)

    head = sign_in(chromium_browser, live_url, "head-donghu")
    open_step(head, app_id, "现场核查", BASE_ENTERPRISE)
    assert "区县初审 · 东湖区经办人 district-donghu · 通过" in text(head)  # the username in <code> beside the name
    decide(head, "approve", steps, "head-onsite-check")
    assert "案件现处于：市中小企业局复审" in text(head)

    bureau = sign_in(chromium_browser, live_url, "bureau")
    open_step(bureau, app_id, "市中小企业局复审", BASE_ENTERPRISE)
    decide(bureau, "approve", steps, "bureau-review", amount_yuan="300,000")
    pass_the_public_notice(world, app_id)

    finance = sign_in(chromium_browser, live_url, "finance")
    open_step(finance, app_id, "财政拨付", BASE_ENTERPRISE)
    decide(finance, "pay", steps, "finance-pay", payment_reference="PAY-2024-0901")
    assert "案件现处于：已拨付" in text(finance)

    applicant.goto(f"{live_url}/my/applications/{app_id}")
    assert applicant.locator("span.badge.paid").inner_text() == "已拨付"
    timeline = applicant.locator("ul.timeline").inner_text()
    assert "现场核查" in timeline and "已拨付 300,000.00" in text(applicant)
    steps.shot(applicant, "applicant-paid")


def test_a_payout_the_fund_cannot_cover_is_deferred_then_paid_after_a_top_up(
        world: Services, live_url: str, chromium_browser: Browser, shots: Path) -> None:  # noqa: F811 (fixtures)
    steps = Steps(shots)
    with world.uow() as uow:
        fund = uow.session.scalars(select(Fund).where(Fund.code == "sme-2024")).one()
        fund.budget_fen = 100_000_00  # 100,000 yuan left; the award will be 250,000
        fund_code = fund.code
        uow.commit()
    applicant, app_id = apply(chromium_browser, live_url, "applicant-a", GIANT_AWARD, "250,000", steps)
    district = sign_in(chromium_browser, live_url, "district-donghu")
    open_step(district, app_id, "区县初审", GIANT_ENTERPRISE)
    decide(district, "approve", steps, "district-check")
    bureau = sign_in(chromium_browser, live_url, "bureau")
    open_step(bureau, app_id, "市中小企业局复审", GIANT_ENTERPRISE)
    decide(bureau, "approve", steps, "bureau-review", amount_yuan="250,000")
    pass_the_public_notice(world, app_id)

    finance = sign_in(chromium_browser, live_url, "finance")
    open_step(finance, app_id, "财政拨付", GIANT_ENTERPRISE)
    assert "剩余额度不足" in text(finance)
    decide(finance, "pay", steps, "finance-pay-refused", payment_reference="PAY-2024-0902")
    refused = text(finance)
    assert "资金不足" in refused and "暂缓拨付" in refused and application(world, app_id).status == "running"
    assert finance.locator("input[name=payment_reference]").input_value() == "PAY-2024-0902"  # kept
    decide(finance, "defer", steps, "finance-defer", reason="专项资金余额不足，待追加预算后拨付")
    assert "案件现处于：暂缓拨付" in text(finance)

    bureau.goto(f"{live_url}/dashboard")  # the bureau sees why the case waits
    assert "专项资金余额不足，待追加预算后拨付" in text(bureau)
    bureau.goto(f"{live_url}/funds")
    form = bureau.locator(f"form[action='/funds/{fund_code}/adjust']")
    form.locator("input[name=by]").fill("150,000")
    form.locator("input[name=reason]").fill("追加预算（浏览器测试）")
    steps.shot(bureau, "bureau-top-up")
    with bureau.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "250,000.00" in text(bureau)

    open_step(finance, app_id, "暂缓拨付", GIANT_ENTERPRISE)
    assert "剩余额度不足" not in text(finance)
    decide(finance, "pay", steps, "finance-pay", payment_reference="PAY-2024-0903")
    assert "案件现处于：已拨付" in text(finance)
    applicant.goto(f"{live_url}/my/applications/{app_id}")
    assert applicant.locator("span.badge.paid").inner_text() == "已拨付"
    assert "已拨付 250,000.00（凭证 PAY-2024-0903" in text(applicant)
    steps.shot(applicant, "applicant-paid")
