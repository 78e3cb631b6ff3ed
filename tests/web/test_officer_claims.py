"""Officers racing for one step: claims, releases and completions leave one winner and lose nothing
(the races themselves only PostgreSQL can show), and segregation of duties at claim time."""
from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.web import create_app
from services.bootstrap import Services
from services.db.models import AuditEvent
from tests.conftest import requires_postgres
from tests.helpers import act, application, apply_for, open_item, snapshot
from tests.web.conftest import csrf_of
from tests.web.officer import JINGGONG, decide, donghu_case, item

Login = Callable[[str], TestClient]
Token = Callable[[str], dict[str, str]]


# -- concurrency and claims ------------------------------------------------------------------------
def test_second_officer_gets_a_conflict_and_loses_nothing(world: Services, login: Login, token: Token,
                                                          client: TestClient) -> None:
    _app_id, item_id = donghu_case(world)
    first, second = login("district-donghu"), login("head-donghu")
    first_page, second_page = first.get(f"/tasks/{item_id}"), second.get(f"/tasks/{item_id}")
    assert first.post(f"/tasks/{item_id}/complete", data={
        "csrf_token": csrf_of(first_page.text), "decision": "approve"}).status_code == 303
    late = second.post(f"/tasks/{item_id}/complete", data={
        "csrf_token": csrf_of(second_page.text), "decision": "return", "reason": "请补充2023年度审计报告"})
    assert late.status_code == 409
    assert "已由 东湖区经办人 办理" in late.text and "（district-donghu）" not in late.text  # the name, no username
    assert "此事项已由 东湖区经办人 <code>district-donghu</code> 于" in late.text  # the page: username in <code>
    assert "请补充2023年度审计报告" in late.text  # what the second officer typed is still on the page
    again = client.post(f"/api/v1/tasks/{item_id}/complete", headers=token("head-donghu"),
                        json={"decision": "reject", "reason": "x"})
    assert again.status_code == 409 and "已由 东湖区经办人 办理" in again.json()["detail"]
    assert "district-donghu" not in again.json()["detail"]
    shown = client.get(f"/api/v1/tasks/{item_id}", headers=token("head-donghu")).json()
    assert shown["status"] == "completed" and shown["completed_by"] == "district-donghu"
    assert item(world, item_id).outcome == "approve"


def test_claim_and_release_rules(world: Services, login: Login, token: Token, client: TestClient) -> None:
    app_id, item_id = donghu_case(world)
    mine, theirs = token("district-donghu"), token("head-donghu")
    r = client.post(f"/api/v1/tasks/{item_id}/claim", headers=mine)
    assert r.status_code == 200 and r.json()["assignee"] == "district-donghu"
    assert client.post(f"/api/v1/tasks/{item_id}/claim", headers=mine).status_code == 200  # already mine
    before = snapshot(world)
    taken = client.post(f"/api/v1/tasks/{item_id}/claim", headers=theirs)
    assert taken.status_code == 409 and "已由 东湖区经办人 认领" in taken.json()["detail"]
    held = client.post(f"/api/v1/tasks/{item_id}/complete", headers=theirs, json={"decision": "approve"})
    assert held.status_code == 409 and "已由 东湖区经办人 认领" in held.json()["detail"]
    assert "district-donghu" not in held.json()["detail"]
    assert client.post(f"/api/v1/tasks/{item_id}/release", headers=theirs).status_code == 403
    assert snapshot(world) == before
    head = login("head-donghu")
    assert "district-donghu" in head.get("/inbox").text
    assert JINGGONG not in head.get("/inbox", params={"only": "unclaimed"}).text
    page = head.get(f"/tasks/{item_id}").text
    assert "已由 东湖区经办人 <code>district-donghu</code> 认领" in page
    blocked = head.post(f"/tasks/{item_id}/complete", data={"csrf_token": csrf_of(page), "decision": "approve"})
    assert blocked.status_code == 409 and "只有认领人可以办理" in blocked.text
    assert client.post(f"/api/v1/tasks/{item_id}/release", headers=mine).json()["assignee"] is None
    assert client.post(f"/api/v1/tasks/{item_id}/release", headers=mine).status_code == 409  # nothing to release
    # the page: claim from the inbox, back to the inbox; then complete as the holder
    inbox = head.get("/inbox", params={"only": "unclaimed"})
    r = head.post(f"/tasks/{item_id}/claim", data={"csrf_token": csrf_of(inbox.text), "next": "/inbox?only=mine"})
    assert r.status_code == 303 and r.headers["location"] == "/inbox?only=mine"
    assert JINGGONG in head.get("/inbox", params={"only": "mine"}).text
    assert decide(head, item_id, decision="approve").status_code == 303
    assert application(world, app_id).stage == "bureau_review"
    with world.uow() as uow:
        kinds = uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.application_id == app_id)
                                    .order_by(AuditEvent.seq)).all()
    assert kinds.count("task.claim") == 2 and kinds.count("task.release") == 1


def test_claim_respects_segregation_of_duties(world: Services, token: Token, client: TestClient) -> None:
    app_id = apply_for(world, "赣江双创产业园运营有限公司", "m9-innovation-base-national", 300_000_00)
    act(world, app_id, "district-honggutan", "approve")  # measure 9: an on-site check follows, same unit
    onsite = open_item(world, app_id)
    assert onsite.task_spec == "onsite_check"
    refused = client.post(f"/api/v1/tasks/{onsite.id}/claim", headers=token("district-honggutan"))
    assert refused.status_code == 403 and "职责分离" in refused.json()["detail"]
    assert client.post(f"/api/v1/tasks/{onsite.id}/claim", headers=token("onsite-honggutan")).status_code == 200


# -- races only PostgreSQL can show ---------------------------------------------------------------
def _race_posts(world: Services, posts: list[tuple[str, dict[str, str], dict[str, object] | None]]) -> list[int]:
    """POST each (url, headers, json) from its own client and thread, released at the same instant."""
    barrier = threading.Barrier(len(posts))
    codes = [0] * len(posts)

    def run(i: int) -> None:
        url, headers, body = posts[i]
        with TestClient(create_app(world)) as c:
            barrier.wait()
            codes[i] = c.post(url, headers=headers, json=body).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


@requires_postgres()
def test_racing_claims_and_completions_leave_one_winner(world: Services, token: Token) -> None:
    _app_id, item_id = donghu_case(world)
    a, b = token("district-donghu"), token("head-donghu")
    url = f"/api/v1/tasks/{item_id}/claim"
    assert sorted(_race_posts(world, [(url, a, None), (url, b, None)])) == [200, 409]
    holder = item(world, item_id).assignee
    assert holder in {"district-donghu", "head-donghu"}
    holder_h, other_h = (a, b) if holder == "district-donghu" else (b, a)
    complete = f"/api/v1/tasks/{item_id}/complete"
    codes = _race_posts(world, [(complete, holder_h, {"decision": "approve"}),
                                (complete, other_h, {"decision": "reject", "reason": "x"})])
    assert codes == [200, 409]
    done = item(world, item_id)
    assert (done.status, done.outcome, done.completed_by) == ("completed", "approve", holder)
