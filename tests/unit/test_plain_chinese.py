"""Every code a person could meet has its Chinese name: the field an error names, the kind of an audit
event, the lane of a diagram (issue 13, item 6). The browser scan (tests/web/test_browser_plain_chinese.py)
checks the pages themselves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from services.audit.kinds import KIND_LABELS
from services.engine.lanes import LANE_ROLES, role_of_lane
from services.errors import FIELD_LABELS, InvalidInput

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("services", "app", "config") for p in (ROOT / d).rglob("*.py")]


def _calls(name: str) -> list[ast.Call]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name:
                found.append(node)
    return found


def test_every_field_an_error_names_has_a_chinese_label() -> None:
    fields = {c.args[0].value for c in _calls("InvalidInput")
              if c.args and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)}
    assert len(fields) > 60  # the scan found them
    assert sorted(f for f in fields if f not in FIELD_LABELS) == []


def test_an_error_reads_in_chinese_and_keeps_the_code_for_logs() -> None:
    err = InvalidInput("amount", "金额须大于 0")
    assert err.message == "金额：金额须大于 0" and (err.field, err.rule) == ("amount", "金额须大于 0")
    assert str(err) == "amount: 金额须大于 0"
    assert InvalidInput("row 3: signed_on", "必填").message == "第 3 行 签订日期：必填"


def test_every_audit_event_kind_has_a_chinese_label() -> None:
    kinds = {kw.value.value for path in SOURCES for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) for kw in node.keywords
             if kw.arg == "kind" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
             and re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", kw.value.value) and "." in kw.value.value}
    assert {"case.start", "task.complete", "documents.add", "timer.fire"} <= kinds
    assert sorted(k for k in kinds if k not in KIND_LABELS) == []
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in KIND_LABELS.values())


def test_every_lane_of_the_shipped_diagrams_is_named_in_chinese_and_routes_to_a_role() -> None:
    lanes = {name for path in (ROOT / "bpmn").glob("*.bpmn")
             for name in re.findall(r'<bpmn:lane [^>]*name="([^"]*)"', path.read_text(encoding="utf-8"))}
    assert lanes == {"申报单位", "区县", "市中小企业局", "市财政局", "投诉企业", "受理投诉部门", "处理部门", "债务人"}
    assert {role_of_lane(lane) for lane in lanes} == {"applicant", "district", "bureau", "finance", "complainant",
                                                      "acceptance", "handler", "debtor"}
    assert role_of_lane("district") == "district"  # a diagram (or a running case) from before keeps working
    assert set(LANE_ROLES) == lanes
