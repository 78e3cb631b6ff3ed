"""What replay reports: the state after each step, the differences found, the verdict; as JSON too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.audit.kinds import kind_label
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
class Ref:
    """Something a message names: its Chinese label and its id. Pages show the id in a <code> beside
    the label; the plain text (`Difference.message`: CLI, JSON) keeps the id only when `plain` (a
    username, a hash prefix: what an auditor looks up), or when there is no label."""

    label: str
    code: str
    plain: bool = False

    def text(self) -> str:
        if not self.label:
            return self.code
        return f"{self.label} {self.code}" if self.plain else self.label


Part = str | Ref


def said(*parts: str | int | Ref) -> tuple[Part, ...]:
    """A message as parts: text, and `Ref`s for what it names."""
    return tuple(p if isinstance(p, Ref) else str(p) for p in parts)


#: what each comparison is called where a person reads it (`what` stays the code in the JSON)
WHAT_LABELS = {
    "event hash": "事件哈希", "chain": "审计链中的事件", "chain link": "审计链链接", "opened tasks": "新开的待办",
    "due date": "待办期限", "closed tasks": "关闭的待办", "work item": "待办记录", "work items": "待办记录",
    "stored state": "存储的流程状态", "diagram": "流程图版本", "timers": "等待中的计时器",
    "application stage": "申请的状态和阶段", "instance status": "流程实例状态", "task not open": "办理的环节",
    "timers fired": "触发的计时器", "replay refused": "无法回放", "payout amount": "拨付金额",
    "missing event": "缺失的审计事件", "task identity": "环节对应关系", "events": "审计事件",
}


@dataclass(frozen=True)
class Difference:
    """Where replay and record disagree: at step `step` (1-based; event `seq`), on `what` (a code;
    `what_label` names it); `parts` say it in Chinese (`message`: as plain text)."""

    step: int
    seq: int | None
    what: str
    recorded: Any
    replayed: Any
    parts: tuple[Part, ...]

    @property
    def message(self) -> str:
        return "".join(p if isinstance(p, str) else p.text() for p in self.parts)

    @property
    def what_label(self) -> str:
        if self.what.startswith("state: "):
            return "流程状态中的数据"
        return WHAT_LABELS.get(self.what) or kind_label(self.what)


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
        """In one line of Chinese: 回放重现了记录, or the first differing step (`reproduced` is the flag)."""
        first = self.first
        if first is None:
            return "回放重现了记录" if self.complete else "未能回放"
        where = f"第 {first.step} 步" + (f"（事件 {first.seq}）" if first.seq is not None else "")
        return f"回放与记录不符，首个不符之处在{where}：{first.message}"

    def step(self, n: int) -> ReplayStep:
        """The state after step `n` (1-based); IndexError names the range."""
        if not 1 <= n <= len(self.steps):
            raise IndexError(f"第 {n} 步超出范围：本次回放共 {len(self.steps)} 步（第 1 至第 {len(self.steps)} 步）")
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
    return {"step": d.step, "seq": d.seq, "what": d.what, "what_label": d.what_label,
            "recorded": _jsonable(d.recorded), "replayed": _jsonable(d.replayed), "message": d.message}


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
