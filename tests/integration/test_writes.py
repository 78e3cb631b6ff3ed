"""A step's writes sent together (services.db.writes) store exactly what SQLAlchemy's own execution
of the same statement stores, report which guarded write changed no row, and leave nothing behind
when the transaction is rolled back (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.audit import chain as audit
from services.awards.demo import ENTERPRISES, Demo
from services.bootstrap import Services
from services.db import writes
from services.db.models import Application, ProcessInstance, Timer, WorkItem
from services.db.models_mail import OutboxMail
from services.db.writes import Write
from services.errors import Conflict
from services.mail import outbox
from tests.helpers import apply_for, open_item

_WI: Any = WorkItem.__table__
_TIMER: Any = Timer.__table__
INSERT_ITEM = insert(_WI)
CLOSE = update(_WI).where(_WI.c.id == bindparam("p_id"), _WI.c.status == "open").values(
    status="completed", completed_at=bindparam("p_at"), completed_by=bindparam("p_by"))


A = ENTERPRISES[0][1]  # a national little giant of 东湖区 in the demo data


@pytest.fixture
def world(services: Services) -> Services:
    Demo(services, echo=False).load()
    return services


def item_row(instance_id: int, application_id: int, task_id: str, due: datetime) -> dict[str, Any]:
    return {"instance_id": instance_id, "application_id": application_id, "task_id": task_id, "task_spec": "x_check",
            "name": "核查", "role": "district", "status": "open", "created_at": due, "due_at": due,
            "due_provisional": True, "review_unit_code": "donghu", "enterprise_id": None, "overdue": False,
            "escalation_level": 0}


def stored(services: Services, task_ids: list[str]) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (no ORM, no type conversion on the way out)."""
    with services.uow() as uow:
        conn = uow.session.connection()
        rows = conn.exec_driver_sql(
            "SELECT task_id, created_at, due_at, due_provisional, overdue, status FROM work_item "
            "WHERE task_id IN ('" + "','".join(task_ids) + "') ORDER BY task_id").all()
    return [tuple(r) for r in rows]


def test_writes_store_what_sqlalchemy_stores(world: Services) -> None:
    services = world
    app_id = apply_for(services, A, "m2-little-giant-national", 300_000_00)
    item = open_item(services, app_id)
    due = datetime(2024, 6, 14, 16, 0, 0, 123456, tzinfo=UTC)
    with services.uow() as uow:
        uow.session.connection().execute(INSERT_ITEM, [item_row(item.instance_id, app_id, "t-core", due)])
        fast = [Write(INSERT_ITEM, [item_row(item.instance_id, app_id, "t-fast", due)])]
        assert writes.run(uow.session, fast) is None
        uow.commit()
    core, fast = stored(services, ["t-core", "t-fast"])
    assert core[1:] == fast[1:]
    with services.uow() as uow:
        got = uow.session.scalars(select(WorkItem).where(WorkItem.task_id == "t-fast")).one()
        assert (got.due_at, got.due_provisional, got.overdue) == (due, True, False)


def test_a_guarded_write_that_changes_no_row_is_named_and_rolled_back(world: Services) -> None:
    services = world
    app_id = apply_for(services, A, "m2-little-giant-national", 300_000_00)
    item = open_item(services, app_id)
    at = datetime(2024, 6, 4, 2, tzinfo=UTC)
    with services.uow() as uow:
        out = [Write(CLOSE, {"p_id": item.id, "p_at": at, "p_by": "a"}, one=True),
               Write(CLOSE, {"p_id": item.id, "p_at": at, "p_by": "b"}, one=True)]
        assert writes.run(uow.session, out) == 1  # the second found the item no longer open
        uow.session.rollback()
    with services.uow() as uow:
        assert uow.session.get_one(WorkItem, item.id).status == "open"


def test_a_constraint_violation_is_sqlalchemys_integrity_error(world: Services) -> None:
    services = world
    app_id = apply_for(services, A, "m2-little-giant-national", 300_000_00)
    item = open_item(services, app_id)
    due = datetime(2024, 6, 14, 16, tzinfo=UTC)
    with services.uow() as uow, pytest.raises(IntegrityError):  # (instance_id, task_id) is unique
        writes.run(uow.session, [Write(INSERT_ITEM, [item_row(item.instance_id, app_id, item.task_id, due)])])
    with services.uow() as uow:
        assert uow.session.scalars(select(WorkItem.id).where(WorkItem.application_id == app_id)).all() == [item.id]


def test_an_insert_missing_a_defaulted_column_is_refused_before_it_runs(services: Services) -> None:
    row = item_row(1, 1, "t", datetime(2024, 6, 14, tzinfo=UTC))
    del row["overdue"]  # the model's Python-side default would not be applied on this path
    with services.uow() as uow, pytest.raises(ValueError, match="overdue"):
        writes.run(uow.session, [Write(INSERT_ITEM, [row])])


def mails(services: Services, key: str) -> list[str]:
    with services.uow() as uow:
        return list(uow.session.scalars(select(OutboxMail.subject).where(OutboxMail.dedupe_key == key)))


def queue_notice(services: Services, session: Any, key: str) -> None:
    outbox.enqueue(session, to=["a@example.com"], template="application_rejected", now=services.clock.now(),
                   context={"application_id": 1, "enterprise_name": "甲公司", "award_name": "奖励", "reason": "不符",
                            "stage_name": "区县初审"},
                   dedupe_key=key, with_commit=True)


def test_a_write_sent_with_the_commit_is_stored_once_with_the_chain_or_not_at_all(world: Services) -> None:
    services = world
    with services.uow() as uow:  # rolled back: nothing stored
        queue_notice(services, uow.session, "k1")
        audit.append(uow.session, kind="test.event", actor="t", at=services.clock.now(), payload={})
    assert mails(services, "k1") == []
    with services.uow() as uow:  # committed with an audit event: stored, the chain intact
        queue_notice(services, uow.session, "k1")
        audit.append(uow.session, kind="test.event", actor="t", at=services.clock.now(), payload={})
        uow.commit()
    assert len(mails(services, "k1")) == 1
    with services.uow() as uow:  # the same key again: the constraint keeps the one
        queue_notice(services, uow.session, "k1")
        uow.commit()
    assert len(mails(services, "k1")) == 1
    with services.uow() as uow:  # read back in the same transaction: sent first, so seen
        queue_notice(services, uow.session, "k2")
        assert uow.session.scalars(select(OutboxMail.id).where(OutboxMail.dedupe_key == "k2")).all() != []
        uow.commit()
    assert len(mails(services, "k2")) == 1
    with services.uow() as uow:
        assert audit.verify(uow.session).ok


def test_a_step_on_a_state_changed_meanwhile_is_refused_and_leaves_nothing(world: Services) -> None:
    """The state is saved only at the version read; when another process moved it on, the step's other
    writes (already sent with it) are undone before the refusal, even for a caller that commits next."""
    services = world
    app_id = apply_for(services, A, "m2-little-giant-national", 300_000_00)
    item = open_item(services, app_id)
    with services.uow() as uow:
        version = uow.session.get_one(ProcessInstance, item.instance_id).version
    assert services.runtime.cached(item.instance_id) is not None  # the workflow cached at that version
    with services.uow() as uow:  # another process's step moves the row on
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == item.instance_id)
                            .values(version=version + 1))
        uow.commit()
    before = rows_of_case(services, app_id)
    with services.uow() as uow:
        wi = uow.session.get_one(WorkItem, item.id)
        application = uow.session.get_one(Application, app_id)
        with pytest.raises(Conflict, match="同时被他人改动"):
            services.runtime.complete(uow, item=wi, application=application, now=services.clock.now(),
                                      data={"decision": "approve", "reason": None}, actor="district-donghu",
                                      outcome="approve", reason=None, version=version)
        uow.commit()
    assert rows_of_case(services, app_id) == before


def rows_of_case(services: Services, app_id: int) -> dict[str, list[Any]]:
    with services.uow() as uow:
        s = uow.session
        return {"items": [tuple(r) for r in s.execute(select(_WI).where(_WI.c.application_id == app_id))],
                "timers": [tuple(r) for r in s.execute(select(_TIMER))],
                "application": [tuple(r) for r in s.execute(select(Application.__table__).where(
                    Application.id == app_id))]}
