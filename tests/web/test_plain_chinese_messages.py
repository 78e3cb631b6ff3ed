"""What a person reads in the messages the pages show, in plain Chinese (issue 13): a status filter
names the statuses, a person is named by name (the username only in a <code> beside it), and the
greyed inbox row of a step barred by segregation of duties says where the step went."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from services.awards.demo import ENTERPRISES
from services.bootstrap import Services
from services.db.models import Enterprise
from tests.helpers import act, apply_for, open_item
from tests.web.conftest import csrf_of

Login = Callable[[str], TestClient]
BASE_ENTERPRISE = ENTERPRISES[5][1]  # national base (measure 9: an on-site check after the district check)


def _text(page: str) -> str:
    """The page's text, tags dropped (what a person reads; <code> content stays)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.split("<main", 1)[-1]))


def test_a_wrong_status_filter_names_the_statuses_in_chinese(world: Services, login: Login, client: TestClient,
                                                             token: Callable[[str], dict[str, str]]) -> None:
    manager = login("manager")
    board = manager.get("/dashboard", params={"status": "bogus"})
    assert board.status_code == 422
    assert "状态须为 办理中、已拨付、不予通过 之一" in _text(board.text)
    assert "running" not in _text(board.text)
    audit = client.get("/api/v1/audit/cases", params={"status": "bogus"}, headers=token("auditor"))
    assert audit.status_code == 422
    assert "状态：须为 办理中、已拨付、不予通过 之一" in audit.text and "running" not in audit.text


def test_the_greyed_row_says_the_step_went_to_the_unit_head(world: Services, login: Login) -> None:
    with world.uow() as uow:  # 东湖区 has one ordinary officer and a unit head
        uow.session.scalars(select(Enterprise).where(Enterprise.name == BASE_ENTERPRISE)).one().review_unit_code \
            = "donghu"
        uow.commit()
    app_id = apply_for(world, BASE_ENTERPRISE, "m9-innovation-base-national", 300_000_00)
    act(world, app_id, "district-donghu", "approve")
    item = open_item(world, app_id)
    assert (item.task_spec, item.assignee) == ("onsite_check", "head-donghu")
    page = login("district-donghu").get("/inbox").text
    row = next(r for r in page.split("<tr")[1:] if f"#{app_id}<" in r)
    assert 'aria-disabled="true"' in row
    said = _text(row)
    assert "职责分离：您已办理本案“区县初审”环节，不能再办理此环节" in said
    assert "已转单位负责人" in said and "办理" in said
    assert "（head-donghu）" not in said and "（district-donghu）" not in said


def test_a_claimed_step_names_the_holder_with_the_username_only_in_code(world: Services, login: Login) -> None:
    app_id = apply_for(world, ENTERPRISES[0][1], "m2-little-giant-national", 300_000_00)
    item = open_item(world, app_id)
    officer = login("district-donghu")
    page = officer.get(f"/tasks/{item.id}").text
    assert officer.post(f"/tasks/{item.id}/claim", data={"csrf_token": csrf_of(page)}).status_code == 303
    head = login("head-donghu")
    inbox = head.get("/inbox").text
    row = next(r for r in inbox.split("<tr")[1:] if f"#{app_id}<" in r)
    assert "东湖区经办人 <code>district-donghu</code>" in row
    task = head.get(f"/tasks/{item.id}").text
    assert "已由 东湖区经办人 <code>district-donghu</code> 认领" in task
    assert "（district-donghu）" not in _text(task)
