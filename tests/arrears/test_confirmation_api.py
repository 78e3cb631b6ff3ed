"""确权 over the JSON API, on the case page, and its reminder before the 30 days end (2025 第十六条第二款; 2020
第十四条: the debtor confirms the debt within 30 days of the SME's request). Day counts by hand: the day of
the request is not counted, a last rest day moves to the next working day (民法典 第二百零一条、第二百零三条);
2024 holidays are the State Council's (端午 Mon 2024-06-10)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.web import create_app
from services.arrears.campaign import remind
from services.bootstrap import Services
from services.db.models import OutboxMail
from tests.arrears.conftest import CREDITOR, DEBTORS, PASSWORD, Campaign, build_campaign
from tests.arrears.test_web import bearer

BODY = {"creditor_uscc": CREDITOR, "creditor_name": "南昌测试科技有限公司", "debtor_uscc": DEBTORS["gov"][0],
        "contract_no": "HT-1", "amount": "80000", "financing": "应收账款质押贷款（某商业银行）",
        "requested_on": "2024-06-03"}


@pytest.fixture
def campaign(services: Services) -> Campaign:
    return build_campaign(services)


def mails(c: Campaign) -> list[OutboxMail]:
    with c.services.uow() as uow:
        return list(uow.session.scalars(select(OutboxMail).where(OutboxMail.template == "arrears_confirmation")))


def test_the_api_records_a_request_and_its_answer_within_each_users_scope(campaign: Campaign) -> None:
    c = campaign
    bureau, handler, xihu, sme = (bearer(c, u) for u in ("bureau", "handler", "xihu", "sme"))
    with TestClient(create_app(c.services)) as client:
        assert client.post("/api/v1/arrears/confirmations", headers=handler, json=BODY).status_code == 403
        bad = client.post("/api/v1/arrears/confirmations", headers=bureau, json=BODY | {"amount": "12.345"})
        assert bad.status_code == 422 and bad.json()["field"] == "amount"
        made = client.post("/api/v1/arrears/confirmations", headers=bureau, json=BODY)
        assert made.status_code == 201, made.text
        row = made.json()
        # requested Mon 2024-06-03 under the 2020 text: 30 days end Wed 2024-07-03
        assert (row["due_on"], row["due_provisional"], row["outcome"], row["late"]) == (
            "2024-07-03", False, None, False)
        assert "第十四条" in row["article"] and row["amount_fen"] == 8_000_000
        # the debtor's handling department (东湖区) and the SME see it; another department does not
        assert [r["id"] for r in client.get("/api/v1/arrears/confirmations", headers=handler).json()] == [row["id"]]
        assert [r["id"] for r in client.get("/api/v1/arrears/confirmations", headers=sme).json()] == [row["id"]]
        assert client.get("/api/v1/arrears/confirmations", headers=xihu).json() == []
        assert client.get(f"/api/v1/arrears/confirmations/{row['id']}", headers=xihu).status_code == 404
        url = f"/api/v1/arrears/confirmations/{row['id']}/answer"
        partial = {"outcome": "partial", "answered_on": "2024-06-03"}
        missing = client.post(url, headers=bureau, json=partial)
        assert missing.status_code == 422 and missing.json()["field"] == "confirmed_amount"
        answered = client.post(url, headers=bureau, json=partial | {"confirmed_amount": "50000"})
        assert answered.status_code == 200 and answered.json()["confirmed_fen"] == 5_000_000
        again = client.post(url, headers=bureau, json={"outcome": "confirmed", "answered_on": "2024-06-03"})
        assert again.status_code == 409
        assert client.get("/api/v1/arrears/confirmations?open=true", headers=bureau).json() == []


def test_the_reminder_goes_once_before_the_last_day_with_the_existing_arrears_reminders(campaign: Campaign) -> None:
    c = campaign
    with TestClient(create_app(c.services)) as client:
        headers = bearer(c, "bureau")
        first = client.post("/api/v1/arrears/confirmations", headers=headers, json=BODY).json()
        answered = client.post("/api/v1/arrears/confirmations", headers=headers, json=BODY | {"contract_no": "HT-2"})
        client.post(f"/api/v1/arrears/confirmations/{answered.json()['id']}/answer", headers=headers,
                    json={"outcome": "confirmed", "answered_on": "2024-06-03"})
    # arrears_confirmation_reminder_working_days = 5: the last day Wed 07-03 is 5 working days after Wed 06-26
    # (06-27, 06-28, 07-01, 07-02, 07-03), 6 after Tue 06-25.
    c.at(datetime(2024, 6, 25, 9, 30))
    assert remind(c.services, c.now()).confirmations == 0
    c.at(datetime(2024, 6, 26, 9, 30))
    assert remind(c.services, c.now()).confirmations == 1
    assert remind(c.services, c.now()).confirmations == 0  # once
    c.at(datetime(2024, 6, 27, 9, 30))
    assert remind(c.services, c.now()).confirmations == 0
    [mail] = mails(c)  # none for the answered request
    # the debtor's handling department (东湖区: handler, head), the bureau, and the SME
    assert {"handler@example.test", "head@example.test", "bureau@example.test", "sme@example.test"} <= set(
        mail.recipients)
    assert "xihu@example.test" not in mail.recipients
    assert "2024-07-03" in mail.subject and f"确权请求 {first['id']}" in mail.text_body
    assert "最后一日为 2024-07-03" in mail.text_body and "还有 5 个工作日" in mail.text_body
    assert "第十四条" in mail.text_body and "80,000.00 元" in mail.text_body


def test_the_case_page_shows_the_requests_of_its_debt_and_the_bureau_records_them(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()  # creditor CREDITOR, debtor gov, contract HT-1
    with TestClient(create_app(c.services), follow_redirects=False) as bureau:
        assert bureau.post("/login", data={"username": "bureau", "password": PASSWORD}).status_code == 303
        page = bureau.get(f"/arrears/cases/{cid}").text
        assert "确权请求" in page and "尚无确权请求" in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        form = {"csrf_token": token.group(1), "amount": "80000", "financing": "应收账款质押贷款（某商业银行）",
                "requested_on": "2024-06-03"}
        bad = bureau.post(f"/arrears/cases/{cid}/confirmations", data=form | {"requested_on": "2024-13-01"})
        assert bad.status_code == 422 and "日期格式无效" in bad.text and "80000" in bad.text  # the form again
        done = bureau.post(f"/arrears/cases/{cid}/confirmations", data=form)
        assert done.status_code == 303
        page = bureau.get(f"/arrears/cases/{cid}").text
        assert "2024年7月3日（周三）" in page and "待答复" in page
        request_id = re.search(r'action="/arrears/confirmations/(\d+)/answer"', page)
        assert request_id is not None
        answered = bureau.post(f"/arrears/confirmations/{request_id.group(1)}/answer",
                               data={"csrf_token": token.group(1), "outcome": "confirmed", "answered_on": "2024-06-03"})
        assert answered.status_code == 303
        assert "确认（2024-06-03）" in bureau.get(f"/arrears/cases/{cid}").text
    with TestClient(create_app(c.services), follow_redirects=False) as sme:
        assert sme.post("/login", data={"username": "sme", "password": PASSWORD}).status_code == 303
        page = sme.get(f"/arrears/cases/{cid}").text
        assert "确权请求" in page and "确认（2024-06-03）" in page
        assert f'action="/arrears/cases/{cid}/confirmations"' not in page  # only the bureau records
