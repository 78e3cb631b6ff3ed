"""The arrears case runtime: runs a step of the arrears route (bpmn/arrears_case.bpmn) inside the
caller's unit of work and keeps the rows that mirror it (instance state, open steps, timers, the
case's status and stage, the audit event) in step. A thin sibling of services.awards.cases.CaseRuntime,
which is bound to award applications.

A case starts its route lazily: registration (a complaint, or a ledger row among 100,000) only
stores the case and a placeholder row for its first step, the acceptance review; the route starts,
as of the registration time, when that step is first decided, and adopts the placeholder. So a
large ledger import writes no workflow state, and the acceptance deadline is the same either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.accounts.users import person_name
from services.arrears.transfer import intake_of
from services.audit import chain as audit
from services.awards.routes import current_route
from services.db.models import ProcessInstance
from services.db.models_arrears import ArrearsCase, ArrearsTask, ArrearsTimer
from services.engine.runtime import SERIALIZER_VERSION, HumanTask, Snapshot, WaitingTimer
from services.errors import Conflict
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["ACTIVE", "FIRST_TASK", "FIRST_TASK_LANE", "OUTCOMES", "PROCESS_ID", "SYSTEM", "ArrearsRuntime"]

PROCESS_ID = "arrears_case"
FIRST_TASK = ("acceptance_review", "受理审查")
FIRST_TASK_LANE = "acceptance"  # the 受理投诉部门's lane (the bureau acts in it by arrangement, or for the ledger)
SYSTEM = "system"
ACTIVE = ("registered", "running")
# Outcome end events of the route -> the case status they leave (the ledger's status column).
OUTCOMES = ("cleared", "refused", "withdrawn", "lapsed", "unfounded", "negotiation", "court")
# The statutory 90-day ceiling of the handling result, on the handling step and on its extension approval.
CEILING_TIMERS = frozenset({"handle_ceiling", "approve_extension_ceiling"})


class ArrearsRuntime:
    """Starts and advances arrears cases; every method works inside the caller's transaction."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.engine = services.engine

    def start(self, uow: UnitOfWork, *, case: ArrearsCase, actor: str, now: datetime,
              data: Mapping[str, Any] | None = None) -> ProcessInstance:
        """Start the route of a registered case, as of its registration time (`data`: more start data)."""
        session = uow.session
        route = current_route(session, self.engine, PROCESS_ID)
        data = {"case_id": case.id, "claimed_fen": case.claimed_fen, "cooperation_level": 0, "resume_at": None,
                "decision": None, "intake": intake_of(case.source), **(data or {})}
        as_of = case.registered_at
        wf, snap = self.engine.start(route, data, as_of)
        state = self.engine.dumps(wf)
        inst = ProcessInstance(definition_hash=route.hash, state=state, serializer_version=SERIALIZER_VERSION,
                               status="running", created_at=now, updated_at=now)
        session.add(inst)
        session.flush()
        case.instance_id = inst.id
        self._mirror(session, case, inst, wf, snap, now)
        audit.append(session, kind="arrears.start", actor=actor, at=now, instance_id=inst.id,
                     payload={"case": case.id, "definition": route.hash, "data": data, "as_of": as_of.isoformat(),
                              "state_sha256": _sha(state)})
        return inst

    def open_tasks(self, inst: ProcessInstance) -> tuple[HumanTask, ...]:
        """The READY human tasks of a started case."""
        return self.engine.snapshot(self.engine.loads(inst.state)).human

    def decisions(self, session: Session, case: ArrearsCase, task: ArrearsTask) -> tuple[str, ...]:
        """The decisions the diagram offers for an open step (read-only; nothing is stored)."""
        if case.instance_id is None:  # not started: what the route's first step offers
            route = current_route(session, self.engine, PROCESS_ID)
            _wf, snap = self.engine.start(route, {"intake": intake_of(case.source)}, case.registered_at)
            human = next((t for t in snap.human if t.spec == task.task_spec), None)
        else:
            human, _data = self.peek(session.get_one(ProcessInstance, case.instance_id), str(task.task_id))
        return human.decisions if human is not None else ()

    def data(self, inst: ProcessInstance) -> dict[str, Any]:
        """The case data as the route has it now."""
        return self.engine.data(self.engine.loads(inst.state))

    def peek(self, inst: ProcessInstance, task_id: str) -> tuple[HumanTask | None, dict[str, Any]]:
        """The READY human task `task_id` (None if it is not open) and the case data, from one load."""
        wf = self.engine.loads(inst.state)
        human = next((t for t in self.engine.snapshot(wf).human if t.task_id == task_id), None)
        return human, self.engine.data(wf)

    def complete(self, uow: UnitOfWork, *, case: ArrearsCase, task: ArrearsTask, data: Mapping[str, Any],
                 actor: str, now: datetime, outcome: str, reason: str | None) -> ProcessInstance:
        """Complete an open step with `data`: one step, one transaction (the caller commits)."""
        session = uow.session
        claimed = session.execute(
            update(ArrearsTask).where(ArrearsTask.id == task.id, ArrearsTask.status == "open")
            .values(status="completed", completed_at=now, completed_by=actor, outcome=outcome, reason=reason)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            session.rollback()
            done = session.get_one(ArrearsTask, task.id)
            who = person_name(session, done.completed_by)
            raise Conflict(f"“{done.name}”已由 {who} 办理（{done.completed_at:%Y-%m-%d %H:%M} UTC），"
                           "本次未作任何更改")
        inst = session.get_one(ProcessInstance, case.instance_id)
        wf = self.engine.loads(inst.state)
        snap = self.engine.complete(wf, str(task.task_id), data, now)
        state = self._save(session, inst, wf, now)
        self._mirror(session, case, inst, wf, snap, now)
        audit.append(session, kind="arrears.complete", actor=actor, at=now, instance_id=inst.id,
                     payload={"case": case.id, "task_id": task.task_id, "task": task.task_spec, "step": task.id,
                              "data": dict(data), "state_sha256": _sha(state)})
        return inst

    def fire_timers(self, uow: UnitOfWork, *, case: ArrearsCase, inst: ProcessInstance,
                    now: datetime) -> list[WaitingTimer]:
        """Fire this case's due timers; returns those that fired (empty: nothing changed)."""
        session = uow.session
        wf = self.engine.loads(inst.state)
        fired, snap = self.engine.fire_due_timers(wf, now)
        if not fired:
            return []
        state = self._save(session, inst, wf, now)
        attached = {t.attached_to for t in fired}
        open_rows = select(ArrearsTask).where(ArrearsTask.instance_id == inst.id, ArrearsTask.status == "open",
                                              ArrearsTask.task_spec.in_(attached))
        for row in session.scalars(open_rows):
            row.overdue = True
            if any(t.spec in CEILING_TIMERS and t.attached_to == row.task_spec for t in fired):
                row.escalation_level = 2
        self._mirror(session, case, inst, wf, snap, now)
        audit.append(session, kind="arrears.timer", actor=SYSTEM, at=now, instance_id=inst.id,
                     payload={"case": case.id, "timers": [t.spec for t in fired], "state_sha256": _sha(state)})
        return fired

    # -- state ----------------------------------------------------------------------------
    def _save(self, session: Session, inst: ProcessInstance, wf: Any, now: datetime) -> bytes:
        state = self.engine.dumps(wf)
        inst.state = state
        inst.updated_at = now
        inst.status = "completed" if wf.is_completed() else "running"
        try:
            session.flush()
        except StaleDataError as exc:
            raise Conflict("案件已被他人同时更改，本次未作任何更改") from exc
        return state

    def _mirror(self, session: Session, case: ArrearsCase, inst: ProcessInstance, wf: Any, snap: Snapshot,
                now: datetime) -> None:
        self._mirror_timers(session, case, inst, snap.timers)
        self._mirror_tasks(session, case, inst, wf, snap, now)
        data = self.engine.data(wf)
        case.cooperation_level = int(data.get("cooperation_level") or 0)
        outcome = self.engine.outcome(wf)
        if outcome is None:
            case.status = "running"
            case.stage = ",".join(sorted({t.spec for t in snap.human})) or "waiting"
            case.stage_name = "、".join(sorted({t.name for t in snap.human})) or "等待中"
        else:
            case.status = outcome[0].removeprefix("end_")
            case.stage, case.stage_name = outcome
            case.closed_at = now
        case.updated_at = now

    def _mirror_timers(self, session: Session, case: ArrearsCase, inst: ProcessInstance,
                       timers: tuple[WaitingTimer, ...]) -> None:
        current = {t.task_id for t in timers}
        stored = session.scalars(select(ArrearsTimer).where(ArrearsTimer.instance_id == inst.id)).all()
        for row in stored:
            if row.task_id not in current:
                session.delete(row)
        known = {row.task_id for row in stored}
        for t in timers:
            if t.task_id not in known:
                session.add(ArrearsTimer(instance_id=inst.id, case_id=case.id, task_id=t.task_id, event_spec=t.spec,
                                         due_at=t.due_at))

    def _mirror_tasks(self, session: Session, case: ArrearsCase, inst: ProcessInstance, wf: Any, snap: Snapshot,
                      now: datetime) -> None:
        ready = {t.task_id: t for t in snap.human}
        open_rows = session.scalars(select(ArrearsTask).where(
            ArrearsTask.case_id == case.id, ArrearsTask.status == "open")).all()
        have: set[str] = set()
        for row in open_rows:
            if row.instance_id is None:  # the placeholder of a registered case: adopt it
                match = next((t for t in snap.human if t.spec == row.task_spec and t.task_id not in have), None)
                if match is not None:
                    row.instance_id, row.task_id = inst.id, match.task_id
            if row.task_id in ready:
                have.add(str(row.task_id))
            else:  # closed by the route itself (an interrupting timer)
                row.status, row.completed_at, row.completed_by, row.outcome = "closed", now, SYSTEM, "timer"
        due: dict[str, datetime] = {}
        for t in snap.timers:
            if t.attached_to and (t.attached_to not in due or t.due_at < due[t.attached_to]):
                due[t.attached_to] = t.due_at
        late = self.engine.timers_passed_on_entry(wf)
        for task in snap.human:
            if task.task_id in have:
                continue
            passed = late.get(task.task_id, [])
            at = min([d for _, d in passed] + ([due[task.spec]] if task.spec in due else []), default=None)
            session.add(ArrearsTask(
                case_id=case.id, instance_id=inst.id, task_id=task.task_id, task_spec=task.spec, name=task.name,
                role=task.lane or "", department_code=case.department_code, status="open", created_at=now,
                due_at=at, due_provisional=bool(at and self.services.deadline_is_provisional(now, at)),
                overdue=bool(passed), escalation_level=2 if any(spec in CEILING_TIMERS for spec, _ in passed) else 0))


def _sha(state: bytes) -> str:
    return hashlib.sha256(state).hexdigest()
