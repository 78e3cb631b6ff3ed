"""The engine completes only a user task that is READY in the case, found by its id."""

from __future__ import annotations

import uuid

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import Application
from services.errors import NotFound
from tests.helpers import apply_for


def test_only_a_ready_user_task_of_the_case_is_completed(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    with services.uow() as uow:
        inst_id = uow.session.scalars(select(Application.instance_id).where(Application.id == app_id)).one()
    cached = services.runtime.cached(inst_id)
    assert cached is not None
    wf, engine, now = cached[1], services.engine, services.clock.now()
    (ready,) = engine.snapshot(wf).human
    done = next(t for t in wf.get_tasks(state=TaskState.COMPLETED))
    waiting = next(t for t in wf.get_tasks(state=TaskState.WAITING))  # the stage timer beside the task
    for task_id in (str(done.id), str(waiting.id), str(uuid.uuid4()), "不是编号"):
        with pytest.raises(NotFound, match="已不是待办"):
            engine.complete(wf, task_id, {"decision": "approve"}, now)
    assert engine.snapshot(wf).human == (ready,)  # nothing moved
    snap = engine.complete(wf, ready.task_id, {"decision": "approve", "reason": None}, now)
    assert [t.name for t in snap.human] != [ready.name]
