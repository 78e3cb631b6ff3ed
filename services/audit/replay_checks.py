"""Record-side checks of replay: each event against its hash and its chain link, the mirror rows
(work items, timers, application stage) against the replayed state, and the stored final state.

Each check returns `Difference`s; replay (services/audit/replay.py) decides the step they belong to.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from services.audit.replay_record import CaseRecord, EventRecord, WorkItemRecord
from services.audit.replay_state import CanonicalState, canonical_state, first_difference
from services.audit.replay_views import Difference
from services.engine.runtime import HumanTask, Snapshot


def event_integrity(record: CaseRecord, step: int, ev: EventRecord) -> list[Difference]:
    """The event's content against its own hash, and its link to the event before it in the chain."""
    out: list[Difference] = []
    recomputed = ev.recomputed_hash()
    if recomputed != ev.hash:
        out.append(Difference(step, ev.seq, "event hash", ev.hash, recomputed,
                              f"event {ev.seq} ({ev.kind}) does not match its hash: it was altered after it "
                              "was recorded"))
    if ev.seq in record.chain and record.chain[ev.seq] != ev.hash:
        held = record.chain[ev.seq]
        out.append(Difference(step, ev.seq, "chain", held, ev.hash,
                              f"event {ev.seq} is not the event the audit chain holds at {ev.seq}"
                              + (" (the chain has no such event)" if held is None else "")))
    if ev.seq in record.links:
        before = record.links[ev.seq]
        if before is None:
            out.append(Difference(step, ev.seq, "chain link", ev.prev_hash, None,
                                  f"event {ev.seq - 1}, the one before event {ev.seq} in the chain, is missing "
                                  "(deleted)"))
        elif before != ev.prev_hash:
            out.append(Difference(step, ev.seq, "chain link", ev.prev_hash, before,
                                  f"event {ev.seq}'s link does not match event {ev.seq - 1} (altered or reordered)"))
    return out


def due_of(snap: Snapshot, spec: str) -> datetime | None:
    """The due time the case runtime gives a work item: its stage's deadline timer."""
    return next((t.due_at for t in snap.timers if t.attached_to == spec), None)


class Mirror:
    """Matches the stored work-item rows to the replayed tasks (by spec and creation time).

    Gives the recorded task id -> replayed task id map that task completions follow.
    """

    def __init__(self, items: tuple[WorkItemRecord, ...]) -> None:
        self.items = items
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
                                      f"the replay opened “{task.name}” ({task.spec}) here, but no work item "
                                      "was recorded for it"))
                continue
            del self.unmatched[row.id]
            self.to_replay[row.task_id] = task.task_id
            self.row_of[task.task_id] = row
            due = due_of(snap, task.spec)
            if row.due_at != due:
                out.append(Difference(step, ev.seq, "due date", row.due_at, due,
                                      f"work item #{row.id} ({row.task_spec}) is due {_ts(row.due_at)} as stored, "
                                      f"{_ts(due)} in the replay"))
        return out

    def closed(self, step: int, ev: EventRecord, gone: list[HumanTask]) -> list[Difference]:
        """Tasks the route itself closed at this step (e.g. the public notice when its period ran out)."""
        out: list[Difference] = []
        for task in gone:
            row = self.row_of.get(task.task_id)
            if row is not None and (row.status != "closed" or row.completed_at != ev.at):
                out.append(Difference(step, ev.seq, "closed tasks", f"{row.status} {_ts(row.completed_at)}",
                                      f"closed {_ts(ev.at)}",
                                      f"the replay closed “{row.name}” (work item #{row.id}) at this step; the "
                                      f"stored work item says {row.status} at {_ts(row.completed_at)}"))
        return out

    def completed(self, step: int, ev: EventRecord, body: dict[str, Any]) -> list[Difference]:
        row = next((w for w in self.items if w.id == body.get("work_item")), None)
        if row is None:
            return [Difference(step, ev.seq, "work item", None, body.get("work_item"),
                               f"event {ev.seq} completes work item #{body.get('work_item')}, which is not stored")]
        stored = (row.task_id, row.status, row.completed_by, row.completed_at)
        expected = (body.get("task_id"), "completed", ev.actor, ev.at)
        if stored != expected:
            return [Difference(step, ev.seq, "work item", _row(stored), _row(expected),
                               f"work item #{row.id} ({row.task_spec}) as stored does not match event {ev.seq} "
                               "that completed it")]
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
                           f"case {record.application_id} has no stored instance state")], None
    out: list[Difference] = []
    if start_definition is not None and inst.definition_hash != start_definition:
        out.append(Difference(step, last.seq, "diagram", inst.definition_hash, start_definition,
                              f"instance {inst.id} names diagram {inst.definition_hash[:12]}, but the case started "
                              f"on {start_definition[:12]}"))
    actual = hashlib.sha256(inst.state).hexdigest()
    recorded = last.body().get("state_sha256")
    if actual != recorded:
        out.append(Difference(step, last.seq, "stored state", recorded, actual,
                              f"the stored state of instance {inst.id} is not the state event {last.seq} recorded "
                              "(its SHA-256 differs): it was changed without an audit event"))
    try:
        stored = canonical_state(inst.state)
    except ValueError as exc:
        out.append(Difference(step, last.seq, "stored state", "unreadable", replayed.sha256,
                              f"the stored state of instance {inst.id} cannot be read: {exc}"))
        return out, None
    diff = None if stored.value == replayed.value else first_difference(stored.value, replayed.value)
    if diff is not None:
        where, a, b = diff
        out.append(Difference(step, last.seq, f"state: {where}", a, b,
                              f"the stored state differs from the replayed one at {where}"))
    return out, stored


def timers_and_stage(record: CaseRecord, step: int, last: EventRecord, snap: Snapshot,
                     outcome: tuple[str, str] | None, completed: bool) -> list[Difference]:
    """The timer rows, the application's status and stage, and the instance status after the last step."""
    out: list[Difference] = []
    stored_timers = Counter((t.event_spec, t.due_at) for t in record.timers)
    replayed_timers = Counter((t.spec, t.due_at) for t in snap.timers)
    if stored_timers != replayed_timers:
        out.append(Difference(step, last.seq, "timers", sorted((s, _ts(d)) for s, d in stored_timers.elements()),
                              sorted((s, _ts(d)) for s, d in replayed_timers.elements()),
                              "the stored timers differ from those the replayed case waits on"))
    if outcome is None:
        status, stage = "running", ",".join(sorted({t.spec for t in snap.human})) or "waiting"
    else:
        status, stage = outcome[0].removeprefix("end_").split("_")[0], outcome[0]
    app = record.application
    if app is not None and (app.get("status"), app.get("stage")) != (status, stage):
        out.append(Difference(step, last.seq, "application stage", f"{app.get('status')} {app.get('stage')}",
                              f"{status} {stage}", f"application {record.application_id} is stored as "
                              f"{app.get('status')} at {app.get('stage')}; the replay ends {status} at {stage}"))
    inst = record.instance
    expected = "completed" if completed else "running"
    if inst is not None and inst.status != expected:
        out.append(Difference(step, last.seq, "instance status", inst.status, expected,
                              f"instance {inst.id} is stored as {inst.status}; the replayed case is {expected}"))
    return out
