"""A failure after the engine step but before commit leaves nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.audit import chain as audit
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import ProcessInstance
from services.uow import UnitOfWork
from tests.helpers import act, application, apply_for, open_item, snapshot


class Boom(RuntimeError):
    pass


@pytest.fixture
def case(services: Services) -> tuple[Services, int]:
    Demo(services, echo=False).load()
    return services, apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)


def _state(services: Services, app_id: int) -> tuple[int, bytes]:
    with services.uow() as uow:
        inst = uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.id == application(services, app_id).instance_id)).one()
        return inst.version, inst.state


@pytest.mark.parametrize("where", ["audit", "commit"])
def test_failure_before_commit_changes_nothing(case: tuple[Services, int], where: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    services, app_id = case
    before, state_before = snapshot(services), _state(services, app_id)
    item = open_item(services, app_id)
    if where == "audit":  # the engine has stepped and the rows are flushed; the audit append fails
        def failing_append(*args: object, **kwargs: object) -> None:
            raise Boom("injected")
        monkeypatch.setattr(audit, "append", failing_append)
    else:  # everything is written; the commit itself fails
        def failing_commit(self: UnitOfWork) -> None:
            self.session.flush()
            raise Boom("injected")
        monkeypatch.setattr(UnitOfWork, "commit", failing_commit)
    with pytest.raises(Boom):
        act(services, app_id, "district-donghu", "approve")
    monkeypatch.undo()
    assert snapshot(services) == before
    assert _state(services, app_id) == state_before
    still = open_item(services, app_id)
    assert (still.id, still.status, still.task_spec) == (item.id, "open", "district_check")
    # the in-memory workflow the failed step mutated is not reused: the retry takes the normal path
    act(services, app_id, "district-donghu", "approve")
    assert open_item(services, app_id).task_spec == "bureau_review"
    with services.uow() as uow:
        assert audit.verify(uow.session).ok
