"""The campaign's pages and API: the ledger with filters, a case with its forms, the dashboard chart,
the report download and the upload; scope (404), roles (403), CSRF, and hostile text shown escaped."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.web import create_app
from services.arrears.demo import make_uscc
from services.bootstrap import Services
from tests.arrears.conftest import DEBTORS, PASSWORD, Campaign, build_campaign
from tests.arrears.test_import import GOOD, csv_of

CREDITOR_PAGE = make_uscc("91", 88)
HOSTILE = "<script>alert(1)</script>恶意企业"
LINKS = re.compile(r'href="/arrears/cases/\d+">')  # the ledger's rows (inbox links carry a #step anchor)


@pytest.fixture
def world(services: Services) -> Campaign:
    c = build_campaign(services)
    c.register(n=1)
    c.register(n=2, debtor="school", creditor_name=HOSTILE, description="<b>说明</b>")
    c.register(n=3, debtor="big", signed_on="2025-06-01", delivered_on="2025-06-03")
    return c


@pytest.fixture
def login(world: Campaign) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(create_app(world.services), follow_redirects=False)
        clients.append(client)
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 303
        return client

    yield make
    for client in clients:
        client.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def bearer(world: Campaign, username: str) -> dict[str, str]:
    with TestClient(create_app(world.services)) as client:
        r = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD, "name": "t"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


def test_ledger_filters_and_escapes(world: Campaign, login: Callable[[str], TestClient]) -> None:
    bureau = login("bureau")
    page = bureau.get("/arrears")
    assert page.status_code == 200
    assert "清欠台账" in page.text and len(LINKS.findall(page.text)) == 3
    assert HOSTILE not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;恶意企业" in page.text
    only_big = bureau.get("/arrears", params={"kind": "large_enterprise"})
    assert len(LINKS.findall(only_big.text)) == 1 and "债务人-big" in only_big.text
    assert "债务人-big" not in bureau.get("/arrears", params={"department": "donghu"}).text
    assert "没有符合条件的案件" in bureau.get("/arrears", params={"overdue": "1"}).text
    assert bureau.get("/arrears", params={"status": "nonsense"}).status_code == 422
    handler = login("handler")  # donghu: sees its two cases, not city-sasac's
    assert len(LINKS.findall(handler.get("/arrears").text)) == 2


def test_case_page_decides_a_step_and_keeps_input_on_error(world: Campaign,
                                                            login: Callable[[str], TestClient]) -> None:
    world.to_handling(1)
    handler = login("handler")
    page = handler.get("/arrears/cases/1")
    assert page.status_code == 200 and "办理：核查处理" in page.text and "出具处理结果" in page.text
    step = re.search(r'action="/arrears/steps/(\d+)"', page.text)
    assert step
    url = f"/arrears/steps/{step.group(1)}"
    bad = handler.post(url, data={"csrf_token": csrf_of(page.text), "decision": "result", "amount": "abc"})
    assert bad.status_code == 422 and "金额格式无效" in bad.text and 'value="abc"' in bad.text
    assert handler.post(url, data={"decision": "result", "amount": "100"}).status_code == 403  # no CSRF token
    done = handler.post(url, data={"csrf_token": csrf_of(page.text), "decision": "result", "amount": "90000"})
    assert done.status_code == 303 and done.headers["location"] == "/arrears/cases/1?done=result"
    after = handler.get(done.headers["location"])
    assert "已办理：出具处理结果" in after.text and "债务确认" in after.text and "90,000.00" in after.text


def test_scope_roles_and_read_only_auditor(world: Campaign, login: Callable[[str], TestClient]) -> None:
    assert login("xihu").get("/arrears/cases/1").status_code == 404
    assert login("sme").get("/arrears/cases/1").status_code == 200  # the creditor follows its own case
    auditor = login("auditor")
    page = auditor.get("/arrears/cases/1")
    assert page.status_code == 200 and "办理：" not in page.text  # no forms for a read-only role
    step = world.open_steps(1)["acceptance_review"].id
    denied = auditor.post(f"/arrears/steps/{step}", data={"csrf_token": csrf_of(page.text), "decision": "accept"})
    assert denied.status_code == 403 and "只读" in denied.text
    assert world.case(1).status == "registered"


def test_dashboard_chart_and_report(world: Campaign, login: Callable[[str], TestClient]) -> None:
    world.to_repayment(1, plan="2024-07-01=100000")
    world.act(1, "record_repayment", "handler", "repaid", amount="40000", paid_on="2024-06-03", reference="R")
    manager = login("manager")
    page = manager.get("/arrears/dashboard")
    assert page.status_code == 200 and "<svg" in page.text and page.text.count("<polyline") == 2
    assert "2024-06" in page.text and "40,000.00" in page.text
    xlsx = manager.get("/arrears/report.xlsx", params={"month": "2024-06"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert manager.get("/arrears/report.xlsx", params={"month": "2024-13"}).status_code == 422
    assert login("handler").get("/arrears/report.xlsx", params={"month": "2024-06"}).status_code == 403


def test_upload_a_ledger(world: Campaign, login: Callable[[str], TestClient]) -> None:
    bureau = login("bureau")
    form = bureau.get("/arrears/import")
    token = csrf_of(form.text)
    bad = bureau.post("/arrears/import", data={"csrf_token": token},
                      files={"file": ("l.csv", csv_of(GOOD[0], GOOD[1].replace("8000", "x")), "text/csv")})
    assert bad.status_code == 200 and "未导入任何数据" in bad.text and "欠款金额（元）" in bad.text
    good = bureau.post("/arrears/import", data={"csrf_token": token},
                       files={"file": ("l.csv", csv_of(*GOOD), "text/csv")})
    assert "已导入 3 件" in good.text
    assert login("handler").get("/arrears/import").status_code == 403


def test_api(world: Campaign) -> None:
    bureau, handler, xihu = (bearer(world, u) for u in ("bureau", "handler", "xihu"))
    with TestClient(create_app(world.services)) as client:
        ledger = client.get("/api/v1/arrears/cases", headers=bureau).json()
        assert ledger["total"] == 3 and ledger["owed_fen"] == 3 * 10_000_000
        assert client.get("/api/v1/arrears/cases", headers=xihu).json()["total"] == 0
        assert client.get("/api/v1/arrears/cases/1", headers=xihu).status_code == 404
        [step] = [s for s in client.get("/api/v1/arrears/steps", headers=bureau).json() if s["case_id"] == 1]
        bad = client.post(f"/api/v1/arrears/steps/{step['id']}", headers=bureau, json={"decision": "refuse"})
        assert bad.status_code == 422 and bad.json()["field"] == "reason"
        ok = client.post(f"/api/v1/arrears/steps/{step['id']}", headers=bureau, json={"decision": "accept"})
        assert ok.status_code == 200 and ok.json()["stage_name"] == "转交处理部门"
        again = client.post(f"/api/v1/arrears/steps/{step['id']}", headers=bureau, json={"decision": "accept"})
        assert again.status_code == 409
        complaint = {"creditor_uscc": world.case(1).creditor_uscc, "creditor_name": "甲", "amount": "12.5",
                     "debtor_uscc": DEBTORS["gov"][0], "contract_no": "API-1", "signed_on": "2024-01-10",
                     "delivered_on": "2024-03-01"}
        assert client.post("/api/v1/arrears/cases", headers=handler, json=complaint).status_code == 403
        created = client.post("/api/v1/arrears/cases", headers=bureau, json=complaint)
        assert created.status_code == 201, created.text
        assert created.json()["due_on"] == "2024-04-01" and created.json()["claimed_fen"] == 1250
        figures = client.get("/api/v1/arrears/dashboard", headers=bureau).json()
        assert figures["cases"] >= 3 and figures["by_status"]["running"] == 1


def test_menu_links_the_campaign_for_the_roles_that_use_it(world: Campaign,
                                                           login: Callable[[str], TestClient]) -> None:
    for username in ("bureau", "handler"):
        assert '<a href="/arrears">清欠</a>' in login(username).get("/arrears").text, username


def test_bureau_registers_one_complaint_on_a_page(world: Campaign, login: Callable[[str], TestClient]) -> None:
    bureau = login("bureau")
    form = bureau.get("/arrears/register")
    assert form.status_code == 200 and "登记欠款投诉" in form.text and '<a href="/arrears/register">' in form.text
    fields = {"csrf_token": csrf_of(form.text), "creditor_uscc": CREDITOR_PAGE, "creditor_name": "南昌页面登记有限公司",
              "debtor_uscc": DEBTORS["gov"][0], "contract_no": "HT-PAGE-1", "signed_on": "2024-01-10",
              "delivered_on": "2024-03-01", "amount": "12,345.67"}
    bad = bureau.post("/arrears/register", data={**fields, "delivered_on": "2024-01-01"})
    assert bad.status_code == 422
    assert "交付日期：交付日期不能早于合同签订日期" in bad.text
    assert 'value="南昌页面登记有限公司"' in bad.text and 'value="HT-PAGE-1"' in bad.text  # input kept
    assert len(LINKS.findall(bureau.get("/arrears").text)) == 3  # nothing stored
    done = bureau.post("/arrears/register", data=fields)
    assert done.status_code == 303, done.text
    case = bureau.get(done.headers["location"])
    assert "投诉已登记，等待受理审查" in case.text and "南昌页面登记有限公司" in case.text and "12,345.67" in case.text
    assert len(LINKS.findall(bureau.get("/arrears").text)) == 4
    # a complaint the provincial 受理投诉部门 transferred (2025 第二十五条第一款): the transfer is asked for,
    # each date checked, and the case goes straight to the handling department
    moved = {**fields, "contract_no": "HT-PAGE-2", "intake": "province", "transfer_from": "测试用：省级受理投诉部门",
             "transfer_document": "测试转〔2024〕3号", "complaint_accepted_on": "2024-05-27",
             "transferred_on": "2024-05-31", "received_on": "2024-06-04"}  # after today (Mon 2024-06-03)
    late = bureau.post("/arrears/register", data=moved)
    assert late.status_code == 422 and "处理部门收到转办材料日期：收到转办材料之日不能晚于今天" in late.text
    assert 'value="测试转〔2024〕3号"' in late.text
    done = bureau.post("/arrears/register", data={**moved, "received_on": "2024-06-03"})
    assert done.status_code == 303, done.text
    case = bureau.get(done.headers["location"]).text
    assert "省级转办的投诉已登记，已进入处理部门核查处理" in case and "测试转〔2024〕3号" in case
    assert login("handler").get("/arrears/register").status_code == 403


def test_a_closed_case_counts_its_interest_to_the_closing_day(world: Campaign,
                                                              login: Callable[[str], TestClient]) -> None:
    world.to_repayment(1)
    world.act(1, "record_repayment", "handler", "repaid", amount="100000", paid_on=str(world.today()),
              reference="B-1")
    world.act(1, "verify_clearance", "bureau", "close")
    closed_on = world.today()
    bureau = login("bureau")
    interest = re.compile(r"逾期利息（([^）]*)）([\d,.]+) 元")
    first = interest.search(bureau.get("/arrears/cases/1").text)
    assert first and first.group(1) == f"测算至结案日 {closed_on.isoformat()}"
    world.travel(days=40)
    later = interest.search(bureau.get("/arrears/cases/1").text)
    assert later and later.groups() == first.groups()
    open_case = interest.search(bureau.get("/arrears/cases/2").text)
    assert open_case and open_case.group(1) == "测算至今日"
