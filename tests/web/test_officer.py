"""The officer's inbox and task page over HTTP (pages and /api/v1), against the real services and DB."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from services.awards import applications, enterprises, files
from services.awards.deadlines import sweep
from services.awards.demo import demo_uscc
from services.bootstrap import Services
from services.db.models import Call, Fund, Honour, WorkItem
from tests.helpers import act, application, apply_for, clock, open_item, pass_public_notice, snapshot, today
from tests.web.conftest import csrf_of
from tests.web.officer import GANJIANG, HONGCHENG, JINGGONG, at_bureau, decide, donghu_case

Login = Callable[[str], TestClient]
Token = Callable[[str], dict[str, str]]
SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'


# -- the inbox ----------------------------------------------------------------------------------
def test_inbox_lists_the_units_items_oldest_deadline_first(world: Services, login: Login) -> None:
    first, first_item = donghu_case(world)
    clock(world).advance(timedelta(days=1))
    second = apply_for(world, HONGCHENG, "m2-srdi-sme-city", 50_000_00)
    apply_for(world, GANJIANG, "m2-srdi-sme-province", 60_000_00)  # 西湖区: not in 东湖区's inbox
    page = login("district-donghu").get("/inbox")
    assert page.status_code == 200
    html = page.text
    assert JINGGONG in html and HONGCHENG in html and GANJIANG not in html
    assert html.index(JINGGONG) < html.index(HONGCHENG)  # the older deadline first
    assert "剩余 10 个工作日" in html and "国家专精特新“小巨人”企业奖励" in html
    assert f'href="/tasks/{first_item}"' in html and "区县初审" in html
    by_enterprise = login("district-donghu").get("/inbox", params={"sort": "enterprise"}).text
    assert by_enterprise.index(HONGCHENG) < by_enterprise.index(JINGGONG)  # 南昌洪 < 南昌精 in code-point order
    filtered = login("district-donghu").get("/inbox", params={"q": "洪城"}).text
    assert HONGCHENG in filtered and JINGGONG not in filtered
    by_case = login("district-donghu").get("/inbox", params={"q": f"#{first}"}).text
    assert JINGGONG in by_case and HONGCHENG not in by_case
    assert second  # both cases exist; only the filter hid one


def test_overdue_escalated_and_provisional_deadlines_are_marked(world: Services, login: Login) -> None:
    app_id, item_id = donghu_case(world)
    c = login("district-donghu")
    assert "badge overdue" not in c.get("/inbox").text
    clock(world).advance(timedelta(days=30))
    sweep(world, world.clock.now())
    sweep(world, world.clock.now())  # the deadline timer fired; a later sweep escalates (督办)
    html = c.get("/inbox").text
    assert re.search(r"已逾期 \d+ 个工作日（\d+ 天）", html) and "已督办" in html and 'class="overdue"' in html
    assert JINGGONG in c.get("/inbox", params={"only": "overdue"}).text
    with world.uow() as uow:  # a deadline counted through a year whose holidays are not published yet
        uow.session.get_one(WorkItem, item_id).due_provisional = True
        uow.commit()
    assert "暂定" in c.get("/inbox").text and "暂定" in c.get(f"/tasks/{item_id}").text
    assert app_id


def test_only_officers_have_an_inbox(world: Services, login: Login, token: Token, client: TestClient) -> None:
    for username in ("manager", "auditor", "applicant-a"):
        assert login(username).get("/inbox").status_code == 403
        headers = token(username)
        assert client.get("/api/v1/tasks", headers=headers).status_code == 403
        for action in ("claim", "release", "complete"):  # refused before the body is even read
            assert client.post(f"/api/v1/tasks/1/{action}", headers=headers, json={}).status_code == 403


# -- deciding over HTTP ---------------------------------------------------------------------------
def test_district_approves_and_the_case_moves_to_the_bureau(world: Services, login: Login) -> None:
    app_id, item_id = donghu_case(world)
    c = login("district-donghu")
    page = c.get(f"/tasks/{item_id}")
    assert "通过" in page.text and "退回补正" in page.text and "不予通过" in page.text
    assert "300,000.00" in page.text and 'name="amount_yuan"' not in page.text  # no amount at district check
    r = decide(c, item_id, decision="approve")
    assert r.status_code == 303 and r.headers["location"] == f"/inbox?done={item_id}"
    done = c.get(r.headers["location"]).text
    assert "案件现处于：市中小企业局复审" in done and f'href="/tasks/{item_id}"' not in done
    assert application(world, app_id).stage == "bureau_review"
    bureau_page = login("bureau").get(f"/tasks/{open_item(world, app_id).id}").text
    assert "区县初审 · 东湖区经办人 <code>district-donghu</code> · <strong>通过</strong>" in bureau_page


def test_return_needs_a_reason_and_keeps_what_was_typed(world: Services, login: Login) -> None:
    app_id, item_id = donghu_case(world)
    c = login("district-donghu")
    before = snapshot(world)
    r = decide(c, item_id, decision="return", reason="   ")
    assert r.status_code == 422 and "必须填写理由" in r.text
    assert 'value="return"' in r.text and "checked" in r.text
    assert snapshot(world) == before
    r = decide(c, item_id, decision="return", reason="缺少认定文件扫描件")
    assert r.status_code == 303
    assert application(world, app_id).stage == "correct_application"
    with world.uow() as uow:
        done = uow.session.get_one(WorkItem, item_id)
        assert (done.outcome, done.reason, done.completed_by) == ("return", "缺少认定文件扫描件", "district-donghu")


def test_district_rejects_with_a_reason(world: Services, login: Login) -> None:
    app_id, item_id = donghu_case(world)
    r = decide(login("district-donghu"), item_id, decision="reject", reason="企业列入严重失信主体名单")
    assert r.status_code == 303
    assert application(world, app_id).status == "rejected"
    page = login("district-donghu").get(f"/tasks/{item_id}").text  # the finished item still shows its outcome
    assert "不予通过" in page and "企业列入严重失信主体名单" in page and 'name="decision"' not in page


def test_bureau_amount_is_checked_against_the_cap(world: Services, login: Login, token: Token,
                                                  client: TestClient) -> None:
    app_id, item_id = at_bureau(world)
    c, headers = login("bureau"), token("bureau")
    before = snapshot(world)
    over = decide(c, item_id, decision="approve", amount_yuan="300,000.01", reason="")
    assert over.status_code == 422 and "超过上限 300,000.00 元" in over.text
    assert 'value="300,000.01"' in over.text
    api = client.post(f"/api/v1/tasks/{item_id}/complete", headers=headers,
                      json={"decision": "approve", "amount_fen": 30_000_001})
    assert api.status_code == 422 and api.json()["field"] == "amount" and "上限" in api.json()["rule"]
    bad = client.post(f"/api/v1/tasks/{item_id}/complete", headers=headers,
                      json={"decision": "approve", "amount_yuan": "1e999999"})
    assert bad.status_code == 422 and bad.json()["field"] == "amount"
    both = client.post(f"/api/v1/tasks/{item_id}/complete", headers=headers,
                       json={"decision": "approve", "amount_yuan": "1", "amount_fen": 100})
    assert both.status_code == 422 and both.json()["field"] == "amount"
    assert snapshot(world) == before
    ok = decide(c, item_id, decision="approve", amount_yuan="250,000.50")
    assert ok.status_code == 303
    assert application(world, app_id).awarded_fen == 25_000_050
    assert application(world, app_id).stage == "public_notice"


def test_objection_at_public_notice_sends_the_case_back_to_review(world: Services, login: Login) -> None:
    app_id, _ = at_bureau(world)
    act(world, app_id, "bureau", "approve", amount_fen=200_000_00)
    notice = open_item(world, app_id)
    c = login("bureau")
    page = c.get(f"/tasks/{notice.id}").text
    assert "公示" in page and "异议" in page and 'name="amount_yuan"' not in page
    assert decide(c, notice.id, decision="objection", reason="").status_code == 422
    r = decide(c, notice.id, decision="objection", reason="实名书面异议：服务企业数量存疑")
    assert r.status_code == 303
    assert application(world, app_id).stage == "bureau_review"
    assert application(world, app_id).awarded_fen is None  # decided again


def test_finance_sees_the_fund_and_pays(world: Services, login: Login) -> None:
    app_id, _ = at_bureau(world)
    act(world, app_id, "bureau", "approve", amount_fen=250_000_00)
    pass_public_notice(world)
    item = open_item(world, app_id)
    c = login("finance")
    assert JINGGONG in c.get("/inbox").text
    page = c.get(f"/tasks/{item.id}").text
    assert "剩余额度" in page and "600,000.00 元" in page and "上限 300,000.00 元" in page
    assert "本案核定 250,000.00 元" in page and 'name="payment_reference"' in page
    missing = decide(c, item.id, decision="pay", payment_reference=" ")
    assert missing.status_code == 422 and "支付凭证号" in missing.text
    r = decide(c, item.id, decision="pay", payment_reference="PAY-2024-0001")
    assert r.status_code == 303
    assert application(world, app_id).status == "paid"
    with world.uow() as uow:
        assert uow.session.scalars(select(Fund)).one().paid_fen == 250_000_00


def test_the_api_runs_the_whole_route(world: Services, client: TestClient, token: Token) -> None:
    app_id, item_id = donghu_case(world)
    district = token("district-donghu")
    listed = client.get("/api/v1/tasks", headers=district).json()
    assert [t["id"] for t in listed] == [item_id] and listed[0]["enterprise"] == JINGGONG
    assert listed[0]["due_at"] and listed[0]["assignee"] is None
    detail = client.get(f"/api/v1/tasks/{item_id}", headers=district).json()
    assert detail["decisions"] == ["approve", "return", "reject"] and detail["case"]["cap_fen"] == 300_000_00
    r = client.post(f"/api/v1/tasks/{item_id}/complete", headers=district, json={"decision": "approve"})
    assert r.status_code == 200 and r.json()["stage"] == "bureau_review" and r.json()["stage_name"]
    review = open_item(world, app_id).id
    r = client.post(f"/api/v1/tasks/{review}/complete", headers=token("bureau"),
                    json={"decision": "approve", "amount_yuan": "280000"})
    assert r.status_code == 200 and r.json()["stage"] == "public_notice"
    pass_public_notice(world)
    pay = open_item(world, app_id).id
    finance = token("finance")
    assert client.get(f"/api/v1/tasks/{pay}", headers=finance).json()["fund"]["remaining_fen"] == 600_000_00
    r = client.post(f"/api/v1/tasks/{pay}/complete", headers=finance,
                    json={"decision": "pay", "payment_reference": "PAY-1"})
    assert r.status_code == 200 and r.json()["status"] == "paid"
    history = client.get(f"/api/v1/tasks/{pay}", headers=finance).json()["history"]
    assert [h["decision"] for h in history] == ["approve", "approve", "timer", "pay"]
    assert client.post(f"/api/v1/tasks/{pay}/complete", headers=finance, json={"decision": "pay", "x": 1}
                       ).status_code == 422  # unknown fields are refused


def test_openapi_documents_the_officer_models(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert {"/api/v1/tasks", "/api/v1/tasks/{item_id}", "/api/v1/tasks/{item_id}/claim",
            "/api/v1/tasks/{item_id}/release", "/api/v1/tasks/{item_id}/complete"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert {"decision", "reason", "amount_fen", "amount_yuan", "payment_reference"} <= set(
        schemas["CompleteRequest"]["properties"])
    assert "stage" in schemas["CompleteResult"]["properties"] and "TaskDetail" in schemas


# -- scope ---------------------------------------------------------------------------------------
def test_another_units_item_is_not_found(world: Services, login: Login, token: Token, client: TestClient) -> None:
    _app_id, item_id = donghu_case(world)
    xihu = login("district-xihu")
    assert JINGGONG not in xihu.get("/inbox").text
    assert xihu.get(f"/tasks/{item_id}").status_code == 404
    headers = token("district-xihu")
    before = snapshot(world)
    assert client.get(f"/api/v1/tasks/{item_id}", headers=headers).status_code == 404
    for action in ("claim", "release"):
        assert client.post(f"/api/v1/tasks/{item_id}/{action}", headers=headers).status_code == 404
    r = client.post(f"/api/v1/tasks/{item_id}/complete", headers=headers, json={"decision": "approve"})
    assert r.status_code == 404
    page = xihu.get("/inbox")
    assert xihu.post(f"/tasks/{item_id}/complete", data={"csrf_token": csrf_of(page.text),
                                                          "decision": "approve"}).status_code == 404
    assert login("bureau").get(f"/tasks/{item_id}").status_code == 404  # not the bureau's stage
    assert client.get("/api/v1/tasks/999999", headers=headers).status_code == 404
    assert snapshot(world) == before


# -- CSRF and hostile input -----------------------------------------------------------------------
def test_decision_form_needs_the_csrf_token(world: Services, login: Login) -> None:
    app_id, item_id = donghu_case(world)
    c = login("district-donghu")
    c.get(f"/tasks/{item_id}")
    before = snapshot(world)
    assert c.post(f"/tasks/{item_id}/complete", data={"decision": "approve"}).status_code == 403
    assert c.post(f"/tasks/{item_id}/complete", data={"decision": "approve", "csrf_token": "forged"}
                  ).status_code == 403
    assert c.post(f"/tasks/{item_id}/claim", data={"csrf_token": "forged"}).status_code == 403
    assert snapshot(world) == before and application(world, app_id).stage == "district_check"


def test_cookie_api_writes_need_the_csrf_header(world: Services, login: Login) -> None:
    _app_id, item_id = donghu_case(world)
    c = login("district-donghu")
    assert c.post(f"/api/v1/tasks/{item_id}/claim").status_code == 403
    token_value = csrf_of(c.get("/inbox").text)
    assert c.post(f"/api/v1/tasks/{item_id}/claim", headers={"X-CSRF-Token": token_value}).status_code == 200


def _hostile_case(world: Services) -> int:
    with world.uow() as uow:
        s, now = uow.session, world.clock.now()
        ent = enterprises.register(s, uscc=demo_uscc(99), name=f"{SCRIPT}有限公司", review_unit_code="donghu",
                                   email=None, actor="admin", now=now, today=today(world))
        enterprises.add_honour(s, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                               recognised_on=date(2023, 5, 1), document_no="X1", issuer=None,
                               editions=world.editions, actor="admin", now=now)
        honour = s.scalars(select(Honour).where(Honour.enterprise_id == ent.id)).one()
        app = applications.apply(uow, world, call_id=s.scalars(select(Call.id)).one(), enterprise_id=ent.id,
                                 award_type_code="m2-srdi-sme-city", honour_id=honour.id, requested_fen=1_00,
                                 description=f"说明{IMG}", actor="test", now=now, today=today(world))
        checked = files.check_uploads([files.Upload(f"{IMG}.pdf", b"%PDF-1.7\n%hostile\n")],
                                      max_bytes=1 << 20, max_files=10)
        files.attach(s, application=app, files=checked, data_dir=world.settings.data_dir, actor="applicant",
                     now=now)
        uow.commit()
        return app.id


def test_html_in_names_descriptions_and_reasons_is_escaped(world: Services, login: Login) -> None:
    app_id = _hostile_case(world)
    item_id = open_item(world, app_id).id
    c = login("district-donghu")
    inbox = c.get("/inbox").text
    assert SCRIPT not in inbox and "&lt;script&gt;" in inbox
    r = decide(c, item_id, decision="return", reason=f"理由{SCRIPT}{IMG}")
    assert r.status_code == 303
    page = c.get(f"/tasks/{item_id}").text
    for raw in (SCRIPT, IMG):
        assert raw not in page
    assert "&lt;img src=x onerror=" in page and "&lt;script&gt;" in page
    [doc_link] = re.findall(r'href="(/documents/\d+)"', page)  # the file, linked for download
    assert c.get(doc_link).content.startswith(b"%PDF")
    failed = decide(login("head-donghu"), item_id, decision="reject", reason=SCRIPT)
    assert failed.status_code == 409 and SCRIPT not in failed.text


def test_inbox_search_with_a_non_ascii_digit_is_plain_text(world: Services, login: Login,
                                                           token: Callable[[str], dict[str, str]],
                                                           client: TestClient) -> None:
    # "³" and "١٢" are digits to str.isdigit() but not to int(): found by schemathesis as a 500
    first, _ = donghu_case(world)
    headers = token("district-donghu")
    assert [t["application_id"] for t in client.get("/api/v1/tasks", headers=headers).json()] == [first]
    for q in ("³", "١٢", "#²"):
        response = client.get("/api/v1/tasks", params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == []
        assert login("district-donghu").get("/inbox", params={"q": q}).status_code == 200


def test_public_notice_shows_its_period_and_is_not_listed_as_work(world: Services, login: Login) -> None:
    """The notice opens on Monday 2024-06-03; 5 working days: Jun 4, 5, 6, 7, [Sat 8, Sun 9, Mon 10
    端午节], Tue 11 -> its last day is 2024年6月11日（周二）."""
    app_id, _ = at_bureau(world)
    act(world, app_id, "bureau", "approve", amount_fen=200_000_00)
    notice = open_item(world, app_id)
    assert today(world).isoformat() == "2024-06-03"
    c = login("bureau")
    inbox_page = c.get("/inbox").text
    todo, _, apart = inbox_page.partition('id="periods"')
    assert f'href="/tasks/{notice.id}"' not in todo  # not among the things to do
    assert f'href="/tasks/{notice.id}"' in apart and "期满自动进入下一环节，无需办理" in apart
    assert "2024年6月3日（周一）" in apart and "2024年6月11日（周二）" in apart
    page = c.get(f"/tasks/{notice.id}").text
    period = page.split('id="period"', 1)[1].split("</div>", 1)[0]
    assert '<span id="period-from">2024年6月3日（周一）</span>起' in period
    assert '<span id="period-until">2024年6月11日（周二）</span>止（5 个工作日）' in period
    assert "公示期满无异议的，案件自动转入市财政局拨付，无需办理" in period
    assert "登记异议（仅在收到异议时）" in page
    assert " checked" not in page.split('id="decide"', 1)[1]  # nothing pre-selected: a stray click records nothing
