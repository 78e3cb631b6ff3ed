"""The engine boundary: the only module (with engine_sandbox/engine_validate) that imports SpiffWorkflow.

Everything outside sees plain dataclasses and opaque workflow handles. Time is injected:
every operation runs under `clock(now)`, which is also what SpiffWorkflow's timers read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from services.engine.lanes import role_of_lane
from services.engine.sandbox import make_script_engine
from services.engine.state import StateWriter
from services.engine.validate import parse_documents
from services.errors import EngineFailure, NotFound

SERIALIZER_VERSION = "spiff-3.2.0/1"
OUTCOME_PREFIX = "end_"

_NOW: ContextVar[datetime | None] = ContextVar("smeflow_engine_now", default=None)
_STAGES: ContextVar[list[str] | None] = ContextVar("smeflow_engine_stages", default=None)


class _ClockedDatetime(datetime):
    """SpiffWorkflow's timers call datetime.now(timezone.utc); this makes them read our clock."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _ClockedDatetime:
        fixed = _NOW.get()
        if fixed is None:
            return super().now(tz)
        v = fixed.astimezone(tz) if tz is not None else fixed.astimezone().replace(tzinfo=None)
        return cls(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.tzinfo)


_timer_module.datetime = _ClockedDatetime


@contextmanager
def stages_used() -> Iterator[list[str]]:
    """Collect the stages whose deadline the engine computes inside the block, in order: what a
    step's audit event records with their time limits, so that a replay counts the same deadlines."""
    used: list[str] = []
    token = _STAGES.set(used)
    try:
        yield used
    finally:
        _STAGES.reset(token)


@contextmanager
def clock(now: datetime) -> Iterator[None]:
    """Run engine code as if the time were `now` (UTC-aware)."""
    if now.tzinfo is None:
        raise ValueError("clock() needs an aware datetime")
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)


@dataclass(frozen=True)
class HumanTask:
    """A READY user task, as the rest of the service sees it."""

    task_id: str
    spec: str
    name: str
    lane: str | None
    properties: Mapping[str, str] = field(default_factory=dict)

    def _list(self, key: str) -> tuple[str, ...]:
        raw = self.properties.get(key, "")
        return tuple(p.strip() for p in raw.split(",") if p.strip())

    @property
    def decisions(self) -> tuple[str, ...]:
        return self._list("decisions")

    @property
    def fields(self) -> tuple[str, ...]:
        return self._list("fields")

    @property
    def action(self) -> str | None:
        return self.properties.get("action")


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    spec: str
    due_at: datetime
    attached_to: str | None  # the spec of the task the boundary event sits on


@dataclass(frozen=True)
class Snapshot:
    """What a workflow waits on after a step: READY human tasks and WAITING timers."""

    human: tuple[HumanTask, ...]
    timers: tuple[WaitingTimer, ...]


@dataclass(frozen=True)
class Route:
    """A parsed diagram, ready to start instances; `hash` is the content hash of its documents."""

    hash: str
    process_id: str
    spec: Any
    subprocess_specs: Mapping[str, Any]


def content_hash(docs: Mapping[str, bytes]) -> str:
    """Hash of a diagram's documents, independent of their file names."""
    digest = hashlib.sha256()
    for content in sorted(docs.values()):
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


class Engine:
    """Parses routes, starts, advances, serializes and restores workflows."""

    def __init__(self, deadline_fn: Callable[[str, datetime], datetime]) -> None:
        self._deadline_fn = deadline_fn
        self._script_engine = make_script_engine({"stage_deadline": self._stage_deadline})
        self._serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self._state_writer = StateWriter(self._serializer, self.dumps_reference)
        self._routes: dict[str, Route] = {}

    def _stage_deadline(self, stage: str) -> str:
        used = _STAGES.get()
        if used is not None and stage not in used:
            used.append(str(stage))
        now = _NOW.get() or datetime.now(UTC)
        return self._deadline_fn(str(stage), now).astimezone(UTC).isoformat()

    def route(self, docs: Mapping[str, bytes], process_id: str | None = None) -> Route:
        """Parse (and validate) a diagram; cached by content hash. Raises DiagramInvalid."""
        key = content_hash(docs)
        cached = self._routes.get(key)
        if cached is not None and (process_id is None or cached.process_id == process_id):
            return cached
        spec, subs = parse_documents(docs, process_id)
        route = Route(hash=key, process_id=spec.name, spec=spec, subprocess_specs=subs)
        self._routes[key] = route
        return route

    def cached_route(self, digest: str, process_id: str) -> Route | None:
        """The route of content hash `digest` if this engine has parsed (and checked) it already."""
        cached = self._routes.get(digest)
        return cached if cached is not None and cached.process_id == process_id else None

    def start(self, route: Route, data: Mapping[str, Any], now: datetime) -> tuple[BpmnWorkflow, Snapshot]:
        """Start an instance with `data` and run it to its first wait."""
        wf = BpmnWorkflow(route.spec, dict(route.subprocess_specs), script_engine=self._script_engine)
        start = wf.get_tasks(state=TaskState.READY)[0]
        start.data.update(data)
        return wf, self._advance(wf, now)

    def snapshot(self, wf: BpmnWorkflow) -> Snapshot:
        """READY human tasks and WAITING timers, in one pass over the task tree."""
        return self._scan(wf)[0]

    def _scan(self, wf: BpmnWorkflow) -> tuple[Snapshot, bool]:
        human: list[HumanTask] = []
        timers: list[WaitingTimer] = []
        engine_work = False
        for task in wf.get_tasks(state=TaskState.READY | TaskState.WAITING):
            spec = task.task_spec
            if task.state == TaskState.READY:
                if not spec.manual:
                    engine_work = True
                    continue
                props = (getattr(spec, "extensions", None) or {}).get("properties", {})
                human.append(HumanTask(str(task.id), spec.name, spec.bpmn_name or spec.name, role_of_lane(spec.lane),
                                       props))
                continue
            value = task.internal_data.get("event_value")
            if isinstance(getattr(spec, "event_definition", None), TimerEventDefinition) and isinstance(value, str):
                siblings = task.parent.children if task.parent is not None else []
                attached = next((s.task_spec.name for s in siblings if s.task_spec.manual), None)
                due = _plain(TimerEventDefinition.get_datetime(value))
                timers.append(WaitingTimer(str(task.id), spec.name, due, attached))
        return Snapshot(tuple(human), tuple(timers)), engine_work

    def human_tasks(self, wf: BpmnWorkflow) -> list[HumanTask]:
        """The READY user tasks of the workflow."""
        return list(self.snapshot(wf).human)

    def complete(self, wf: BpmnWorkflow, task_id: str, data: Mapping[str, Any], now: datetime) -> Snapshot:
        """Complete a READY user task with `data`. On failure the workflow must be discarded."""
        task = _ready_human_task(wf, task_id)
        if task is None:
            raise NotFound(f"该环节在本案中已不是待办（{task_id}）")
        with clock(now):
            try:
                task.data.update(data)
                task.run()
            except SpiffWorkflowException as exc:
                raise EngineFailure(f"流程拒绝了这一步：{exc}") from exc
        return self._advance(wf, now)

    def fire_due_timers(self, wf: BpmnWorkflow, now: datetime) -> tuple[list[WaitingTimer], Snapshot]:
        """Fire the timers due at `now`; returns the ones that fired and what the case then waits on."""
        snap = self.snapshot(wf)
        due = [t for t in snap.timers if t.due_at < now]
        if not due:
            return [], snap
        with clock(now):
            try:
                wf.refresh_timers()
            except SpiffWorkflowException as exc:
                raise EngineFailure(f"流程运行出错：{exc}") from exc
        return due, self._advance(wf, now)

    def timers_passed_on_entry(self, wf: BpmnWorkflow) -> dict[str, list[tuple[str, datetime]]]:
        """Boundary timers that had already passed when their READY step opened (a step re-entered
        late): the engine fires them at once, so they never wait. Per READY step id: (timer spec, due)."""
        found: dict[str, list[tuple[str, datetime]]] = {}
        for task in wf.get_tasks(state=TaskState.READY, manual=True):
            for sibling in task.parent.children if task.parent is not None else []:
                value = sibling.internal_data.get("event_value")
                if sibling is task or sibling.state != TaskState.COMPLETED or not isinstance(value, str):
                    continue
                if isinstance(getattr(sibling.task_spec, "event_definition", None), TimerEventDefinition):
                    at = datetime.fromisoformat(value).astimezone(UTC)
                    found.setdefault(str(task.id), []).append((sibling.task_spec.name, at))
        return found

    def reevaluate_timer(self, wf: BpmnWorkflow, timer: WaitingTimer, opened_at: datetime) -> str:
        """The due time (ISO text) `timer`'s expression gives when evaluated again as of `opened_at`:
        how a stage deadline is recomputed after a holiday calendar was loaded."""
        with clock(opened_at):
            return str(wf.script_engine.evaluate(self._timer_task(wf, timer), self.timer_expression(wf, timer)))

    def timer_expression(self, wf: BpmnWorkflow, timer: WaitingTimer) -> str:
        return str(getattr(self._timer_task(wf, timer).task_spec.event_definition, "expression", ""))

    def set_timer_due(self, wf: BpmnWorkflow, timer: WaitingTimer, value: str) -> None:
        """Move a waiting timer to a new due time (ISO text), as its expression would have set it."""
        self._timer_task(wf, timer).internal_data["event_value"] = value

    @staticmethod
    def _timer_task(wf: BpmnWorkflow, timer: WaitingTimer) -> Any:
        task = wf.get_task_from_id(UUID(timer.task_id))
        if task is None:
            raise NotFound(f"本案流程中没有该计时器（{timer.task_id}）")
        return task

    def waiting_timers(self, wf: BpmnWorkflow) -> list[WaitingTimer]:
        """Timers the workflow waits on, with their due times."""
        return list(self.snapshot(wf).timers)

    def outcome(self, wf: BpmnWorkflow) -> tuple[str, str] | None:
        """The outcome end event (`end_<outcome>...`) the case reached, as (id, label), once finished."""
        if not wf.is_completed():
            return None
        for task in wf.get_tasks(state=TaskState.COMPLETED):
            spec = task.task_spec
            if isinstance(spec, EndEvent) and spec.name.startswith(OUTCOME_PREFIX):
                return str(spec.name), str(spec.bpmn_name or spec.name)
        return "completed", "completed"

    def data(self, wf: BpmnWorkflow) -> dict[str, Any]:
        """The data of the case as of its latest step."""
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        last = ready[0] if ready else wf.last_task
        return dict(last.data) if last is not None else dict(wf.data)

    def dumps(self, wf: BpmnWorkflow) -> bytes:
        """Serialize to JSON bytes (orjson): the bytes of `dumps_reference`, with the diagram part
        (the process spec and its subprocess specs, which never change) converted once per spec."""
        return self._state_writer.dumps(wf)

    def dumps_reference(self, wf: BpmnWorkflow) -> bytes:
        """The engine's own serializer, converting everything (what `dumps` must equal, byte for byte)."""
        dct = self._serializer.to_dict(wf)
        dct[self._serializer.VERSION_KEY] = self._serializer.VERSION
        return orjson.dumps(dct)

    def loads(self, state: bytes) -> BpmnWorkflow:
        """Restore a workflow serialized by dumps()."""
        dct = orjson.loads(state)
        self._serializer.migrate(dct)
        wf = self._serializer.from_dict(dct)
        wf.script_engine = self._script_engine
        return wf

    def _advance(self, wf: BpmnWorkflow, now: datetime) -> Snapshot:
        """Run engine tasks (gateways, scripts, due timers) until only waits remain."""
        with clock(now):
            try:
                while True:
                    wf.do_engine_steps()  # ends with refresh_timers(): a timer already due becomes READY
                    snap, engine_work = self._scan(wf)
                    if not engine_work:
                        return snap
            except SpiffWorkflowException as exc:
                raise EngineFailure(f"流程运行出错：{exc}") from exc


def _ready_human_task(wf: BpmnWorkflow, task_id: str) -> Any:
    """The READY user task of that id (looked up by id, not by walking the task tree), else None."""
    try:
        task = wf.get_task_from_id(UUID(task_id))
    except (ValueError, TaskNotFoundException):
        return None
    return task if task.state == TaskState.READY and task.task_spec.manual else None


def _plain(value: datetime) -> datetime:
    """Turn the clocked subclass (or any datetime) back into a plain UTC datetime."""
    return datetime.fromtimestamp(value.timestamp(), UTC)


def load_documents(paths: Sequence[Any]) -> dict[str, bytes]:
    """Read diagram files into the {name: bytes} form the engine takes."""
    return {str(p.name): p.read_bytes() for p in paths}
