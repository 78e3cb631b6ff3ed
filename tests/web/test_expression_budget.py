"""Issue 12, item 6, on a real case: a diagram whose district-check step runs one of the issue's hostile
expressions is refused at upload when its source shows the danger; otherwise it is installed, a case
starts on it, and the district officer's decision fails with the budget's message (409) and changes
nothing: the work item stays open and the database is as it was."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.bootstrap import Services
from tests.engine.test_budget import HIDDEN, STATIC
from tests.helpers import apply_for, open_item, snapshot

Token = Callable[[str], dict[str, str]]
HONOUR_BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "award_enterprise_honour.bpmn"
PROPERTIES_END = ('<spiffworkflow:property name="decisions" value="approve,return,reject" />\n'
                  '        </spiffworkflow:properties>')


def with_post_script(script: str) -> bytes:
    """The honour route with `script` run after the district check (a postScript of that task)."""
    xml = HONOUR_BPMN.read_text(encoding="utf-8")
    assert xml.count(PROPERTIES_END) >= 1
    script_element = f"<spiffworkflow:postScript>{escape(script, quote=False)}</spiffworkflow:postScript>"
    changed = xml.replace(PROPERTIES_END, f"{PROPERTIES_END}\n        {script_element}", 1)
    return changed.encode()


@pytest.mark.parametrize(("name", "script"), STATIC.items())
def test_a_diagram_showing_the_danger_is_refused_at_upload(world: Services, client: TestClient, token: Token,
                                                           name: str, script: str) -> None:
    admin = token("admin")
    before = snapshot(world)
    r = client.post("/api/v1/admin/diagrams", headers=admin,
                    files={"file": ("hostile.bpmn", with_post_script(script), "text/xml")})
    assert r.status_code == 422, r.text
    messages = [p["message"] for p in r.json()["problems"]]
    assert any("postScript" in m and ("`*` 宽度" in m or "指数超过 ±60" in m) for m in messages), messages
    assert snapshot(world) == before


@pytest.mark.parametrize(("name", "script"), HIDDEN.items())
def test_a_hidden_danger_fails_its_step_and_changes_nothing(world: Services, client: TestClient, token: Token,
                                                            name: str, script: str) -> None:
    installed = client.post("/api/v1/admin/diagrams", headers=token("admin"),
                            files={"file": ("hostile.bpmn", with_post_script(script), "text/xml")})
    assert installed.status_code == 201, installed.text
    app_id = apply_for(world, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(world, app_id)
    district = token("district-donghu")
    assert client.post(f"/api/v1/tasks/{item.id}/claim", headers=district).status_code == 200
    before = snapshot(world)
    r = client.post(f"/api/v1/tasks/{item.id}/complete", headers=district, json={"decision": "approve"})
    assert r.status_code == 409, r.text
    expected = {"format width": "`*` 宽度", "huge exponent": "指数超过 ±60",
                "doubling": "超过 100,000 项的值", "nested repr": "超过 100000 项的序列"}[name]
    assert expected in r.json()["detail"], r.json()["detail"]
    assert snapshot(world) == before and open_item(world, app_id).id == item.id


def test_a_diagram_carrying_script_for_the_browser_is_refused_at_upload(world: Services, client: TestClient,
                                                                         token: Token) -> None:
    """Issue 12, item 4: the upload itself refuses what /audit/cases/{id}/diagram.xml would have run."""
    xml = HONOUR_BPMN.read_text(encoding="utf-8").replace(
        "<bpmn:documentation>县（区）", '<bpmn:documentation><html:script xmlns:html="http://www.w3.org/1999/xhtml">'
        "fetch('/api/v1/me')</html:script>县（区）", 1)
    admin = token("admin")
    before = snapshot(world)
    r = client.post("/api/v1/admin/diagrams", headers=admin, files={"file": ("doc.bpmn", xml.encode(), "text/xml")})
    assert r.status_code == 422
    assert any(p["message"].startswith("流程图中不允许 HTML 元素 <script>") and p["line"]
               for p in r.json()["problems"]), r.json()
    assert snapshot(world) == before
