"""免申即享 in a real browser (Debian's chromium via Playwright, the app served by uvicorn): the bureau
imports a recognition list on the pool page, the offer reaches the enterprise's /my, the enterprise
confirms its bank account and the commitments, then the district, the bureau, the public notice (the
clock moved and the sweep run off-screen, as the worker would) and the finance bureau's payout."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from services.awards.deadlines import sweep
from services.awards.demo import demo_uscc
from services.bootstrap import Services
from tests.helpers import application, clock
from tests.pool.lists import csv_file
from tests.web.test_browser_award_path import Steps, decide_from_inbox, sign_in, submit, text

if TYPE_CHECKING:
    from playwright.sync_api import Browser

LIST = [
    [
        demo_uscc(1),
        "南昌精工智能装备有限公司",
        "专精特新“小巨人”企业",
        "国家级",
        "工信测字〔2024〕1号",
        "2024-01-10",
        "",
    ]
]


def test_offer_from_list_to_payout_in_a_browser(
    world: Services, live_url: str, chromium_browser: Browser, shots: Path
) -> None:
    steps = Steps(shots)
    path = csv_file("browser-offer", LIST)

    bureau = sign_in(chromium_browser, live_url, "bureau")
    bureau.goto(f"{live_url}/pool")
    bureau.set_input_files("input[name=file]", str(path))
    submit(bureau, "form[action='/pool/import']")
    assert "发出免申即享奖励 1 项" in text(bureau)
    steps.shot(bureau, "bureau-imports-list")

    applicant = sign_in(chromium_browser, live_url, "applicant-a")
    assert applicant.url.endswith("/my")
    offer = text(applicant)
    assert "免申即享奖励" in offer and "国家专精特新“小巨人”企业奖励" in offer and "待确认" in offer
    steps.shot(applicant, "applicant-offer")
    form = "form[action^='/my/offers/']:has(input[name=bank_name])"
    applicant.fill("input[name=bank_name]", "中国银行南昌分行")
    applicant.fill("input[name=account_no]", "6217 0000 1234 5678")
    submit(applicant, form)
    assert "须确认全部承诺事项" in text(applicant)  # the commitments box was not ticked
    applicant.fill("input[name=bank_name]", "中国银行南昌分行")
    applicant.fill("input[name=account_no]", "6217 0000 1234 5678")
    applicant.check("input[name=accept]")
    submit(applicant, form)
    assert "已确认" in text(applicant)
    link = applicant.locator("a", has_text=re.compile(r"申报号 #\d+")).first.inner_text()
    app_id = int(link.split("#")[1])
    steps.shot(applicant, "applicant-confirmed")

    district = sign_in(chromium_browser, live_url, "district-donghu")
    decide_from_inbox(district, app_id, "区县初审")
    district.check("input[name=decision][value=approve]")
    submit(district, "form[action$='/complete']")
    assert "案件现处于：市中小企业局复审" in text(district)

    bureau.goto(f"{live_url}/inbox")
    decide_from_inbox(bureau, app_id, "市中小企业局复审")
    bureau.check("input[name=decision][value=approve]")
    bureau.fill("input[name=amount_yuan]", "300,000")
    submit(bureau, "form[action$='/complete']")
    assert "案件现处于：公示" in text(bureau)

    clock(world).advance(timedelta(days=20))
    sweep(world, world.clock.now())
    assert application(world, app_id).stage == "finance_payout"

    finance = sign_in(chromium_browser, live_url, "finance")
    decide_from_inbox(finance, app_id, "财政拨付")
    finance.check("input[name=decision][value=pay]")
    finance.fill("input[name=payment_reference]", "PAY-OFFER-0001")
    submit(finance, "form[action$='/complete']")
    assert "案件现处于：已拨付" in text(finance)
    steps.shot(finance, "finance-paid")

    bureau.goto(f"{live_url}/offers")
    figures = bureau.locator("table").first.inner_text()
    assert "东湖区" in figures and "1\t0\t1\t0\t0" in figures.replace(" ", "")
    steps.shot(bureau, "bureau-offer-figures")
    applicant.goto(f"{live_url}/my/applications/{app_id}")
    assert applicant.locator("span.badge.paid").inner_text() == "已拨付"
    assert "已拨付 300,000.00（凭证 PAY-OFFER-0001" in text(applicant)
