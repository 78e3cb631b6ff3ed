"""The case runtime: runs a workflow step inside the caller's unit of work and keeps the rows
that mirror it (instance state, work items, timers, application stage, audit event) in step.

Recently used workflows stay in memory, checked against the row version, so a step does not pay
for deserializing the state it wrote itself; a cached workflow is dropped before it is mutated
and put back only after the transaction commits.

The writes are SQLAlchemy Core statements, each one that changes something: the work item
completed only while still open, the state saved only at the version read (optimistic lock), the
mirror rows changed by the difference between the snapshots before and after the step, the
application's stage in one UPDATE. An ORM object of a row written here that the session holds
gets the written values, so ORM code later in the same transaction sees them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, case, delete, insert, null, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from services.accounts.users import person_name
from services.audit import chain as audit
from services.db import writes as batch
from services.db.models import Application, ProcessInstance, Timer, WorkItem
from services.db.writes import Write
from services.engine.runtime import SERIALIZER_VERSION, Engine, HumanTask, Route, Snapshot, WaitingTimer, stages_used
from services.errors import Conflict
from services.uow import UnitOfWork

ProvisionalFn = Callable[[datetime, datetime], bool]
SYSTEM = "system"
_PI: Table = ProcessInstance.__table__  # type: ignore[assignment]
_WI: Table = WorkItem.__table__  # type: ignore[assignment]
_APP: Table = Application.__table__  # type: ignore[assignment]
_TIMER: Table = Timer.__table__  # type: ignore[assignment]

# The statements of a step, built once: SQLAlchemy then serves their compiled form from its cache
# and only the parameters change (building a statement costs more than compiling it from cache).
_COMPLETE_ITEM = update(_WI).where(_WI.c.id == bindparam("p_item"), _WI.c.status == "open").values(
    status="completed", completed_at=bindparam("p_now"), completed_by=bindparam("p_actor"),
    outcome=bindparam("p_outcome"), reason=bindparam("p_reason"))
_ITEM_DONE = select(_WI.c.completed_by).where(_WI.c.id == bindparam("p_item"))
_READ_STATE = select(_PI.c.version, case((_PI.c.version == bindparam("p_cached"), null()), else_=_PI.c.state)).where(
    _PI.c.id == bindparam("p_id"))
_READ_VERSION_STATE = select(_PI.c.version, _PI.c.state).where(_PI.c.id == bindparam("p_id"))
_SAVE = update(_PI).where(_PI.c.id == bindparam("p_id"), _PI.c.version == bindparam("p_version")).values(
    state=bindparam("p_state"), version=bindparam("p_new_version"), updated_at=bindparam("p_now"),
    status=bindparam("p_status"))
_INSERT_INSTANCE = insert(_PI).returning(_PI.c.id)
_TIMER_GONE = delete(_TIMER).where(_TIMER.c.instance_id == bindparam("p_id"), _TIMER.c.task_id == bindparam("p_task"))
_INSERT_TIMERS = insert(_TIMER)
_INSERT_ITEMS = insert(_WI)
_OPEN_ITEM = (_WI.c.instance_id == bindparam("p_id"), _WI.c.task_id == bindparam("p_task"), _WI.c.status == "open")
_CLOSED = {"status": "closed", "completed_at": bindparam("p_now"), "completed_by": SYSTEM, "outcome": "timer"}
_CLOSE_ITEM = {late: update(_WI).where(*_OPEN_ITEM).values({**_CLOSED, **({"overdue": True} if late else {})})
                for late in (True, False)}
_MARK_OVERDUE = update(_WI).where(*_OPEN_ITEM).values(overdue=True)
_APP_UPDATES: dict[tuple[str, ...], Any] = {}


def _app_update(names: tuple[str, ...]) -> Any:
    """UPDATE application SET <names> (one statement per set of columns, built once)."""
    statement = _APP_UPDATES.get(names)
    if statement is None:
        statement = _APP_UPDATES[names] = update(_APP).where(_APP.c.id == bindparam("p_id")).values(
            {name: bindparam(f"p_{name}") for name in names})
    return statement


class ItemRef(Protocol):
    """The work item a step completes (an ORM WorkItem or a row read by the caller)."""

    @property
    def id(self) -> int: ...
    @property
    def instance_id(self) -> int: ...
    @property
    def task_id(self) -> str: ...
    @property
    def task_spec(self) -> str: ...


class AppRef(Protocol):
    """The application of a case (an ORM Application or a row read by the caller)."""

    @property
    def id(self) -> int: ...
    @property
    def enterprise_id(self) -> int: ...
    @property
    def review_unit_code(self) -> str: ...


@dataclass
class Step:
    """What a step changed: the application's new values and the work items it opened, in id order."""

    instance_id: int
    version: int
    after: Snapshot
    application: dict[str, Any]
    opened: list[dict[str, Any]] = field(default_factory=list)
    left_open: int = 0  # work items open before the step that are still open
    marked_overdue: bool = False  # a timer marked a still-open work item overdue


class CaseRuntime:
    """Starts and advances cases; every method works inside the caller's transaction."""

    def __init__(self, engine: Engine, *, provisional: ProvisionalFn,
                 limits: Callable[[], Mapping[str, int]] | None = None, cache_size: int = 2048) -> None:
        self.engine = engine
        self._provisional = provisional
        self._limits = limits  # the stage time limits in force (recorded with each step that used them)
        self._cache: OrderedDict[int, tuple[int, Any, Snapshot]] = OrderedDict()
        self._cache_size = cache_size

    # -- commands -------------------------------------------------------------------------
    def start(self, uow: UnitOfWork, *, route: Route, application: Application,
              data: Mapping[str, Any], actor: str, now: datetime) -> int:
        """Start the route for an application (already flushed); returns the instance id."""
        session = uow.session
        with stages_used() as used:
            wf, snap = self.engine.start(route, data, now)
        state = self.engine.dumps(wf)
        status = "completed" if wf.is_completed() else "running"
        inst_id = session.connection().execute(_INSERT_INSTANCE, {
            "definition_hash": route.hash, "state": state, "serializer_version": SERIALIZER_VERSION, "version": 1,
            "status": status, "created_at": now, "updated_at": now}).scalar_one()
        step = Step(inst_id, 1, snap, {"instance_id": inst_id})
        out: list[Write] = []
        self._mirror(out, step, application, wf, EMPTY, now)
        self._write_application(out, application.id, step.application)
        batch.run(session, out)
        _sync(session, Application, application.id, step.application)
        audit.append(session, kind="case.start", actor=actor, at=now, instance_id=inst_id,
                     application_id=application.id,
                     payload={"definition": route.hash, "data": dict(data), "state_sha256": _sha(state),
                              **self._limits_used(used)})
        self._remember_after_commit(uow, inst_id, 1, wf, snap)
        return inst_id

    def complete(self, uow: UnitOfWork, *, item: ItemRef, application: AppRef, data: Mapping[str, Any],
                 actor: str, now: datetime, outcome: str, reason: str | None, version: int | None = None,
                 application_values: Mapping[str, Any] | None = None) -> Step:
        """Complete a work item with `data`: one step, one transaction. `version` is the instance's
        row version when the caller read it; `application_values` go into the application's UPDATE."""
        session = uow.session
        if session.new or session.dirty or session.deleted:
            session.flush()  # the caller's ORM changes first, as before the Core statements below
        wf, before, version = self._checkout(session, item.instance_id, version)
        with stages_used() as used:
            snap = self.engine.complete(wf, item.task_id, data, now)
        # The work item is completed only while still open and the state saved only at the version
        # read: both checked with the other writes of the step, which are all undone (the caller's
        # transaction is rolled back) when either changed no row.
        done = {"status": "completed", "completed_at": now, "completed_by": actor, "outcome": outcome,
                "reason": reason}
        out = [Write(_COMPLETE_ITEM, {"p_item": item.id, "p_now": now, "p_actor": actor, "p_outcome": outcome,
                                      "p_reason": reason}, one=True)]
        state, saved = self._save(out, item.instance_id, version, wf, now)
        step = Step(item.instance_id, version + 1, snap, dict(application_values or {}))
        self._mirror(out, step, application, wf, before, now, completed=item.task_id)
        self._write_application(out, application.id, step.application)
        failed = batch.run(session, out)
        if failed == 0:
            session.rollback()
            row = session.execute(_ITEM_DONE, {"p_item": item.id}).one()
            raise Conflict(f"待办 #{item.id} 已由 {person_name(session, row.completed_by)} 办理，本次未作任何更改")
        if failed is not None:
            session.rollback()  # the other writes of the batch ran: undone here, whatever the caller does next
            raise Conflict("案件同时被他人改动，本次未作任何更改")
        _sync(session, WorkItem, item.id, done)
        _sync(session, ProcessInstance, item.instance_id, saved)
        _sync(session, Application, application.id, step.application)
        audit.append(session, kind="task.complete", actor=actor, at=now, instance_id=item.instance_id,
                     application_id=application.id,
                     payload={"task_id": item.task_id, "task": item.task_spec, "work_item": item.id,
                              "data": dict(data), "state_sha256": _sha(state), **self._limits_used(used)})
        self._remember_after_commit(uow, item.instance_id, version + 1, wf, snap)
        return step

    def fire_timers(self, uow: UnitOfWork, *, instance_id: int, version: int, state: bytes | None,
                    application: AppRef, now: datetime) -> tuple[list[WaitingTimer], Step | None]:
        """Fire this instance's due timers; returns those that fired (empty: nothing changed) and the step.
        `state` is the stored state if the caller read it (None: the cached workflow is at `version`)."""
        session = uow.session
        wf, before, version = self._checkout(session, instance_id, version, state)
        with stages_used() as used:
            fired, snap = self.engine.fire_due_timers(wf, now)
        if not fired:
            self._remember_after_commit(uow, instance_id, version, wf, snap)
            return [], None
        out: list[Write] = []
        state, saved = self._save(out, instance_id, version, wf, now)
        step = Step(instance_id, version + 1, snap, {"updated_at": now})
        self._mirror(out, step, application, wf, before, now, overdue={t.attached_to for t in fired})
        self._write_application(out, application.id, step.application)
        if batch.run(session, out) is not None:
            session.rollback()  # the other writes of the batch ran: undone here, whatever the caller does next
            raise Conflict("案件同时被他人改动，本次未作任何更改")
        _sync(session, ProcessInstance, instance_id, saved)
        _sync(session, Application, application.id, step.application)
        audit.append(session, kind="timer.fire", actor=SYSTEM, at=now, instance_id=instance_id,
                     application_id=application.id,
                     payload={"timers": [t.spec for t in fired], "state_sha256": _sha(state),
                              **self._limits_used(used)})
        self._remember_after_commit(uow, instance_id, version + 1, wf, snap)
        return fired, step

    def _limits_used(self, used: list[str]) -> dict[str, Any]:
        """`{"stage_limits": {stage: working days}}` for the stages whose deadline this step counted."""
        if not used or self._limits is None:
            return {}
        limits = self._limits()
        return {"stage_limits": {stage: limits[stage] for stage in used if stage in limits}}

    def open_tasks(self, inst: ProcessInstance) -> tuple[HumanTask, ...]:
        """The READY human tasks of an instance (read-only use; the cached workflow stays cached)."""
        return self._peek(inst)[1].human

    def case_data(self, inst: ProcessInstance) -> dict[str, Any]:
        return self.engine.data(self._peek(inst)[0])

    # -- state ----------------------------------------------------------------------------
    def cached(self, instance_id: int) -> tuple[int, Any, Snapshot] | None:
        """(version, workflow, snapshot) of a cached instance, for read-only use; None if not cached."""
        return self._cache.get(instance_id)

    def peek(self, session: Session, instance_id: int, version: int) -> tuple[Any, Snapshot]:
        """The workflow at `version` and what it waits on, for read-only use (kept cached)."""
        hit = self._cache.get(instance_id)
        if hit is not None and hit[0] == version:
            return hit[1], hit[2]
        row = session.connection().execute(_READ_VERSION_STATE, {"p_id": instance_id}).one()
        wf = self.engine.loads(row.state)
        snap = self.engine.snapshot(wf)
        if row.version == version:
            self._put(instance_id, version, wf, snap)
        return wf, snap

    def _peek(self, inst: ProcessInstance) -> tuple[Any, Snapshot]:
        hit = self._cache.get(inst.id)
        if hit is not None and hit[0] == inst.version:
            return hit[1], hit[2]
        wf = self.engine.loads(inst.state)
        snap = self.engine.snapshot(wf)
        self._put(inst.id, inst.version, wf, snap)
        return wf, snap

    def _checkout(self, session: Session, instance_id: int, version: int | None,
                  state: bytes | None = None) -> tuple[Any, Snapshot, int]:
        """The workflow at the row's version (read here when `version` is None), what it waits on, and
        the version; removed from the cache (it is about to change). The state is read only when the
        cache does not hold that version."""
        hit = self._cache.pop(instance_id, None)
        if version is None or (state is None and (hit is None or hit[0] != version)):
            cached_version = hit[0] if hit is not None else -1
            row = session.connection().execute(_READ_STATE, {"p_id": instance_id, "p_cached": cached_version}).one()
            version, state = row[0], row[1]
        if hit is not None and hit[0] == version and state is None:
            return hit[1], hit[2], version
        assert state is not None
        wf = self.engine.loads(state)
        return wf, self.engine.snapshot(wf), version

    def _save(self, out: list[Write], instance_id: int, version: int, wf: Any,
              now: datetime) -> tuple[bytes, dict[str, Any]]:
        """Queue the state's save at the version read (it must change one row); the state and the
        values written."""
        state = self.engine.dumps(wf)
        values = {"state": state, "version": version + 1, "updated_at": now,
                  "status": "completed" if wf.is_completed() else "running"}
        out.append(Write(_SAVE, {"p_id": instance_id, "p_version": version, "p_state": state,
                                 "p_new_version": version + 1, "p_now": now, "p_status": values["status"]}, one=True))
        return state, values

    def _put(self, instance_id: int, version: int, wf: Any, snap: Snapshot) -> None:
        self._cache[instance_id] = (version, wf, snap)
        self._cache.move_to_end(instance_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _remember_after_commit(self, uow: UnitOfWork, instance_id: int, version: int, wf: Any,
                               snap: Snapshot) -> None:
        uow.after_commit(lambda: self._put(instance_id, version, wf, snap))

    def forget(self) -> None:
        """Drop every cached workflow (tests, and after a restore)."""
        self._cache.clear()

    @staticmethod
    def _write_application(out: list[Write], application_id: int, values: Mapping[str, Any]) -> None:
        names = tuple(sorted(values))
        out.append(Write(_app_update(names), {"p_id": application_id, **{f"p_{n}": values[n] for n in names}}))

    # -- mirror rows ------------------------------------------------------------------------
    # The rows mirror the snapshot committed with the previous step, so a step only writes the
    # difference between the snapshot before and after it: no reads.
    def _mirror(self, out: list[Write], step: Step, application: AppRef, wf: Any, before: Snapshot,
                now: datetime, *, completed: str | None = None, overdue: set[str | None] | None = None) -> None:
        after = step.after
        self._mirror_timers(out, step.instance_id, before.timers, after.timers)
        self._mirror_items(out, step, application, before.human, now, completed, overdue or set())
        outcome = self.engine.outcome(wf) if not after.human and not after.timers else None
        if outcome is None:
            stage = {"status": "running", "stage": ",".join(sorted({t.spec for t in after.human})) or "waiting",
                     "stage_name": "、".join(sorted({t.name for t in after.human})) or "等待中"}
        else:
            stage = {"status": outcome[0].removeprefix("end_").split("_")[0], "stage": outcome[0],
                     "stage_name": outcome[1]}
        step.application.update(stage, updated_at=now)

    @staticmethod
    def _mirror_timers(out: list[Write], instance_id: int, before: tuple[WaitingTimer, ...],
                       after: tuple[WaitingTimer, ...]) -> None:
        now_ids = {t.task_id for t in after}
        gone = [{"p_id": instance_id, "p_task": t.task_id} for t in before if t.task_id not in now_ids]
        if gone:
            out.append(Write(_TIMER_GONE, gone))
        had = {t.task_id for t in before}
        new = [{"instance_id": instance_id, "task_id": t.task_id, "event_spec": t.spec, "due_at": t.due_at}
               for t in after if t.task_id not in had]
        if new:
            out.append(Write(_INSERT_TIMERS, new))

    def _mirror_items(self, out: list[Write], step: Step, application: AppRef, before: tuple[HumanTask, ...],
                      now: datetime, completed: str | None, overdue: set[str | None]) -> None:
        ready = {t.task_id for t in step.after.human}
        # the completed item is already closed; the others that are no longer ready were closed by the
        # route itself (e.g. the public notice period is over), and those a timer fired on are overdue
        gone = [t for t in before if t.task_id not in ready and t.task_id != completed]
        for late in (True, False):
            rows = [{"p_id": step.instance_id, "p_task": t.task_id, "p_now": now}
                    for t in gone if (t.spec in overdue) is late]
            if rows:
                out.append(Write(_CLOSE_ITEM[late], rows))
        still = [t for t in before if t.task_id in ready]
        step.left_open = len(still)
        late_open = [{"p_id": step.instance_id, "p_task": t.task_id} for t in still if t.spec in overdue]
        if late_open:
            out.append(Write(_MARK_OVERDUE, late_open))
            step.marked_overdue = True
        had = {t.task_id for t in before}
        due_by_task = {t.attached_to: t.due_at for t in step.after.timers if t.attached_to}
        for task in step.after.human:
            if task.task_id in had:
                continue
            due = due_by_task.get(task.spec)
            step.opened.append({
                "instance_id": step.instance_id, "application_id": application.id, "task_id": task.task_id,
                "task_spec": task.spec, "name": task.name, "role": task.lane or "", "status": "open",
                "created_at": now, "due_at": due, "due_provisional": bool(due and self._provisional(now, due)),
                "review_unit_code": application.review_unit_code if task.lane == "district" else None,
                "enterprise_id": application.enterprise_id if task.lane == "applicant" else None,
                "overdue": False, "escalation_level": 0,
            })
        if step.opened:
            out.append(Write(_INSERT_ITEMS, step.opened))


def _sync(session: Session, model: type[Any], ident: int, values: Mapping[str, Any]) -> None:
    """Give an ORM object of a row written with Core the written values (as loaded, not as changes)."""
    obj = session.identity_map.get(identity_key(model, ident))
    if obj is not None:
        for name, value in values.items():
            set_committed_value(obj, name, value)


EMPTY = Snapshot((), ())


def _sha(state: bytes) -> str:
    return hashlib.sha256(state).hexdigest()
