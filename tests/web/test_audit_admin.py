"""The auditor's pages (timeline, path, chain status, export; read-only) and the admin console
(calls, users, diagram versions), over HTTP against the real services and database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.web import create_app
from services.awards import applications
from services.awards.deadlines import sweep
from services.bootstrap import Services
from services.db.models import AuditEvent, Call, Enterprise, Honour, ProcessDefinition, ProcessInstance
from services.errors import InvalidInput
from tests.helpers import act, application, apply_for, clock, open_item, pass_public_notice, snapshot, today
from tests.web.conftest import csrf_of

Login = Callable[[str], TestClient]
Token = Callable[[str], dict[str, str]]
HONOUR_BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "award_enterprise_honour.bpmn"
XIHU_SRDI = ("江西赣江新材料科技有限公司", "m2-srdi-sme-province", 60_000_00)
DONGHU_GIANT = ("南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)


def _current_hash(services: Services, process_id: str = "award_enterprise_honour") -> str:
    with services.uow() as uow:
        return uow.session.scalars(select(ProcessDefinition.hash).where(
            ProcessDefinition.process_id == process_id, ProcessDefinition.current.is_(True))).one()


def _instance_hash(services: Services, app_id: int) -> str:
    with services.uow() as uow:
        inst = uow.session.get_one(ProcessInstance, application(services, app_id).instance_id)
        return inst.definition_hash


def _drive_returned_case(services: Services) -> int:
    """Apply; the district deadline passes (timer); return, resubmit, approve; bureau sets the
    amount; the public notice period runs out (timer); finance pays."""
    app_id = apply_for(services, *XIHU_SRDI)
    clock(services).advance(timedelta(days=20))
    assert (app_id, "district_check_deadline") in sweep(services, services.clock.now()).fired
    act(services, app_id, "district-xihu", "return", reason="缺少认定文件扫描件")
    act(services, app_id, "applicant-b", "resubmit")
    act(services, app_id, "district-xihu", "approve")
    act(services, app_id, "bureau", "approve", amount_fen=50_000_00)
    pass_public_notice(services)
    act(services, app_id, "finance", "pay", reference="PAY-2024-0099")
    assert application(services, app_id).status == "paid"
    return app_id


# -- auditor ----------------------------------------------------------------------------------
def test_timeline_shows_who_when_which_task_decision_and_changed_data(world: Services, login: Login,
                                                                      token: Token) -> None:
    app_id = _drive_returned_case(world)
    auditor = login("auditor")
    page = auditor.get(f"/audit/cases/{app_id}")
    assert page.status_code == 200
    body = page.text
    timeline = body[body.index('id="timeline"'):]
    for expected in ("西湖区经办人 <code>district-xihu</code>", "退回补正", "缺少认定文件扫描件", "重新提交",
                     "公示期满", "初审时限", "督办升级", "市中小企业局复审员 <code>bureau</code>", "50,000.00 元",
                     "PAY-2024-0099", "已拨付", "2024-06-23"):
        assert expected in body, expected
    assert timeline.index("退回补正") < timeline.index("重新提交") < timeline.index("公示期满")

    api = auditor.get(f"/api/v1/audit/cases/{app_id}/history", headers=token("auditor")).json()
    kinds = [s["kind"] for s in api["steps"]]
    assert kinds == ["case.start", "timer.fire", "task.escalate", "task.complete", "task.complete",
                     "task.complete", "task.complete", "timer.fire", "payout", "task.complete"]
    steps = api["steps"]
    assert steps[2]["task"] == "district_check" and steps[2]["actor"] == "system"
    ret, resubmit, approve, bureau = steps[3:7]
    assert (ret["actor"], ret["task"], ret["decision"], ret["reason"]) == (
        "district-xihu", "district_check", "return", "缺少认定文件扫描件")
    assert {c["field"]: (c["before"], c["after"]) for c in ret["changes"]} == {
        "decision": (None, "return"), "reason": (None, "缺少认定文件扫描件")}
    assert {c["field"]: (c["before"], c["after"]) for c in resubmit["changes"]} == {
        "decision": ("return", "resubmit"), "reason": ("缺少认定文件扫描件", None)}
    assert resubmit["task_name"] == "补正材料" and approve["decision"] == "approve"
    assert {"field": "award_amount_fen", "before": None, "after": 50_000_00} in bureau["changes"]
    assert bureau["data"]["award_amount_fen"] == 50_000_00 and steps[-1]["data"]["payment_reference"] == "PAY-2024-0099"
    assert steps[7]["nodes"] == ["public_notice_period"] and all(s["intact"] for s in steps)
    for node in ("start", "district_check_deadline", "district_check", "correct_application", "bureau_review",
                 "public_notice_period", "public_notice", "finance_payout", "end_paid"):
        assert node in api["taken"], node
    assert api["definition_hash"] == _instance_hash(world, app_id) and api["current"] == []

    xml = auditor.get(f"/audit/cases/{app_id}/diagram.xml")
    assert xml.status_code == 200 and xml.content == HONOUR_BPMN.read_bytes()
    assert f'data-diagram-src="/audit/cases/{app_id}/diagram.xml"' in body and "end_paid" in body

    export = auditor.get(f"/audit/cases/{app_id}.json")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    exported = json.loads(export.content)
    assert exported["format"] == "smeflow.case-history/1" and exported["chain"]["ok"] is True
    def strip_at(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in step.items() if k != "at"} for step in steps]
    assert strip_at(exported["steps"]) == strip_at(api["steps"])
    assert exported["steps"][0]["at"] == "2024-06-03T01:00:00+00:00"


def test_chain_status_rests_on_the_latest_full_walk_and_checks_newer_events(world: Services, login: Login,
                                                                            token: Token) -> None:
    first = apply_for(world, *DONGHU_GIANT)
    act(world, first, "district-donghu", "approve")  # the clock is now 11:00
    auditor = login("auditor")
    walked = auditor.get("/audit").text  # no full walk recorded yet: this view walks the chain whole
    assert "审计链完整" in walked and "最近一次全量校验：2024-06-03 11:00" in walked and "其后新增" not in walked
    apply_for(world, "南昌洪城食品有限公司", "m2-srdi-sme-city", 50_000_00)
    after = auditor.get("/audit").text  # within the hour: the walk above, then the new events one by one
    assert "审计链完整" in after and "最近一次全量校验：2024-06-03 11:00" in after and "其后新增" in after
    api = auditor.get("/api/v1/audit/verify", headers=token("auditor")).json()
    assert api["ok"] and api["checked_since_full_walk"] >= 1
    with world.uow() as uow:
        events = list(uow.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    assert api["checked"] == len(events) and api["full_walk_at"].startswith("2024-06-03T03:00")
    with world.db.begin() as conn:  # an event after the walk is altered: seen at once
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = :s"), {"s": events[-1]})
    assert f"审计链断裂：第 {events[-1]} 号事件内容与其哈希不符" in auditor.get("/audit").text
    with world.db.begin() as conn:  # an event before the walk is altered: a full walk names it
        conn.execute(text("UPDATE audit_event SET actor = 'test' WHERE seq = :s"), {"s": events[-1]})
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = :s"), {"s": events[0]})
    clock(world).advance(timedelta(minutes=10))
    full = auditor.get("/audit", params={"full": 1}).text
    assert f"审计链断裂：第 {events[0]} 号事件内容与其哈希不符" in full and "最近一次全量校验：2024-06-03 11:10" in full
    # the broken walk stands until a later full walk says otherwise
    assert f"第 {events[0]} 号事件" in auditor.get("/audit").text


def test_chain_status_names_the_event_altered_by_sql(world: Services, login: Login, token: Token) -> None:
    app_id = apply_for(world, *DONGHU_GIANT)
    act(world, app_id, "district-donghu", "approve")
    auditor = login("auditor")
    listing = auditor.get("/audit")
    assert listing.status_code == 200 and "审计链完整" in listing.text and f"#{app_id}" in listing.text
    with world.uow() as uow:
        seq = uow.session.scalars(select(AuditEvent.seq).where(
            AuditEvent.application_id == app_id, AuditEvent.kind == "task.complete")).one()
    with world.db.begin() as conn:
        conn.execute(text("UPDATE audit_event SET payload = :p WHERE seq = :s"),
                     {"p": '{"data": {"decision": "reject"}}', "s": seq})
    listing = auditor.get("/audit")
    assert f"审计链断裂：第 {seq} 号事件内容与其哈希不符" in listing.text
    verify = auditor.get("/api/v1/audit/verify", headers=token("auditor")).json()
    assert verify["ok"] is False and verify["broken_at"] == seq
    case = auditor.get(f"/audit/cases/{app_id}")
    assert "内容与哈希不符" in case.text and f'id="event-{seq}" class="overdue"' in case.text


def _fill(path: str, ids: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return next((v for k, v in ids.items() if k in name), ids["id"])
    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)


def test_auditor_cannot_change_anything(world: Services, login: Login, token: Token) -> None:
    app_id = apply_for(world, *DONGHU_GIANT)
    item = open_item(world, app_id)
    auditor = login("auditor")
    csrf = csrf_of(auditor.get("/audit").text)
    bearer = token("auditor")
    before = snapshot(world)
    ids = {"item": str(item.id), "task": str(item.id), "application": str(app_id), "call": "1",
           "username": "auditor", "digest": _current_hash(world), "id": "1"}
    app = create_app(world)
    tried = []
    for route in iter_route_contexts(app.routes):
        if route.path in {None, "/login", "/logout", "/api/v1/tokens",  # and the auditor's own account:
                          "/account/password", "/account/tokens/{token_id:int}/revoke", "/api/v1/tokens/{token_id}"}:
            continue
        for method in (route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}:
            url = _fill(str(route.path), ids)
            if url.startswith("/api/"):
                r = auditor.request(method, url, headers=bearer, json={})
            else:
                r = auditor.request(method, url, data={"csrf_token": csrf}, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 403, (method, url, r.status_code, r.text[:200])
            tried.append(url)
    for url in (f"/tasks/{item.id}/complete", f"/api/v1/tasks/{item.id}/complete", "/admin/calls",
                "/api/v1/admin/users"):
        assert url in tried, url
    # well-formed requests too: deciding the task, promoting oneself, opening a call
    assert auditor.post(f"/api/v1/tasks/{item.id}/complete", headers=bearer,
                        json={"decision": "approve"}).status_code == 403
    decide = {"csrf_token": csrf, "decision": "approve"}
    assert auditor.post(f"/tasks/{item.id}/complete", data=decide).status_code == 403
    assert auditor.patch("/api/v1/admin/users/auditor", headers=bearer, json={"role": "admin"}).status_code == 403
    assert auditor.post("/admin/calls", data={"csrf_token": csrf, "edition": "2022-109", "title": "x",
                                              "opens_on": "2024-06-03", "closes_on": "2024-06-30",
                                              "award_types": "m2-srdi-sme-city", "fund": "sme-2024"}).status_code == 403
    assert snapshot(world) == before


def test_only_readers_see_audit_and_only_admins_see_admin(login: Login, token: Token) -> None:
    for username in ("applicant-a", "district-donghu", "bureau", "finance"):
        c = login(username)
        assert c.get("/audit").status_code == 403, username
        assert c.get("/audit/cases/1").status_code == 403
        assert c.get("/api/v1/audit/verify", headers=token(username)).status_code == 403
    for username in ("applicant-a", "district-donghu", "bureau", "finance", "manager", "auditor"):
        c = login(username)
        for url in ("/admin", "/admin/calls", "/admin/users", "/admin/users/bureau", "/admin/diagrams"):
            assert c.get(url).status_code == 403, (username, url)
        assert c.get("/api/v1/admin/users", headers=token(username)).status_code == 403
    for username in ("manager", "admin"):
        assert login(username).get("/audit").status_code == 200
    assert login("auditor").get("/audit/cases/999999").status_code == 404


# -- admin: calls and users -------------------------------------------------------------------
def _apply(services: Services, enterprise: str, award: str, call_id: int) -> int:
    with services.uow() as uow:
        ent = uow.session.scalars(select(Enterprise).where(Enterprise.name == enterprise)).one()
        honour = uow.session.scalars(select(Honour).where(Honour.enterprise_id == ent.id)).one()
        app = applications.apply(uow, services, call_id=call_id, enterprise_id=ent.id, award_type_code=award,
                                 honour_id=honour.id, requested_fen=10_000_00, description="", actor="t",
                                 now=services.clock.now(), today=today(services))
        uow.commit()
        return app.id


def test_admin_opens_and_closes_a_call(world: Services, login: Login, token: Token) -> None:
    admin = login("admin")
    csrf = csrf_of(admin.get("/admin/calls").text)
    form: dict[str, Any] = {"csrf_token": csrf, "edition": "2022-109", "title": "2024年度第二批",
                            "opens_on": "2024-06-03", "closes_on": "2024-07-31", "fund": "sme-2024",
                            "award_types": ["m2-srdi-sme-city", "m2-srdi-sme-province"]}
    bad = admin.post("/admin/calls", data={**form, "closes_on": "2024-06-01"})
    assert bad.status_code == 422 and "截止日期不得早于开始日期" in bad.text
    r = admin.post("/admin/calls", data=form)
    assert r.status_code == 303 and "2024年度第二批" in admin.get("/admin/calls").text
    with world.uow() as uow:
        call_id = uow.session.scalars(select(Call.id).where(Call.title == "2024年度第二批")).one()
    _apply(world, "南昌洪城食品有限公司", "m2-srdi-sme-city", call_id)  # accepted while open
    assert admin.post(f"/admin/calls/{call_id}/close", data={"csrf_token": csrf}).status_code == 303
    assert "已提前截止" in admin.get("/admin/calls").text
    with pytest.raises(InvalidInput) as refused:
        _apply(world, "江西赣江新材料科技有限公司", "m2-srdi-sme-province", call_id)
    assert refused.value.field == "call_id" and "逾期不予受理" in refused.value.rule
    again = admin.post(f"/admin/calls/{call_id}/close", data={"csrf_token": csrf})
    assert again.status_code == 409 and "已提前截止" in again.text
    with world.uow() as uow:
        kinds = [e.actor + ":" + e.kind for e in uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert kinds.count("admin:call.open") == 1 and kinds.count("admin:call.close") == 1

    bearer = token("admin")
    fields = {k: v for k, v in form.items() if k != "csrf_token"}
    made = admin.post("/api/v1/admin/calls", headers=bearer, json={**fields, "title": "API 开启的批次"})
    assert made.status_code == 201 and made.json()["closed_early"] is False
    closed = admin.post(f"/api/v1/admin/calls/{made.json()['id']}/close", headers=bearer)
    assert closed.status_code == 200 and closed.json()["closed_early"] is True
    wrong = admin.post("/api/v1/admin/calls", headers=bearer, json={**made.json(), "edition": "2022-109",
                                                                     "fund": "sme-2024", "award_types": ["nope"]})
    assert wrong.status_code == 422 and wrong.json()["field"] == "award_types"


def test_admin_creates_a_district_user_who_sees_only_their_unit(world: Services, login: Login,
                                                                 token: Token) -> None:
    xihu_case = apply_for(world, *XIHU_SRDI)
    donghu_case = apply_for(world, *DONGHU_GIANT)
    admin = login("admin")
    csrf = csrf_of(admin.get("/admin/users").text)
    form = {"csrf_token": csrf, "username": "xihu-new", "display_name": "西湖区新经办人", "role": "district",
            "password": "long-enough-1", "review_unit": "xihu", "email": "xihu-new@example.gov.cn"}
    merged = admin.post("/admin/users", data={**form, "review_unit": "linkong"})
    assert merged.status_code == 422 and "已撤并" in merged.text and "jingkai" in merged.text
    assert admin.post("/admin/users", data=form).status_code == 303
    assert "西湖区新经办人" in admin.get("/admin/users").text

    headers = _login_token(world, "xihu-new", "long-enough-1")
    officer = TestClient(create_app(world))
    inbox = officer.get("/api/v1/tasks", headers=headers)
    assert inbox.status_code == 200
    seen = {row["application_id"] for row in inbox.json()}
    assert xihu_case in seen and donghu_case not in seen
    donghu_item = open_item(world, donghu_case)
    assert officer.get(f"/api/v1/tasks/{donghu_item.id}", headers=headers).status_code == 404

    moved = admin.patch("/api/v1/admin/users/xihu-new", headers=token("admin"), json={"review_unit": "donghu"})
    assert moved.status_code == 200 and moved.json()["review_unit"] == "donghu"
    seen = {row["application_id"] for row in officer.get("/api/v1/tasks", headers=headers).json()}
    assert donghu_case in seen and xihu_case not in seen

    off = admin.post("/admin/users/xihu-new", data={"csrf_token": csrf, "role": "district", "review_unit": "donghu",
                                                     "display_name": "西湖区新经办人", "standing": "inactive"})
    assert off.status_code == 303
    assert officer.get("/api/v1/tasks", headers=headers).status_code == 401
    relogin = officer.post("/login", data={"username": "xihu-new", "password": "long-enough-1"})
    assert relogin.status_code == 401
    self_demote = admin.patch("/api/v1/admin/users/admin", headers=token("admin"), json={"active": False})
    assert self_demote.status_code == 422
    with world.uow() as uow:
        kinds = list(uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.actor == "admin")))
    assert kinds.count("user.create") == 1 and kinds.count("user.update") == 2


def _login_token(services: Services, username: str, password: str) -> dict[str, str]:
    with TestClient(create_app(services)) as c:
        r = c.post("/api/v1/tokens", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


def test_admin_forms_need_the_csrf_token(world: Services, login: Login) -> None:
    admin = login("admin")
    admin.get("/admin")
    before = snapshot(world)
    for url, data in (("/admin/calls", {"title": "x"}), ("/admin/calls/1/close", {}),
                      ("/admin/users", {"username": "mallory"}), ("/admin/users/bureau", {"role": "admin"})):
        assert admin.post(url, data=data).status_code == 403, url
        assert admin.post(url, data={**data, "csrf_token": "forged"}).status_code == 403, url
    upload = admin.post("/admin/diagrams", files={"file": ("x.bpmn", HONOUR_BPMN.read_bytes(), "text/xml")})
    assert upload.status_code == 403
    assert snapshot(world) == before


# -- hostile text -----------------------------------------------------------------------------
def test_hostile_text_is_escaped_on_audit_and_admin_pages(world: Services, login: Login, token: Token) -> None:
    script = "<script>alert('x')</script>"
    app_id = apply_for(world, *XIHU_SRDI)
    act(world, app_id, "district-xihu", "return", reason=f"理由{script}")
    created = login("admin").post("/api/v1/admin/users", headers=token("admin"), json={
        "username": "hostile", "display_name": f"名字{script}", "role": "auditor", "password": "long-enough-1"})
    assert created.status_code == 201
    pages = [login("auditor").get(f"/audit/cases/{app_id}").text, login("auditor").get("/audit?q=%3Cscript%3E").text,
             login("admin").get("/admin/users").text, login("admin").get("/admin/users/hostile").text]
    for html in pages:
        assert script not in html
    assert "&lt;script&gt;" in pages[0] and "&lt;script&gt;" in pages[1] and "&lt;script&gt;" in pages[2]
