"""Record-side checks of replay: each event against its hash and its chain link, the mirror rows
(work items, timers, application stage) against the replayed state, and the stored final state.

Each check returns `Difference`s; replay (services/audit/replay.py) decides the step they belong to.
Their messages name steps, tasks and events by their Chinese labels (`Ref`: the id beside it on pages).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from services.audit.kinds import kind_label
from services.audit.replay_record import CaseRecord, EventRecord, WorkItemRecord
from services.audit.replay_state import CanonicalState, canonical_state, first_difference
from services.audit.replay_views import Difference, Part, Ref, said
from services.engine.runtime import HumanTask, Snapshot
from services.errors import FIELD_LABELS

#: a stored work item's status, as a message says it
ITEM_STATES = {"open": "待办", "completed": "已办理", "closed": "已关闭"}
#: a stored process instance's status
INSTANCE_STATES = {"running": "办理中", "completed": "已结束"}


def kind_ref(kind: str) -> Ref:
    """An event kind: 办理 <code>task.complete</code>."""
    return Ref(kind_label(kind), kind)


def element_ref(labels: dict[str, str], spec: str) -> Ref:
    """A diagram element (task, timer, end event) by the diagram's label for it."""
    label = labels.get(spec)
    return Ref(label if label and label != spec else "流程环节", spec)


def element_list(labels: dict[str, str], specs: list[str] | tuple[str, ...], none: str) -> tuple[Part, ...]:
    """`区县初审、现场核查` (each with its id on pages), or `none` when there are none."""
    if not specs:
        return (none,)
    parts: list[Part] = []
    for i, spec in enumerate(specs):
        parts.extend(("、",) if i else ())
        parts.append(element_ref(labels, spec))
    return tuple(parts)


def when(value: datetime | None) -> str:
    """A stored time as a message says it (UTC, as stored)."""
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else "（无）"


def data_ref(where: str) -> Ref:
    """A path in the serialized state; a data field of the case by its Chinese name."""
    key = where.removeprefix("data.")
    label = FIELD_LABELS.get(key) or FIELD_LABELS.get(key.removesuffix("_fen"))
    return Ref(f"数据项“{label}”" if label and key != where else "", where)


def event_integrity(record: CaseRecord, step: int, ev: EventRecord) -> list[Difference]:
    """The event's content against its own hash, and its link to the event before it in the chain."""
    out: list[Difference] = []
    recomputed = ev.recomputed_hash()
    if recomputed != ev.hash:
        out.append(Difference(step, ev.seq, "event hash", ev.hash, recomputed,
                              said(f"事件 {ev.seq}（", kind_ref(ev.kind), "）与其哈希不符：该事件在记录之后被改动")))
    if ev.seq in record.chain and record.chain[ev.seq] != ev.hash:
        held = record.chain[ev.seq]
        out.append(Difference(step, ev.seq, "chain", held, ev.hash,
                              said(f"事件 {ev.seq} 不是审计链第 {ev.seq} 号位置上的事件"
                                   + ("（审计链中没有该事件）" if held is None else ""))))
    if ev.seq in record.links:
        before = record.links[ev.seq]
        if before is None:
            out.append(Difference(step, ev.seq, "chain link", ev.prev_hash, None,
                                  said(f"审计链中事件 {ev.seq} 之前的事件 {ev.seq - 1} 已不存在（被删除）")))
        elif before != ev.prev_hash:
            out.append(Difference(step, ev.seq, "chain link", ev.prev_hash, before,
                                  said(f"事件 {ev.seq} 的链接与事件 {ev.seq - 1} 不符（被改动或调换了顺序）")))
    return out


def due_of(snap: Snapshot, spec: str) -> datetime | None:
    """The due time the case runtime gives a work item: its stage's deadline timer."""
    return next((t.due_at for t in snap.timers if t.attached_to == spec), None)


class Mirror:
    """Matches the stored work-item rows to the replayed tasks (by spec and creation time).

    Gives the recorded task id -> replayed task id map that task completions follow.
    """

    def __init__(self, items: tuple[WorkItemRecord, ...], labels: dict[str, str] | None = None) -> None:
        self.items = items
        self.labels = labels if labels is not None else {}  # element id -> label (filled once the case starts)
        self.unmatched = {w.id: w for w in items}
        self.to_replay: dict[str, str] = {}  # recorded task id -> replayed task id
        self.row_of: dict[str, WorkItemRecord] = {}  # replayed task id -> its work item

    def opened(self, step: int, ev: EventRecord, new: list[HumanTask], snap: Snapshot) -> list[Difference]:
        out: list[Difference] = []
        for task in new:
            row = next((w for w in self.unmatched.values() if w.task_spec == task.spec and w.created_at == ev.at),
                       None)
            if row is None:
                recorded = sorted(w.task_spec for w in self.items if w.created_at == ev.at)
                out.append(Difference(step, ev.seq, "opened tasks", recorded, task.spec,
                                      said("回放在此步开启了待办 ", Ref(task.name, task.spec),
                                           "，但没有与之对应的待办记录")))
                continue
            del self.unmatched[row.id]
            self.to_replay[row.task_id] = task.task_id
            self.row_of[task.task_id] = row
            due = due_of(snap, task.spec)
            if row.due_at != due:
                out.append(Difference(step, ev.seq, "due date", row.due_at, due,
                                      said(f"待办 #{row.id}（", Ref(row.name, row.task_spec),
                                           f"）存储的期限为 {when(row.due_at)}，回放得出的期限为 {when(due)}")))
        return out

    def closed(self, step: int, ev: EventRecord, gone: list[HumanTask]) -> list[Difference]:
        """Tasks the route itself closed at this step (e.g. the public notice when its period ran out)."""
        out: list[Difference] = []
        for task in gone:
            row = self.row_of.get(task.task_id)
            if row is not None and (row.status != "closed" or row.completed_at != ev.at):
                out.append(Difference(step, ev.seq, "closed tasks", f"{row.status} {_ts(row.completed_at)}",
                                      f"closed {_ts(ev.at)}",
                                      said("回放在此步关闭了待办 ", Ref(row.name, row.task_spec),
                                           f"（待办 #{row.id}），但存储的待办记录为"
                                           f"{ITEM_STATES.get(row.status, '其他状态')}（{when(row.completed_at)}）")))
        return out

    def completed(self, step: int, ev: EventRecord, body: dict[str, Any]) -> list[Difference]:
        row = next((w for w in self.items if w.id == body.get("work_item")), None)
        if row is None:
            return [Difference(step, ev.seq, "work item", None, body.get("work_item"),
                               said(f"事件 {ev.seq} 办理的待办 #{body.get('work_item')} 没有存储的记录"))]
        stored = (row.task_id, row.status, row.completed_by, row.completed_at)
        expected = (body.get("task_id"), "completed", ev.actor, ev.at)
        if stored != expected:
            return [Difference(step, ev.seq, "work item", _row(stored), _row(expected),
                               said(f"待办 #{row.id}（", Ref(row.name, row.task_spec),
                                    f"）的存储记录（办理人、时间或状态）与办理它的事件 {ev.seq} 不符"))]
        return []


def _ts(value: datetime | None) -> str:
    return value.isoformat() if value is not None else "—"


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("task_id", "status", "completed_by", "completed_at")
    return {k: (_ts(v) if isinstance(v, datetime) else v) for k, v in zip(keys, values, strict=True)}


def stored_state(record: CaseRecord, step: int, last: EventRecord, replayed: CanonicalState,
                 start_definition: str | None) -> tuple[list[Difference], CanonicalState | None]:
    """The stored instance against the last recorded state hash and against the replayed state."""
    inst = record.instance
    if inst is None:
        return [Difference(step, last.seq, "stored state", None, replayed.sha256,
                           said(f"申请 {record.application_id} 没有存储的流程状态"))], None
    out: list[Difference] = []
    if start_definition is not None and inst.definition_hash != start_definition:
        out.append(Difference(step, last.seq, "diagram", inst.definition_hash, start_definition,
                              said(f"流程实例 {inst.id} 记载的流程图版本为 ", Ref("", inst.definition_hash[:12]),
                                   "，但本案启动时的版本为 ", Ref("", start_definition[:12]))))
    actual = hashlib.sha256(inst.state).hexdigest()
    recorded = last.body().get("state_sha256")
    if actual != recorded:
        out.append(Difference(step, last.seq, "stored state", recorded, actual,
                              said(f"流程实例 {inst.id} 存储的状态不是事件 {last.seq} 记录的状态（SHA-256 不同）："
                                   "该状态在没有审计事件的情况下被改动")))
    try:
        stored = canonical_state(inst.state)
    except ValueError as exc:
        out.append(Difference(step, last.seq, "stored state", f"unreadable: {exc}", replayed.sha256,
                              said(f"流程实例 {inst.id} 存储的状态无法读取（已损坏）")))
        return out, None
    diff = None if stored.value == replayed.value else first_difference(stored.value, replayed.value)
    if diff is not None:
        where, a, b = diff
        out.append(Difference(step, last.seq, f"state: {where}", a, b,
                              said("存储的流程状态与回放的状态在 ", data_ref(where), " 处不同")))
    return out, stored


def timers_and_stage(record: CaseRecord, step: int, last: EventRecord, snap: Snapshot,
                     outcome: tuple[str, str] | None, completed: bool,
                     labels: dict[str, str] | None = None) -> list[Difference]:
    """The timer rows, the application's status and stage, and the instance status after the last step."""
    out: list[Difference] = []
    labels = labels or {}
    stored_timers = Counter((t.event_spec, t.due_at) for t in record.timers)
    replayed_timers = Counter((t.spec, t.due_at) for t in snap.timers)
    if stored_timers != replayed_timers:
        out.append(Difference(step, last.seq, "timers", sorted((s, _ts(d)) for s, d in stored_timers.elements()),
                              sorted((s, _ts(d)) for s, d in replayed_timers.elements()),
                              said("存储的计时器与回放中案件等待的计时器不同")))
    if outcome is None:
        status, stage = "running", ",".join(sorted({t.spec for t in snap.human})) or "waiting"
    else:
        status, stage = outcome[0].removeprefix("end_").split("_")[0], outcome[0]
    app = record.application
    if app is not None and (app.get("status"), app.get("stage")) != (status, stage):
        stored_stage = str(app.get("stage") or "")
        if stored_stage == stage:
            message = said(f"申请 {record.application_id} 存储的办理状态与回放的结果不同（阶段相同）")
        else:
            message = said(f"申请 {record.application_id} 存储的阶段为 ", *_stage(labels, stored_stage),
                           "，回放结束时为 ", *_stage(labels, stage))
        out.append(Difference(step, last.seq, "application stage", f"{app.get('status')} {app.get('stage')}",
                              f"{status} {stage}", message))
    inst = record.instance
    expected = "completed" if completed else "running"
    if inst is not None and inst.status != expected:
        out.append(Difference(step, last.seq, "instance status", inst.status, expected,
                              said(f"流程实例 {inst.id} 存储为{INSTANCE_STATES.get(inst.status, '其他状态')}，"
                                   f"回放中的案件{INSTANCE_STATES[expected]}")))
    return out


def _stage(labels: dict[str, str], stage: str) -> tuple[Part, ...]:
    """A stored stage (open task ids joined by commas, an end event, or `waiting`) by its labels."""
    if stage == "waiting":
        return ("等待计时器",)
    return element_list(labels, [s for s in stage.split(",") if s], "（无）")
