"""The case runtime: runs a workflow step inside the caller's unit of work and keeps the rows
that mirror it (instance state, work items, timers, application stage, audit event) in step.

Recently used workflows stay in memory, checked against the row version, so a step does not pay
for deserializing the state it wrote itself; a cached workflow is dropped before it is mutated
and put back only after the transaction commits.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.audit import chain as audit
from services.db.models import Application, ProcessInstance, Timer, WorkItem
from services.engine.runtime import SERIALIZER_VERSION, Engine, HumanTask, Route, Snapshot, WaitingTimer, stages_used
from services.errors import Conflict
from services.uow import UnitOfWork

ProvisionalFn = Callable[[datetime, datetime], bool]
SYSTEM = "system"


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
              data: Mapping[str, Any], actor: str, now: datetime) -> ProcessInstance:
        """Start the route for an application (already added to the session)."""
        session = uow.session
        with stages_used() as used:
            wf, snap = self.engine.start(route, data, now)
        state = self.engine.dumps(wf)
        inst = ProcessInstance(definition_hash=route.hash, state=state, serializer_version=SERIALIZER_VERSION,
                               status="running", created_at=now, updated_at=now)
        session.add(inst)
        session.flush()
        application.instance_id = inst.id
        self._mirror(session, inst, application, wf, EMPTY, snap, now)
        audit.append(session, kind="case.start", actor=actor, at=now, instance_id=inst.id,
                     application_id=application.id,
                     payload={"definition": route.hash, "data": dict(data), "state_sha256": _sha(state),
                              **self._limits_used(used)})
        self._remember_after_commit(uow, inst, wf, snap)
        return inst

    def complete(self, uow: UnitOfWork, *, item: WorkItem, application: Application, data: Mapping[str, Any],
                 actor: str, now: datetime, outcome: str, reason: str | None) -> ProcessInstance:
        """Complete a work item with `data`: one step, one transaction."""
        session = uow.session
        inst = session.get_one(ProcessInstance, item.instance_id)
        claimed = session.query(WorkItem).filter(WorkItem.id == item.id, WorkItem.status == "open").update(
            {"status": "completed", "completed_at": now, "completed_by": actor, "outcome": outcome,
             "reason": reason}, synchronize_session=False)
        if claimed != 1:
            session.rollback()
            done = session.get_one(WorkItem, item.id)
            raise Conflict(f"待办 #{item.id} 已由 {done.completed_by} 办理，本次未作任何更改")
        wf, before = self._checkout(inst)
        with stages_used() as used:
            snap = self.engine.complete(wf, item.task_id, data, now)
        state = self._save(session, inst, wf, now)
        self._mirror(session, inst, application, wf, before, snap, now)
        audit.append(session, kind="task.complete", actor=actor, at=now, instance_id=inst.id,
                     application_id=application.id,
                     payload={"task_id": item.task_id, "task": item.task_spec, "work_item": item.id,
                              "data": dict(data), "state_sha256": _sha(state), **self._limits_used(used)})
        self._remember_after_commit(uow, inst, wf, snap)
        return inst

    def fire_timers(self, uow: UnitOfWork, *, inst: ProcessInstance, application: Application,
                    now: datetime) -> list[WaitingTimer]:
        """Fire this instance's due timers; returns those that fired (empty: nothing changed)."""
        session = uow.session
        wf, before = self._checkout(inst)
        with stages_used() as used:
            fired, snap = self.engine.fire_due_timers(wf, now)
        if not fired:
            self._remember_after_commit(uow, inst, wf, snap)
            return []
        state = self._save(session, inst, wf, now)
        overdue = {t.attached_to for t in fired}
        session.query(WorkItem).filter(WorkItem.instance_id == inst.id, WorkItem.status == "open",
                                       WorkItem.task_spec.in_(overdue)).update(
            {"overdue": True}, synchronize_session=False)
        self._mirror(session, inst, application, wf, before, snap, now)
        audit.append(session, kind="timer.fire", actor=SYSTEM, at=now, instance_id=inst.id,
                     application_id=application.id,
                     payload={"timers": [t.spec for t in fired], "state_sha256": _sha(state),
                              **self._limits_used(used)})
        self._remember_after_commit(uow, inst, wf, snap)
        return fired

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
    def _peek(self, inst: ProcessInstance) -> tuple[Any, Snapshot]:
        hit = self._cache.get(inst.id)
        if hit is not None and hit[0] == inst.version:
            return hit[1], hit[2]
        wf = self.engine.loads(inst.state)
        snap = self.engine.snapshot(wf)
        self._put(inst.id, inst.version, wf, snap)
        return wf, snap

    def _checkout(self, inst: ProcessInstance) -> tuple[Any, Snapshot]:
        """The workflow at the row's version and what it waits on, removed from the cache (it is about
        to change)."""
        hit = self._cache.pop(inst.id, None)
        if hit is not None and hit[0] == inst.version:
            return hit[1], hit[2]
        wf = self.engine.loads(inst.state)
        return wf, self.engine.snapshot(wf)

    def _save(self, session: Session, inst: ProcessInstance, wf: Any, now: datetime) -> bytes:
        state = self.engine.dumps(wf)
        inst.state = state
        inst.updated_at = now
        inst.status = "completed" if wf.is_completed() else "running"
        try:
            session.flush()
        except StaleDataError as exc:
            raise Conflict("案件同时被他人改动，本次未作任何更改") from exc
        return state

    def _put(self, instance_id: int, version: int, wf: Any, snap: Snapshot) -> None:
        self._cache[instance_id] = (version, wf, snap)
        self._cache.move_to_end(instance_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _remember_after_commit(self, uow: UnitOfWork, inst: ProcessInstance, wf: Any, snap: Snapshot) -> None:
        uow.after_commit(lambda: self._put(inst.id, inst.version, wf, snap))

    def forget(self) -> None:
        """Drop every cached workflow (tests, and after a restore)."""
        self._cache.clear()

    # -- mirror rows ------------------------------------------------------------------------
    # The rows mirror the snapshot committed with the previous step, so a step only writes the
    # difference between the snapshot before and after it: no reads.
    def _mirror(self, session: Session, inst: ProcessInstance, application: Application, wf: Any,
                before: Snapshot, after: Snapshot, now: datetime) -> None:
        self._mirror_timers(session, inst, before.timers, after.timers)
        self._mirror_items(session, inst, application, before.human, after, now)
        outcome = self.engine.outcome(wf) if not after.human and not after.timers else None
        if outcome is None:
            application.status = "running"
            application.stage = ",".join(sorted({t.spec for t in after.human})) or "waiting"
            application.stage_name = "、".join(sorted({t.name for t in after.human})) or "等待中"
        else:
            application.status = outcome[0].removeprefix("end_").split("_")[0]
            application.stage, application.stage_name = outcome
        application.updated_at = now

    def _mirror_timers(self, session: Session, inst: ProcessInstance, before: tuple[WaitingTimer, ...],
                       after: tuple[WaitingTimer, ...]) -> None:
        now_ids = {t.task_id for t in after}
        gone = [t.task_id for t in before if t.task_id not in now_ids]
        if gone:
            session.execute(delete(Timer).where(Timer.instance_id == inst.id, Timer.task_id.in_(gone)))
        had = {t.task_id for t in before}
        new = [{"instance_id": inst.id, "task_id": t.task_id, "event_spec": t.spec, "due_at": t.due_at}
               for t in after if t.task_id not in had]
        if new:
            session.execute(insert(Timer), new)

    def _mirror_items(self, session: Session, inst: ProcessInstance, application: Application,
                      before: tuple[HumanTask, ...], after: Snapshot, now: datetime) -> None:
        ready = {t.task_id for t in after.human}
        gone = [t.task_id for t in before if t.task_id not in ready]
        if gone:  # closed by the route itself (e.g. the public notice period is over); completed ones are not open
            session.execute(update(WorkItem).where(
                WorkItem.instance_id == inst.id, WorkItem.task_id.in_(gone), WorkItem.status == "open").values(
                status="closed", completed_at=now, completed_by=SYSTEM, outcome="timer"))
        had = {t.task_id for t in before}
        due_by_task = {t.attached_to: t.due_at for t in after.timers if t.attached_to}
        new = []
        for task in after.human:
            if task.task_id in had:
                continue
            due = due_by_task.get(task.spec)
            new.append({
                "instance_id": inst.id, "application_id": application.id, "task_id": task.task_id,
                "task_spec": task.spec, "name": task.name, "role": task.lane or "", "status": "open",
                "created_at": now, "due_at": due, "due_provisional": bool(due and self._provisional(now, due)),
                "review_unit_code": application.review_unit_code if task.lane == "district" else None,
                "enterprise_id": application.enterprise_id if task.lane == "applicant" else None,
                "overdue": False, "escalation_level": 0,
            })
        if new:
            session.execute(insert(WorkItem), new)


EMPTY = Snapshot((), ())


def _sha(state: bytes) -> str:
    return hashlib.sha256(state).hexdigest()
