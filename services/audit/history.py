"""A case's history as the auditor reads it: a read model over the audit chain.

Built only from what was recorded: the case's audit events (the commands that moved it: start with
data, complete a task with data, fire a timer, plus payouts and escalations), the work items that
name each task, and the diagram the instance ran on (by its definition hash). For every step it
gives who, when, which task, the decision and reason, the data that step recorded, what changed
against the data known before it, and the diagram nodes it passed. Replay (re-executing the events
on the recorded diagram) builds on `case_events` and `definition_of`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts import access
from services.audit import chain as audit
from services.audit.kinds import kind_label
from services.db.models import (
    Application,
    AuditEvent,
    AwardType,
    Enterprise,
    ProcessDefinition,
    ProcessInstance,
    ReviewUnit,
    User,
    WorkItem,
)
from services.engine.diagram_labels import DiagramNodes, diagram_nodes
from services.engine.names import process_name
from services.errors import NotFound

READERS = ("auditor", "manager", "admin")
EXPORT_FORMAT = "smeflow.case-history/1"
SYSTEM_NAMES = {"system": "系统（计时器与督办）"}


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Step:
    """One recorded event of the case, read for people."""

    seq: int
    at: datetime
    actor: str
    actor_name: str
    kind: str
    kind_label: str
    task: str | None
    task_name: str | None
    decision: str | None
    reason: str | None
    recorded: dict[str, Any]  # the data this event recorded (start data, task data)
    changes: tuple[Change, ...]  # recorded data that differs from the data known before the step
    data: dict[str, Any]  # the case data as known after the step
    nodes: tuple[str, ...]  # diagram element ids this step passed
    payload: dict[str, Any]  # the event as stored (for replay and export)
    hash: str
    prev_hash: str
    intact: bool  # the event's content still matches its own hash


@dataclass(frozen=True)
class CaseHistory:
    application_id: int
    enterprise: str
    award_type: str
    award_name: str
    review_unit: str
    status: str
    stage: str
    stage_name: str
    created_at: datetime
    instance_id: int | None
    definition_hash: str | None
    process_id: str | None
    steps: tuple[Step, ...]
    taken: tuple[str, ...]  # nodes on the path, in the order of the recorded events, repeats kept
    current: tuple[str, ...]  # nodes the case waits on now
    labels: dict[str, str] = field(default_factory=dict)
    process_name: str = ""

    @property
    def intact(self) -> bool:
        return all(step.intact for step in self.steps)

    @property
    def current_counts(self) -> dict[str, int]:
        """The node the case waits on, as the diagram's "cases here" count (1)."""
        return dict.fromkeys(self.current, 1)

    @property
    def path(self) -> list[str]:
        """The path as labels, for readers without the drawn diagram."""
        return [self.labels.get(node, node) for node in self.taken]


def require_reader(user: User) -> None:
    """Forbidden unless the user may read audit histories (auditor, manager, admin)."""
    access.require_role(user, *READERS)


def case_events(session: Session, application: Application) -> list[AuditEvent]:
    """The application's audit events in chain order (what moved the case, as recorded)."""
    condition = AuditEvent.application_id == application.id
    if application.instance_id is not None:
        condition = condition | (AuditEvent.instance_id == application.instance_id)
    return list(session.scalars(select(AuditEvent).where(condition).order_by(AuditEvent.seq)))


def definition_of(session: Session, application: Application) -> ProcessDefinition | None:
    """The stored diagram the case's instance started with (by its definition hash)."""
    if application.instance_id is None:
        return None
    inst = session.get(ProcessInstance, application.instance_id)
    return session.get(ProcessDefinition, inst.definition_hash) if inst is not None else None


def definition_xml(session: Session, *, user: User, application_id: int) -> bytes:
    """The BPMN XML of the diagram the case ran on."""
    require_reader(user)
    definition = definition_of(session, access.visible_application(session, user, application_id))
    if definition is None:
        raise NotFound(f"案件 #{application_id} 没有流程版本记录")
    return definition.bpmn_xml


def case_history(session: Session, *, user: User, application_id: int) -> CaseHistory:
    """The case's full history, step by step, with the path it took on its own diagram version."""
    require_reader(user)
    app = access.visible_application(session, user, application_id)
    definition = definition_of(session, app)
    nodes = diagram_nodes(definition.bpmn_xml) if definition is not None else DiagramNodes()
    items = {w.id: w for w in session.scalars(select(WorkItem).where(WorkItem.application_id == app.id))}
    events = case_events(session, app)
    names = _actor_names(session, {ev.actor for ev in events})
    steps = _steps(events, items, names, nodes)
    taken = _taken(steps, items, app, nodes)
    current = tuple(w.task_spec for w in sorted(items.values(), key=lambda w: w.id) if w.status == "open")
    ent = session.get_one(Enterprise, app.enterprise_id)
    award = session.get_one(AwardType, app.award_type_code)
    unit = session.get_one(ReviewUnit, app.review_unit_code)
    return CaseHistory(app.id, ent.name, award.code, award.name_zh, unit.name_zh, app.status, app.stage,
                       app.stage_name, app.created_at, app.instance_id, definition.hash if definition else None,
                       definition.process_id if definition else None, tuple(steps), taken, current, nodes.labels,
                       process_name=process_name(definition.bpmn_xml, definition.process_id) if definition else "")


def _actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(actors)))
    return {**SYSTEM_NAMES, **{u: d for u, d in rows}}


def _payload(event: AuditEvent) -> dict[str, Any]:
    try:
        value = orjson.loads(event.payload)
    except orjson.JSONDecodeError:
        return {"unreadable": event.payload}
    return value if isinstance(value, dict) else {"value": value}


def _intact(ev: AuditEvent) -> bool:
    return audit.event_hash(ev.prev_hash, seq=ev.seq, at=ev.at, actor=ev.actor, kind=ev.kind,
                            instance_id=ev.instance_id, application_id=ev.application_id,
                            payload=ev.payload) == ev.hash


def _steps(events: list[AuditEvent], items: dict[int, WorkItem], names: dict[str, str],
           nodes: DiagramNodes) -> list[Step]:
    known: dict[str, Any] = {}
    steps: list[Step] = []
    for ev in events:
        payload = _payload(ev)
        data = payload.get("data")
        recorded: dict[str, Any] = data if isinstance(data, dict) else {}
        changes = tuple(Change(k, known.get(k), v) for k, v in recorded.items() if known.get(k) != v)
        known = {**known, **recorded}
        task, task_name, touched = _what(ev.kind, payload, items, nodes)
        decision = recorded.get("decision") if ev.kind == "task.complete" else None
        reason = recorded.get("reason") if ev.kind == "task.complete" else None
        steps.append(Step(ev.seq, ev.at, ev.actor, names.get(ev.actor, ev.actor), ev.kind,
                          kind_label(ev.kind), task, task_name, decision, reason, recorded, changes,
                          dict(known), touched, payload, ev.hash, ev.prev_hash, _intact(ev)))
    return steps


def _what(kind: str, payload: dict[str, Any], items: dict[int, WorkItem],
          nodes: DiagramNodes) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(task id, its label, diagram nodes passed) for one event."""
    if kind == "case.start":
        return None, None, nodes.starts
    if kind == "timer.fire":
        fired = tuple(str(t) for t in payload.get("timers", []))
        return None, "、".join(nodes.labels.get(t, t) for t in fired) or None, fired
    task = payload.get("task")
    if not isinstance(task, str):
        return None, None, ()
    item_id = payload.get("work_item")
    item = items.get(item_id) if isinstance(item_id, int) else None
    name = item.name if item is not None else nodes.labels.get(task, task)
    return task, name, (task,) if kind == "task.complete" else ()


def _taken(steps: list[Step], items: dict[int, WorkItem], app: Application, nodes: DiagramNodes) -> tuple[str, ...]:
    """The nodes the case passed, in the order the recorded events passed them, repeats kept (a task
    done twice after a return for correction appears twice)."""
    # tasks ended by the route itself (the public notice closed when its period ran out): they
    # belong on the path just before the timer event that closed them
    closed_at: dict[datetime, list[str]] = {}
    for item in sorted(items.values(), key=lambda w: w.id):
        if item.status == "closed" and item.completed_at is not None:
            closed_at.setdefault(item.completed_at, []).append(item.task_spec)
    path: list[str] = []
    for step in steps:
        if step.kind == "timer.fire":
            path.extend(closed_at.pop(step.at, []))
        path.extend(step.nodes)
    for specs in closed_at.values():  # closed at no recorded timer (should not happen): still shown
        path.extend(specs)
    if app.status != "running" and app.stage in nodes.labels and (not path or path[-1] != app.stage):
        path.append(app.stage)
    return tuple(path)


def as_dict(history: CaseHistory, chain: audit.ChainReport | None = None) -> dict[str, Any]:
    """The history as plain JSON-ready data (the export format EXPORT_FORMAT)."""
    steps = [{
        "seq": s.seq, "at": s.at.isoformat(), "actor": s.actor, "actor_name": s.actor_name, "kind": s.kind,
        "task": s.task, "task_name": s.task_name, "decision": s.decision, "reason": s.reason,
        "recorded": s.recorded, "changes": [{"field": c.field, "before": c.before, "after": c.after}
                                            for c in s.changes],
        "data": s.data, "nodes": list(s.nodes), "payload": s.payload, "hash": s.hash, "prev_hash": s.prev_hash,
        "intact": s.intact,
    } for s in history.steps]
    out: dict[str, Any] = {
        "format": EXPORT_FORMAT, "application_id": history.application_id, "enterprise": history.enterprise,
        "award_type": history.award_type, "award_name": history.award_name, "review_unit": history.review_unit,
        "status": history.status, "stage": history.stage, "stage_name": history.stage_name,
        "created_at": history.created_at.isoformat(), "instance_id": history.instance_id,
        "definition_hash": history.definition_hash, "process_id": history.process_id,
        "taken": list(history.taken), "current": list(history.current), "intact": history.intact, "steps": steps,
    }
    if chain is not None:
        out["chain"] = {"ok": chain.ok, "checked": chain.checked, "broken_at": chain.broken_at,
                        "reason": chain.reason}
    return out
