"""The sandbox page for the bureau, the finance bureau and managers: the same totals as the CLI and
the workbook (hand-computed in tests/sandbox/test_pricing.py), charts as SVG, lists exportable."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from services.bootstrap import Services
from services.db.models_sandbox import PolicySimulation

DRAFT_FILE = Path(__file__).parent / "data" / "test-sandbox-draft.toml"


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def post(c: TestClient, **fields: str) -> object:
    token = csrf(c.get("/policy/simulate").text)
    data = {"csrf_token": token, "against": "2022-109", "as_of": "2025-10-01", "take_up": "0.5", **fields}
    files = {"draft_file": (DRAFT_FILE.name, DRAFT_FILE.read_bytes(), "application/toml")}
    return c.post("/policy/simulate", data=data, files=files)


def recorded(services: Services) -> int:
    with services.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(PolicySimulation)) or 0)


def test_page_shows_the_hand_computed_totals_with_charts_and_exports(world: Services, login) -> None:  # type: ignore[no-untyped-def]
    c = login("finance")
    r = post(c)
    assert r.status_code == 303  # type: ignore[attr-defined]
    page = c.get(r.headers["location"])  # type: ignore[attr-defined]
    assert page.status_code == 200
    html = page.text
    for figure, label in (("2,035,000.00", "draft-cap"), ("1,815,000.00", "current-cap"),
                          ("1,721,250.00", "draft-ratio"), ("1,641,250.00", "current-ratio")):
        assert re.search(rf'id="{label}">{re.escape(figure)}<', html), label
    assert html.count("<svg") == 2 and "按区县的预计支出" in html and "红谷滩区" in html
    assert "增加奖励的企业（15 家）" in html and "减少奖励的企业（6 家）" in html
    sim = r.headers["location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    wb = load_workbook(io.BytesIO(c.get(f"/policy/simulations/{sim}.xlsx").content))
    summary = {row[0]: row[1] for row in wb["概要"].iter_rows(values_only=True)}
    assert str(summary["草案预计支出（按上限，元）"]) == "2035000"
    assert str(summary["现行预计支出（按上限，元）"]) == "1815000"
    losers = list(csv.reader(io.StringIO(c.get(f"/policy/simulations/{sim}/losers.csv").content.decode("utf-8-sig"))))
    assert len(losers) == 7 and losers[1][:3] == ["2", "测试企业02有限公司", "东湖区"] and losers[1][5] == "-300000.00"
    assert c.get(f"/policy/simulations/{sim}/other.csv").status_code == 422


def test_stored_draft_and_recent_list(world: Services, login) -> None:  # type: ignore[no-untyped-def]
    c = login("manager")
    token = csrf(c.get("/policy/simulate").text)
    r = c.post("/policy/simulate", data={"csrf_token": token, "draft": "2022-109", "against": "2022-109",
                                         "as_of": "2024-06-03", "take_up": "按实际"})
    assert r.status_code == 303
    form = c.get("/policy/simulate").text
    assert "第 1 次" in form
    assert 'name="take_up" value="按实际"' in form and "observed" not in form  # the take-up in words, not a code


@pytest.mark.parametrize(("fields", "rule"), [
    ({"take_up": "1.5"}, "领取率须为“按实际”或 0 到 1 之间"),
    ({"against": "2019-001"}, "没有代码为 &#39;2019-001&#39; 的政策版本"),
    ({"as_of": "2031-01-01"}, "不在草案"),
    ({"as_of": "soon"}, "日期须为 YYYY-MM-DD"),
])
def test_bad_input_shows_one_line_and_records_nothing(world: Services, login, fields: dict, rule: str) -> None:  # type: ignore[no-untyped-def]
    c = login("bureau")
    r = post(c, **fields)
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert re.search(r'<p class="alert error" role="alert">[^<]*' + re.escape(rule), r.text)  # type: ignore[attr-defined]
    assert recorded(world) == 0


def test_a_draft_that_does_not_validate(world: Services, login) -> None:  # type: ignore[no-untyped-def]
    c = login("bureau")
    token = csrf(c.get("/policy/simulate").text)
    bad = DRAFT_FILE.read_text().replace("cap_fen = 8_000_000", "cap_fen = -1")
    r = c.post("/policy/simulate", data={"csrf_token": token},
               files={"draft_file": ("d.toml", bad.encode(), "text/plain")})
    assert r.status_code == 422 and "政策版本文件未通过校验" in r.text
    assert "奖励上限（分） award_types[" in r.text and "].cap_fen：须为大于零的金额（单位：分），实为 -1" in r.text
    assert "must be" not in r.text
    assert recorded(world) == 0


def test_other_roles_may_not(world: Services, login) -> None:  # type: ignore[no-untyped-def]
    c = login("auditor")
    assert c.get("/policy/simulate").status_code == 403
    assert c.get("/policy/simulations/1").status_code == 403
