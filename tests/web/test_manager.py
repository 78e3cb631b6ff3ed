"""The manager's dashboard and the case list, against a world of cases driven through the real services
on a manual clock, so every count, duration and amount below is known exactly."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifications.smtp import SmtpMailer
from services.audit.chain import verify
from services.awards.deadlines import sweep
from services.bootstrap import Services
from services.dashboard import percentile
from services.db.models import AuditEvent, ProcessDefinition
from services.db.models_mail import OutboxMail
from services.errors import field_label
from services.mail import outbox
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, act, apply_for, clock, needs_chromium, pass_public_notice, today
from tests.smtp import SmtpServer
from tests.web.conftest import csrf_of

Login = Callable[[str], TestClient]
Token = Callable[[str], dict[str, str]]
HOUR = 3600


@dataclass
class Cases:
    a: int  # 东湖区, paid 300,000.00
    b: int  # 西湖区, awarded 50,000.00, waiting at finance payout
    c: int  # 东湖区, rejected at the district check
    d: int  # 红谷滩区, rejected at bureau review


@pytest.fixture
def cases(world: Services) -> Cases:
    """Four cases of measure 2 applied at 09:00; the district decides them 2, 4, 6 and 8 hours later."""
    a = apply_for(world, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    b = apply_for(world, "江西赣江新材料科技有限公司", "m2-srdi-sme-province", 60_000_00)
    c = apply_for(world, "南昌洪城食品有限公司", "m2-srdi-sme-city", 50_000_00)
    d = apply_for(world, "红谷滩数字科技有限公司", "m2-single-champion-province", 200_000_00)
    act(world, a, "district-donghu", "approve")  # each act moves the clock 2 hours first
    act(world, b, "district-xihu", "approve")
    act(world, c, "district-donghu", "reject", reason="材料不全")
    act(world, d, "district-honggutan", "approve")
    act(world, a, "bureau", "approve", amount_fen=300_000_00)  # bureau review of a took 8 h, b 8 h, d 6 h
    act(world, b, "bureau", "approve", amount_fen=50_000_00)
    act(world, d, "bureau", "reject", reason="认定文件不符")
    pass_public_notice(world)
    act(world, a, "finance", "pay", reference="PAY-1")
    return Cases(a, b, c, d)


def board(c: TestClient, **params: str) -> dict[str, Any]:
    r = c.get("/api/v1/dashboard", params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


# -- figures ---------------------------------------------------------------------------------------
def test_counts_per_status_stage_unit_and_diagram_node(cases: Cases, login: Login) -> None:
    c = login("manager")
    data = board(c)
    assert data["total"] == 4
    assert data["status_counts"] == {"running": 1, "paid": 1, "rejected": 2}
    assert {(s["status"], s["stage"]): s["count"] for s in data["stages"]} == {
        ("running", "finance_payout"): 1, ("paid", "end_paid"): 1,
        ("rejected", "end_rejected_district"): 1, ("rejected", "end_rejected_bureau"): 1}
    assert {u["unit"]: (u["running"], u["paid"], u["rejected"], u["total"]) for u in data["units"]} == {
        "donghu": (0, 1, 1, 2), "xihu": (1, 0, 0, 1), "honggutan": (0, 0, 1, 1)}
    routes = {r["process_id"]: r for r in data["routes"]}
    assert list(routes) == ["award_enterprise_honour", "award_service_platform", "award_base"]  # measures 2, 8, 9
    assert routes["award_base"]["label"].startswith("措施9：")
    honours = routes["award_enterprise_honour"]
    assert honours["open"] == {"finance_payout": 1}
    assert honours["ended"] == {"end_paid": 1, "end_rejected_district": 1, "end_rejected_bureau": 1}
    assert routes["award_base"]["open"] == {} and routes["award_base"]["ended"] == {}


def test_fund_budget_committed_paid_remaining(cases: Cases, login: Login) -> None:
    c = login("manager")
    (fund,) = board(c)["funds"]
    assert fund["budget_fen"] == 600_000_00 and fund["paid_fen"] == 300_000_00
    assert fund["committed_fen"] == 50_000_00  # b: decided at bureau review, not paid yet
    assert fund["remaining_fen"] == 300_000_00 and fund["available_fen"] == 250_000_00
    page = c.get("/dashboard").text
    assert "600,000.00" in page and "50,000.00" in page and "250,000.00" in page


def test_over_committed_fund_is_flagged(world: Services, login: Login) -> None:
    """Two awards of 300,000 and 200,000 decided against a fund with 600,000: fine; pay one and award
    another 300,000: committed exceeds what is left, and the page says so."""
    ids = [apply_for(world, name, code, cap) for name, code, cap in (
        ("南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00),
        ("红谷滩数字科技有限公司", "m2-single-champion-province", 200_000_00),
        ("赣江双创产业园运营有限公司", "m9-innovation-base-national", 300_000_00))]
    for app_id, district in zip(ids, ("district-donghu", "district-honggutan", "district-honggutan"), strict=True):
        act(world, app_id, district, "approve")
    act(world, ids[2], "onsite-honggutan", "approve")
    for app_id, amount in zip(ids, (300_000_00, 200_000_00, 300_000_00), strict=True):
        act(world, app_id, "bureau", "approve", amount_fen=amount)
    c = login("manager")
    (fund,) = board(c)["funds"]
    assert (fund["committed_fen"], fund["paid_fen"], fund["available_fen"]) == (800_000_00, 0, -200_000_00)
    assert "已核定金额超出余额 200,000.00 元" in c.get("/dashboard").text


def test_percentile_interpolates_between_closest_ranks_exactly() -> None:
    assert percentile([7], Fraction(9, 10)) == 7
    assert percentile([4, 1, 3, 2], Fraction(1, 2)) == Fraction(5, 2)  # even count: mean of the middle two
    assert percentile([1, 2, 3, 4, 10], Fraction(9, 10)) == Fraction(38, 5)  # 4 + 0.6 * (10 - 4)
    assert percentile([1, 2, 3, 4, 10], Fraction(1, 2)) == 3
    with pytest.raises(ValueError):
        percentile([], Fraction(1, 2))


def test_stage_durations_median_and_90th_percentile(cases: Cases, login: Login) -> None:
    c = login("manager")
    durations = {d["stage"]: d for d in board(c)["durations"]}
    district = durations["district_check"]  # 2, 4, 6, 8 hours
    assert district["count"] == 4
    assert district["median_seconds"] == 5 * HOUR
    assert district["p90_seconds"] == 7.4 * HOUR  # position 2.7: 6 h + 0.7 * 2 h
    bureau = durations["bureau_review"]  # a 8 h, b 8 h, d 6 h
    assert (bureau["count"], bureau["median_seconds"], bureau["p90_seconds"]) == (3, 8 * HOUR, 8 * HOUR)
    assert durations["finance_payout"]["count"] == 1  # a's; b's payout is still open and not measured
    assert [d["stage"] for d in board(c)["durations"]][:2] == ["district_check", "bureau_review"]
    page = c.get("/dashboard").text
    assert "5 小时" in page and "7 小时 24 分钟" in page


def test_overdue_work_shows_how_late_and_escalation(cases: Cases, world: Services, login: Login) -> None:
    clock(world).advance(timedelta(days=30))
    sweep(world, world.clock.now())  # b's payout deadline fires: overdue, then escalated (督办)
    c = login("manager")
    (late,) = board(c)["overdue"]
    assert late["application_id"] == cases.b and late["stage_name"] == "财政拨付"
    assert late["escalation_level"] == 2
    # now: Wed 2024-07-24 01:00; the payout was due by the end of Fri 2024-07-05 (10 working days)
    assert str(today(world)) == "2024-07-24" and late["due_on"] == "2024-07-05"
    assert (late["days_late"], late["working_days_late"]) == (19, 13)
    units = {u["unit"]: u["overdue"] for u in board(c)["units"]}
    assert units == {"donghu": 0, "xihu": 1, "honggutan": 0}
    page = c.get("/dashboard").text
    assert "已逾期 13 个工作日（19 天）" in page and "2024年7月5日（周五）前" in page
    assert "已督办" in page


# -- filters ---------------------------------------------------------------------------------------
def test_filters_narrow_the_figures(cases: Cases, world: Services, login: Login) -> None:
    c = login("manager")
    assert board(c, unit="donghu")["status_counts"] == {"running": 0, "paid": 1, "rejected": 1}
    assert board(c, award="m2-srdi-sme-province")["total"] == 1
    rejected = board(c, status="rejected")
    assert rejected["total"] == 2 and {s["stage"] for s in rejected["stages"]} == {
        "end_rejected_district", "end_rejected_bureau"}
    donghu = {d["stage"]: d for d in board(c, unit="donghu")["durations"]}
    assert donghu["district_check"]["count"] == 2 and donghu["district_check"]["median_seconds"] == 4 * HOUR
    assert board(c, call="999")["total"] == 0 and board(c, call="999")["funds"] == []
    # the HTML form submits blank values for "all": usable without JavaScript
    page = c.get("/dashboard", params={"call": "", "award": "", "unit": "xihu", "status": "", "route": ""})
    assert page.status_code == 200 and "江西赣江新材料科技有限公司" in page.text
    assert "南昌精工智能装备有限公司" not in page.text
    assert 'href="/dashboard/cases.csv?unit=xihu"' in page.text


BAD_FILTERS = [
    ({"call": "abc"}, "call"), ({"call": "99999999999999999999999"}, "call"), ({"call": "²"}, "call"),
    ({"award": "m99-nothing"}, "award"), ({"unit": "atlantis"}, "unit"), ({"status": "lost"}, "status"),
    ({"unit": "a\x00b"}, "unit"), ({"award": "m2-little-giant-national\x00"}, "award"),
]


def test_bad_filters_are_422_naming_the_field(world: Services, login: Login) -> None:
    c = login("manager")
    for params, field in BAD_FILTERS:
        for path in ("/api/v1/dashboard", "/api/v1/cases", "/api/v1/cases.csv"):
            api = c.get(path, params=params)
            assert api.status_code == 422 and field_of(api.json()) == field, (path, params)
        page = c.get("/dashboard", params=params)
        assert page.status_code == 422 and f"{field_label(field)}：" in page.text, params  # 申报批次：…
        assert c.get("/dashboard/cases.csv", params=params).status_code == 422, params


def field_of(body: dict[str, Any]) -> str:
    """The field a 422 names: the service's {field, rule}, or FastAPI's own query validation."""
    if "field" in body:
        return str(body["field"])
    return str(body["detail"][0]["loc"][-1])


def test_case_list_sorts_and_rejects_unknown_sort(cases: Cases, login: Login) -> None:
    c = login("manager")
    ids = [x["id"] for x in c.get("/api/v1/cases", params={"sort": "-requested"}).json()["items"]]
    assert ids == [cases.a, cases.d, cases.b, cases.c]
    bad = c.get("/api/v1/cases", params={"sort": "password"})
    assert bad.status_code == 422 and field_of(bad.json()) == "sort"
    assert c.get("/dashboard", params={"sort": "password"}).status_code == 422
    page = c.get("/dashboard", params={"sort": "-requested"}).text
    assert page.index("南昌精工智能装备有限公司") < page.index("南昌洪城食品有限公司")


# -- who may see what ------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["district-donghu", "applicant-a", "auditor", "finance"])
def test_dashboard_is_403_for_other_roles(world: Services, login: Login, token: Token, username: str) -> None:
    c = login(username)
    for path in ("/dashboard", "/dashboard/cases.csv", "/dashboard/cases.xlsx", "/api/v1/dashboard"):
        assert c.get(path).status_code == 403, path
    assert c.get("/api/v1/dashboard", headers=token(username)).status_code == 403


@pytest.mark.parametrize("username", ["manager", "admin", "bureau"])
def test_dashboard_is_open_to_city_roles(world: Services, login: Login, username: str) -> None:
    assert login(username).get("/dashboard").status_code == 200


def test_api_cases_are_scoped_to_the_caller(cases: Cases, client: TestClient, token: Token) -> None:
    def ids(username: str, **params: str) -> list[int]:
        r = client.get("/api/v1/cases", headers=token(username), params=params)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert ids("manager") == [cases.a, cases.b, cases.c, cases.d]
    assert ids("auditor") == [cases.a, cases.b, cases.c, cases.d]
    assert ids("district-donghu") == [cases.a, cases.c]
    assert ids("district-donghu", unit="xihu") == []  # a filter never widens the scope
    assert ids("applicant-a") == [cases.a]
    assert ids("applicant-f") == []
    assert client.get("/api/v1/cases").status_code == 401
    first = client.get("/api/v1/cases", headers=token("manager"), params={"limit": "2", "offset": "1"}).json()
    assert first["total"] == 4 and [x["id"] for x in first["items"]] == [cases.b, cases.c]
    paid = client.get("/api/v1/cases", headers=token("applicant-a")).json()["items"][0]
    assert (paid["status_zh"], paid["awarded_fen"], paid["paid_fen"]) == ("已拨付", 300_000_00, 300_000_00)
    scoped_csv = client.get("/api/v1/cases.csv", headers=token("district-xihu"))
    rows = list(csv.reader(io.StringIO(scoped_csv.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [str(cases.b)]


# -- the outbox ------------------------------------------------------------------------------------
def failed_mail(world: Services, cases: Cases) -> int:
    """Every queued mail fails against an SMTP port where nothing listens; returns one failed id."""
    with SmtpServer() as server:  # holds its port and never listens: every connection is refused
        mailer = SmtpMailer(world.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": server.port}),
                            timeout=5)
        report = outbox.dispatch(world.uow, mailer, world.clock.now(), max_attempts=1)
    assert report.failed > 0
    with world.uow() as uow:
        return uow.session.scalars(select(OutboxMail.id).where(OutboxMail.status == "failed")).first() or 0


def test_manager_retries_a_failed_mail_with_csrf(cases: Cases, world: Services, login: Login) -> None:
    mail_id = failed_mail(world, cases)
    c = login("manager")
    before = board(c)["outbox"]
    assert before["counts"]["failed"] >= 1 and mail_id in [m["id"] for m in before["failed"]]
    page = c.get("/dashboard").text
    assert f'action="/dashboard/outbox/{mail_id}/retry"' in page
    assert c.post(f"/dashboard/outbox/{mail_id}/retry", data={}).status_code == 403  # no CSRF token
    assert c.post(f"/dashboard/outbox/{mail_id}/retry", data={"csrf_token": "forged"}).status_code == 403
    ok = c.post(f"/dashboard/outbox/{mail_id}/retry", data={"csrf_token": csrf_of(page)})
    assert ok.status_code == 303 and ok.headers["location"].startswith(f"/dashboard?retried={mail_id}")
    after = board(c)["outbox"]["counts"]
    assert after["failed"] == before["counts"]["failed"] - 1
    assert after["pending"] == before["counts"]["pending"] + 1
    with world.uow() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "outbox.retry")).one()
        assert event.actor == "manager" and f'"mail":{mail_id}' in event.payload
        assert verify(uow.session).ok
    again = c.post(f"/dashboard/outbox/{mail_id}/retry", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409  # it is pending now, not failed


def test_bureau_sees_failed_mail_but_cannot_retry(cases: Cases, world: Services, login: Login) -> None:
    mail_id = failed_mail(world, cases)
    c = login("bureau")
    page = c.get("/dashboard").text
    assert "发送失败" in page and f"/dashboard/outbox/{mail_id}/retry" not in page
    r = c.post(f"/dashboard/outbox/{mail_id}/retry", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 403
    with world.uow() as uow:
        assert uow.session.get_one(OutboxMail, mail_id).status == "failed"


# -- the diagram -----------------------------------------------------------------------------------
def test_diagram_xml_by_hash_and_page_wiring(cases: Cases, world: Services, login: Login,
                                             client: TestClient) -> None:
    with world.uow() as uow:
        row = uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == "award_enterprise_honour", ProcessDefinition.current.is_(True))).one()
        digest, xml = row.hash, row.bpmn_xml
    c = login("district-donghu")  # any signed-in user may read a route's diagram
    r = c.get(f"/diagrams/{digest}.bpmn")
    assert r.status_code == 200 and r.content == xml and r.headers["content-type"].startswith("application/xml")
    assert "sandbox" in r.headers["content-security-policy"]
    assert c.get(f"/diagrams/{'0' * 64}.bpmn").status_code == 404
    assert c.get("/diagrams/..%2Fsecret.bpmn").status_code == 404
    assert client.get(f"/diagrams/{digest}.bpmn").status_code == 303  # to the login page
    c = login("manager")
    page = c.get("/dashboard", params={"route": "award_enterprise_honour"}).text
    assert f'data-diagram-src="/diagrams/{digest}.bpmn"' in page
    assert """data-diagram-counts='{"finance_payout": 1}'""" in page
    assert '/static/diagram.js' in page and "bpmn-navigated-viewer.production.min.js" in page
    assert c.get("/dashboard", params={"route": "nope"}).status_code == 422


def test_diagram_follows_the_award_filter(cases: Cases, world: Services, login: Login) -> None:
    c = login("manager")
    page = c.get("/dashboard", params={"award": "m9-innovation-base-national"}).text
    assert re.search(r'<option value="award_base" selected>', page)
    # the form always sends the route picked before: the award filter decides the diagram
    page = c.get("/dashboard", params={"award": "m2-srdi-sme-province", "route": "award_base"}).text
    assert re.search(r'<option value="award_enterprise_honour" selected>', page)
    assert """data-diagram-counts='{"finance_payout": 1}'""" in page  # b is waiting for payment
    assert 'href="/dashboard?award=m2-srdi-sme-province&amp;route=award_enterprise_honour&amp;sort=-id#cases"' in page


# -- in a browser ----------------------------------------------------------------------------------
@needs_chromium
def test_browser_draws_the_diagram_with_counts_on_its_nodes(cases: Cases, live_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_url}/login?next=/dashboard")
            page.fill("input[name=username]", "manager")
            page.fill("input[name=password]", "smeflow-demo")
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard")
            page.wait_for_selector("#route-diagram[data-diagram-ready=true]", timeout=15_000)
            badges = page.locator("#route-diagram .djs-overlay .count")
            assert sorted(badges.all_inner_texts()) == ["1", "1", "1", "1"]  # 1 open + 3 ended
            open_badge = page.locator('#route-diagram .djs-overlays[data-container-id="finance_payout"] .count')
            assert open_badge.inner_text() == "1"
            assert page.locator("#route-diagram .bjs-powered-by").is_visible()  # bpmn.io watermark kept
            page.locator("#diagram").screenshot(path=str(tmp_path / "dashboard-diagram.png"))
        finally:
            browser.close()
