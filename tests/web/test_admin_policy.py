"""The admin's policy page: the same checks as the CLI, every problem listed, the states by date."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.bootstrap import Services
from services.db.models import PolicyRevision
from tests.policy.editions import TEST_TITLE, successor_text
from tests.web.conftest import csrf_of


def _post(c: TestClient, name: str, text: str, action: str) -> str:
    csrf = csrf_of(c.get("/admin/policy").text)
    r = c.post("/admin/policy", data={"csrf_token": csrf, "action": action},
               files={"file": (name, text.encode(), "text/plain")})
    return f"{r.status_code} {r.text}"


def test_admin_loads_an_edition_from_the_page(world: Services, login: Callable[[str], TestClient]) -> None:
    admin = login("admin")
    page = admin.get("/admin/policy").text
    assert "洪府办发〔2022〕109号" in page and "施行" in page  # the clock: 2024-06-03

    bad = successor_text().replace("cap_fen = 30_000_000", "cap_fen = 300000.0", 1).replace(
        "in_force_from = 2025-09-02", "in_force_from = 2025-06-01")
    answer = _post(admin, "bad.toml", bad, "load")
    assert answer.startswith("422 ") and "未通过校验，未做任何更改" in answer
    # each problem names the field in Chinese, its key path in a <code> beside it, and the rule in Chinese
    issues = answer.split('id="issues"', 1)[1].split("</table>", 1)[0]
    assert "<td>奖励类型第 1 项的奖励上限（分） <code>award_types[0].cap_fen</code></td>" in issues
    assert "金额须为整数（单位：分），不能是小数（300000.0）" in issues and "not a float" not in issues
    with world.uow() as uow:
        assert uow.session.scalar(select(func.count(PolicyRevision.id))) == 1

    checked = _post(admin, "successor.toml", successor_text(), "validate")
    assert checked.startswith("200 ") and "校验通过" in checked and "尚未加载" in checked
    loaded = _post(admin, "successor.toml", successor_text(), "load")
    assert loaded.startswith("200 ") and "已加载 测试文号〔2026〕1号（测试数据）（第 1 次修订）" in loaded
    assert TEST_TITLE in loaded and "草案" in loaded  # in force only from 2025-09-02
    assert any(e.title == TEST_TITLE for e in world.editions)


def test_only_admins(world: Services, login: Callable[[str], TestClient]) -> None:
    assert login("bureau").get("/admin/policy").status_code == 403
