"""Diagram versions in the admin console: a hostile or broken upload is rejected with every problem
and changes nothing; a valid one becomes current for new cases while running cases keep theirs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from services.bootstrap import Services
from services.db.models import AuditEvent, ProcessDefinition, ProcessInstance
from tests.helpers import act, application, apply_for, open_item, pass_public_notice, snapshot
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


def test_malicious_diagram_is_rejected_with_its_problems_and_changes_nothing(world: Services, login: Login,
                                                                            token: Token) -> None:
    admin = login("admin")
    csrf = csrf_of(admin.get("/admin/diagrams").text)
    original = _current_hash(world)
    bearer = token("admin")
    hostile = HONOUR_BPMN.read_text(encoding="utf-8").replace(
        'decision == "reject"</bpmn:conditionExpression>',
        '__import__("os").system("touch /tmp/smeflow-pwned")</bpmn:conditionExpression>', 1)
    before = snapshot(world)
    page = admin.post("/admin/diagrams", data={"csrf_token": csrf},
                      files={"file": ("<b>evil</b>.bpmn", hostile.encode(), "text/xml")})
    assert page.status_code == 422 and "未通过校验，未做任何更改" in page.text
    problems = page.text[page.text.index('id="problems"'):]
    assert "flow_district_reject" in problems and re.search(r'<td class="num">\d+</td>', problems)
    # the element by its name in the diagram, its id in a <code> beside it; the problem in Chinese
    assert "<td>不予通过 <code>flow_district_reject</code></td>" in problems
    assert "条件表达式" in problems and "不允许名称 &#39;__import__&#39;" in problems
    assert "is not allowed" not in problems
    assert "<b>evil</b>" not in page.text
    api = admin.post("/api/v1/admin/diagrams", headers=bearer,
                     files={"file": ("evil.bpmn", hostile.encode(), "text/xml")})
    assert api.status_code == 422 and any(p["element_id"] == "flow_district_reject" and p["line"]
                                          and p["element_name"] == "不予通过"
                                          for p in api.json()["problems"])
    assert admin.post("/admin/diagrams", data={"csrf_token": csrf},
                      files={"file": ("notes.txt", b"hello", "text/plain")}).status_code == 422
    assert _current_hash(world) == original and snapshot(world) == before
    assert not Path("/tmp/smeflow-pwned").exists()


def test_new_diagram_version_is_current_for_new_cases_and_running_cases_keep_theirs(world: Services,
                                                                                      login: Login) -> None:
    old = _current_hash(world)
    running = apply_for(world, *DONGHU_GIANT)
    admin = login("admin")
    csrf = csrf_of(admin.get("/admin/diagrams").text)
    changed = HONOUR_BPMN.read_text(encoding="utf-8").replace('name="区县初审"', 'name="区县初审（新版）"', 1)
    page = admin.post("/admin/diagrams", data={"csrf_token": csrf},
                      files={"file": ("award_enterprise_honour_v2.bpmn", changed.encode(), "text/xml")})
    assert page.status_code == 200 and 'id="installed"' in page.text
    new = _current_hash(world)
    assert new != old and new[:12] in page.text and old[:12] in page.text
    again = admin.post("/admin/diagrams", data={"csrf_token": csrf},
                       files={"file": ("same.bpmn", changed.encode(), "text/xml")})
    assert again.status_code == 409

    later = apply_for(world, *XIHU_SRDI)
    assert _instance_hash(world, later) == new and open_item(world, later).name == "区县初审（新版）"
    assert _instance_hash(world, running) == old and open_item(world, running).name == "区县初审"
    act(world, running, "district-donghu", "approve")
    act(world, running, "bureau", "approve", amount_fen=200_000_00)
    pass_public_notice(world)
    act(world, running, "finance", "pay", reference="PAY-OLD-1")
    assert application(world, running).status == "paid" and _instance_hash(world, running) == old
    auditor_xml = login("auditor").get(f"/audit/cases/{running}/diagram.xml").text
    assert "区县初审" in auditor_xml and "新版" not in auditor_xml
    with world.uow() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "diagram.install")).one()
    assert event.actor == "admin" and json.loads(event.payload)["previous"] == old
