"""What replay reports: the state after each step, the differences found, the verdict; as JSON too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.audit.replay_state import DataChange


@dataclass(frozen=True)
class OpenTask:
    spec: str
    name: str
    lane: str | None


@dataclass(frozen=True)
class WaitingTimerView:
    spec: str
    due_at: datetime
    attached_to: str | None


@dataclass(frozen=True)
class Difference:
    """Where replay and record disagree: at step `step` (1-based; event `seq`), on `what`."""

    step: int
    seq: int | None
    what: str
    recorded: Any
    replayed: Any
    message: str


@dataclass(frozen=True)
class ReplayStep:
    """The case after one recorded event, as the replay rebuilt it."""

    index: int
    seq: int
    at: datetime
    actor: str
    kind: str
    task: str | None  # the task (diagram element id) this step completed
    recorded: dict[str, Any]  # the event's payload as recorded
    changes_state: bool  # start, task completion, timer firing; other events only annotate the case
    open_tasks: tuple[OpenTask, ...]
    timers: tuple[WaitingTimerView, ...]
    data: dict[str, Any]
    changes: tuple[DataChange, ...]  # the data against the step before
    opened: tuple[str, ...]  # tasks that became open at this step
    closed: tuple[str, ...]  # tasks that stopped being open at this step
    path: tuple[str, ...]  # diagram elements completed so far, in order (for highlighting)
    passed: tuple[str, ...]  # those completed at this step
    outcome: str | None  # the end event reached, once the case is finished


@dataclass(frozen=True)
class ReplayResult:
    application_id: int
    instance_id: int | None
    definition_hash: str | None
    process_id: str | None
    source: str  # "database", "archive" or "bundle"
    steps: tuple[ReplayStep, ...]
    differences: tuple[Difference, ...]
    complete: bool  # every recorded event was replayed (False: replay had to stop at a difference)

    @property
    def reproduced(self) -> bool:
        return not self.differences and self.complete

    @property
    def first(self) -> Difference | None:
        return self.differences[0] if self.differences else None

    @property
    def verdict(self) -> str:
        """"reproduced", or the first differing step in one line."""
        first = self.first
        if first is None:
            return "reproduced" if self.complete else "not replayed"
        where = f"step {first.step}" + (f" (event {first.seq})" if first.seq is not None else "")
        return f"differs at {where}: {first.message}"

    def step(self, n: int) -> ReplayStep:
        """The state after step `n` (1-based); IndexError names the range."""
        if not 1 <= n <= len(self.steps):
            raise IndexError(f"step {n} is out of range: the replay has steps 1 to {len(self.steps)}")
        return self.steps[n - 1]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def step_dict(step: ReplayStep) -> dict[str, Any]:
    return {
        "index": step.index, "seq": step.seq, "at": step.at.isoformat(), "actor": step.actor, "kind": step.kind,
        "task": step.task, "recorded": _jsonable(step.recorded), "changes_state": step.changes_state,
        "open_tasks": [{"spec": t.spec, "name": t.name, "lane": t.lane} for t in step.open_tasks],
        "timers": [{"spec": t.spec, "due_at": t.due_at.isoformat(), "attached_to": t.attached_to}
                   for t in step.timers],
        "data": _jsonable(step.data),
        "changes": [{"field": c.field, "before": _jsonable(c.before), "after": _jsonable(c.after)}
                    for c in step.changes],
        "opened": list(step.opened), "closed": list(step.closed), "path": list(step.path),
        "passed": list(step.passed), "outcome": step.outcome,
    }


def difference_dict(d: Difference) -> dict[str, Any]:
    return {"step": d.step, "seq": d.seq, "what": d.what, "recorded": _jsonable(d.recorded),
            "replayed": _jsonable(d.replayed), "message": d.message}


def as_dict(result: ReplayResult, *, step: int | None = None) -> dict[str, Any]:
    """The result as JSON-ready data; with `step`, only that step's state."""
    out: dict[str, Any] = {
        "application_id": result.application_id, "instance_id": result.instance_id,
        "definition_hash": result.definition_hash, "process_id": result.process_id, "source": result.source,
        "verdict": result.verdict, "reproduced": result.reproduced, "complete": result.complete,
        "first_difference": difference_dict(result.first) if result.first else None,
        "differences": [difference_dict(d) for d in result.differences],
    }
    if step is None:
        out["steps"] = [step_dict(s) for s in result.steps]
    else:
        out["step"] = step_dict(result.step(step))
    return out
