"""Shared steps of the officer tests: a case in 东湖区, the same case at the bureau, a decision through
the task page, and a work item read back."""
from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from services.bootstrap import Services
from services.db.models import WorkItem
from tests.helpers import act, apply_for, open_item
from tests.web.conftest import csrf_of

JINGGONG = "南昌精工智能装备有限公司"  # 东湖区, national little giant (cap 300,000 yuan)
GANJIANG = "江西赣江新材料科技有限公司"  # 西湖区, provincial SRDI SME (cap 60,000 yuan)
HONGCHENG = "南昌洪城食品有限公司"  # 东湖区, city SRDI SME (cap 50,000 yuan)


def donghu_case(world: Services) -> tuple[int, int]:
    app_id = apply_for(world, JINGGONG, "m2-little-giant-national", 300_000_00)
    return app_id, open_item(world, app_id).id


def at_bureau(world: Services) -> tuple[int, int]:
    app_id, _ = donghu_case(world)
    act(world, app_id, "district-donghu", "approve")
    return app_id, open_item(world, app_id).id


def decide(c: TestClient, item_id: int, **form: str) -> httpx.Response:
    page = c.get(f"/tasks/{item_id}")
    assert page.status_code == 200, page.text
    return c.post(f"/tasks/{item_id}/complete", data={"csrf_token": csrf_of(page.text), **form})


def item(world: Services, item_id: int) -> WorkItem:
    with world.uow() as uow:
        return uow.session.get_one(WorkItem, item_id)
