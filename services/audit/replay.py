"""Deterministic replay: re-execute a case's recorded history on the exact diagram it ran on, in a
fresh engine under the recorded times, and compare step by step with what was stored.

The recorded history is the case's audit events: `case.start` (diagram hash, start data),
`task.complete` (task, data, who, when) and `timer.fire` (which timers, when); other events
(payouts, escalations, claims, documents) annotate the case without moving its state, and payouts
are checked against the amount the replayed case decided. Nothing is written: the replay runs on
its own engine and reads the record (from the database, an archive bundle, or a bundle file).

The comparison at each step: the event against its hash and chain link; the recorded command
applies to the replayed case (the task is open; the timers that fired are the ones due); the tasks
the replay opens and closes match the stored work items (spec, creation time, due date, who
completed them); and after the last step the stored instance state, hashed as recorded by the last
event and compared in canonical form (replay_state), the timer rows and the application's stage.
The verdict is "reproduced" or the first differing step with both sides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from services.accounts import access
from services.audit.bundle_format import read_archive
from services.audit.replay_checks import (
    Mirror,
    element_list,
    element_ref,
    event_integrity,
    kind_ref,
    stored_state,
    timers_and_stage,
    when,
)
from services.audit.replay_record import STATE_KINDS, CaseRecord, EventRecord, chain_hashes, chain_links, load_case
from services.audit.replay_state import canonical, completed_elements, data_changes
from services.audit.replay_views import (
    Difference,
    OpenTask,
    Ref,
    ReplayResult,
    ReplayStep,
    WaitingTimerView,
    as_dict,
    said,
)
from services.db.models import CaseArchive, User
from services.engine.diagram_labels import diagram_nodes
from services.engine.runtime import Engine, Snapshot
from services.errors import NotFound, SmeflowError
from services.money import yuan
from services.time.calendar import WorkingCalendar
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["READERS", "Difference", "ReplayResult", "ReplayStep", "as_dict", "deadline_function", "replay_case",
           "replay_record"]

DeadlineFn = Callable[[str, datetime], datetime]
# the stage limits the event being replayed recorded (see deadline_function)
_RECORDED_LIMITS: ContextVar[Mapping[str, int] | None] = ContextVar("smeflow_replay_limits", default=None)
READERS = ("auditor", "manager", "admin")


def deadline_function(*, stage_limits: Mapping[str, int], timezone: str,
                      calendar: WorkingCalendar | None = None) -> DeadlineFn:
    """The stage deadline the engine's timers use (same rule as Services.stage_deadline).

    A step's audit event records the time limits of the stages it counted (`stage_limits`, in force
    when it happened); while that step is replayed those win over `stage_limits`, so a case replays
    with the limits it ran under even after the setting changed. `stage_limits` serves events
    recorded before the limits were (and stages an event did not record)."""
    cal = calendar or WorkingCalendar()
    limits = dict(stage_limits)

    def deadline(stage: str, start: datetime) -> datetime:
        days = (_RECORDED_LIMITS.get() or {}).get(stage, limits.get(stage))
        if days is None:
            raise ValueError(f"没有记录环节 {stage} 的办理时限")
        return cal.deadline(start, days, timezone).at

    return deadline


class _Replay:
    def __init__(self, record: CaseRecord, engine: Engine, *, detail: bool = True) -> None:
        self.record, self.engine = record, engine
        self.detail = detail  # False: the verdict only (no step views, the state serialized once at the end)
        self.wf: Any = None
        self.snap = Snapshot((), ())
        self.labels: dict[str, str] = {}  # element id -> its label in the diagram the case started on
        self.mirror = Mirror(record.work_items, self.labels)
        self.diffs: list[Difference] = []
        self.steps: list[ReplayStep] = []
        self.data: dict[str, Any] = {}
        self.path: list[str] = []
        self.done: set[str] = set()  # replayed task ids already on the path
        self.seen_open: set[str] = set()
        self.definition: str | None = None
        self.process_id: str | None = None
        self.doc: dict[str, Any] = {}  # the replayed state as serialized after the latest step
        self.last_state: tuple[int, EventRecord] | None = None

    # -- commands -------------------------------------------------------------------------
    def _start(self, step: int, ev: EventRecord, body: dict[str, Any]) -> Snapshot:
        self.definition = str(body.get("definition"))
        definition = self.record.definitions.get(self.definition)
        if definition is None:
            raise _Stop(Difference(step, ev.seq, "diagram", self.definition, None,
                                   said("本案启动时的流程图版本 ", Ref("", self.definition[:12]), " 没有存储")))
        self.labels.update(diagram_nodes(definition.bpmn_xml).labels)
        route = self.engine.route(definition.documents(), definition.process_id)
        if route.hash != definition.hash:
            raise _Stop(Difference(step, ev.seq, "diagram", definition.hash, route.hash,
                                   said("存储的流程图版本 ", Ref("", definition.hash[:12]), " 与其哈希不符（被改动）")))
        self.process_id = route.process_id
        self.wf, snap = self.engine.start(route, body.get("data") or {}, ev.at)
        return snap

    def _complete(self, step: int, ev: EventRecord, body: dict[str, Any]) -> Snapshot:
        spec, recorded_id = body.get("task"), str(body.get("task_id"))
        target = self.mirror.to_replay.get(recorded_id)
        if target is None:  # no work item matched it: the first open task of that spec, in order
            taken = set(self.mirror.to_replay.values())
            target = next((t.task_id for t in self.snap.human if t.spec == spec and t.task_id not in taken), None)
            if target is not None:
                self.mirror.to_replay[recorded_id] = target
        if target is None or all(t.task_id != target for t in self.snap.human):
            open_specs = [t.spec for t in self.snap.human]
            raise _Stop(Difference(step, ev.seq, "task not open", spec, open_specs,
                                   said(f"事件 {ev.seq} 办理 ", element_ref(self.labels, str(spec)),
                                        "，但回放中此时的待办为 ", *element_list(self.labels, open_specs, "无"))))
        return self.engine.complete(self.wf, target, body.get("data") or {}, ev.at)

    def _fire(self, step: int, ev: EventRecord, body: dict[str, Any]) -> Snapshot:
        fired, snap = self.engine.fire_due_timers(self.wf, ev.at)
        recorded, replayed = sorted(map(str, body.get("timers") or [])), sorted(t.spec for t in fired)
        if recorded != replayed:
            self.diffs.append(Difference(step, ev.seq, "timers fired", recorded, replayed,
                                         said(f"事件 {ev.seq} 触发的计时器为 ",
                                              *element_list(self.labels, recorded, "无"),
                                              "；在该时刻回放触发的为 ", *element_list(self.labels, replayed, "无"))))
        return snap

    # -- one step -------------------------------------------------------------------------
    def _apply(self, step: int, ev: EventRecord, body: dict[str, Any]) -> Snapshot:
        if ev.kind == "case.start":
            if self.wf is not None:
                raise _Stop(Difference(step, ev.seq, "case.start", "a second start", "already started",
                                       said(f"事件 {ev.seq} 再次启动了本案")))
            return self._start(step, ev, body)
        if self.wf is None:
            raise _Stop(Difference(step, ev.seq, ev.kind, ev.kind, "not started",
                                   said(f"事件 {ev.seq}（", kind_ref(ev.kind), "）发生在本案启动之前")))
        if ev.kind == "task.complete":
            snap = self._complete(step, ev, body)
            self.diffs.extend(self.mirror.completed(step, ev, body))
            return snap
        return self._fire(step, ev, body)

    def run_step(self, step: int, ev: EventRecord) -> None:
        self.diffs.extend(event_integrity(self.record, step, ev))
        body = ev.body()
        before_open = {t.task_id: t for t in self.snap.human}
        if ev.kind not in STATE_KINDS:
            self._annotate(step, ev, body)
            if self.detail:
                self.steps.append(self._view(step, ev, body, False, (), (), ()))
            return
        recorded = body.get("stage_limits")
        token = _RECORDED_LIMITS.set(dict(recorded) if isinstance(recorded, dict) else {})
        try:
            snap = self._apply(step, ev, body)
        except (SmeflowError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # the engine refused the command, the diagram does not parse, or the payload is malformed
            detail = exc.message if isinstance(exc, SmeflowError) else f"{type(exc).__name__}: {exc}"
            why = exc.message if isinstance(exc, SmeflowError) else "记录的数据不完整，或流程图无法执行该步"
            raise _Stop(Difference(step, ev.seq, "replay refused", ev.kind, detail,
                                   said(f"事件 {ev.seq}（", kind_ref(ev.kind), f"）无法回放：{why}"))) from exc
        finally:
            _RECORDED_LIMITS.reset(token)
        self.snap = snap
        now_open = {t.task_id for t in snap.human}
        new = [t for t in snap.human if t.task_id not in self.seen_open]
        self.seen_open |= now_open
        completed_id = self.mirror.to_replay.get(str(body.get("task_id"))) if ev.kind == "task.complete" else None
        gone = [t for tid, t in before_open.items() if tid not in now_open and tid != completed_id]
        self.diffs.extend(self.mirror.opened(step, ev, new, snap))
        self.diffs.extend(self.mirror.closed(step, ev, gone))
        self.last_state = (step, ev)
        if not self.detail:
            return
        doc = orjson.loads(self.engine.dumps(self.wf))
        self.doc = doc
        fresh = [(tid, bpmn) for tid, bpmn in completed_elements(doc) if tid not in self.done]
        self.done.update(tid for tid, _ in fresh)
        passed = tuple(bpmn for _, bpmn in fresh)
        self.path.extend(passed)
        self.steps.append(self._view(step, ev, body, True, tuple(t.spec for t in new),
                                     tuple(t.spec for t in gone), passed))

    def _annotate(self, step: int, ev: EventRecord, body: dict[str, Any]) -> None:
        if ev.kind != "payout":
            return
        data = self.data if self.detail or self.wf is None else self.engine.data(self.wf)
        if body.get("amount_fen") != data.get("award_amount_fen"):
            self.diffs.append(Difference(step, ev.seq, "payout amount", body.get("amount_fen"),
                                         data.get("award_amount_fen"),
                                         said(f"事件 {ev.seq} 拨付 {_yuan(body.get('amount_fen'))}；回放中的案件决定的"
                                              f"金额为 {_yuan(data.get('award_amount_fen'))}")))

    def _view(self, step: int, ev: EventRecord, body: dict[str, Any], moved: bool, opened: tuple[str, ...],
              closed: tuple[str, ...], passed: tuple[str, ...]) -> ReplayStep:
        data = self.engine.data(self.wf) if self.wf is not None else {}
        changes = data_changes(self.data, data)
        self.data = data
        outcome = self.engine.outcome(self.wf) if self.wf is not None else None
        return ReplayStep(
            index=step, seq=ev.seq, at=ev.at, actor=ev.actor, kind=ev.kind,
            task=str(body["task"]) if ev.kind == "task.complete" and body.get("task") else None,
            recorded=body, changes_state=moved,
            open_tasks=tuple(OpenTask(t.spec, t.name, t.lane) for t in self.snap.human),
            timers=tuple(WaitingTimerView(t.spec, t.due_at, t.attached_to) for t in self.snap.timers),
            data=data, changes=changes, opened=opened, closed=closed, path=tuple(self.path), passed=passed,
            outcome=outcome[0] if outcome else None)

    # -- after the last step ------------------------------------------------------------------
    def finish(self) -> None:
        for item in self.mirror.unmatched.values():
            step = self._step_at(item.created_at)
            self.diffs.append(Difference(step, None, "work items", f"#{item.id} {item.task_spec}", None,
                                         said(f"待办 #{item.id}（", Ref(item.name, item.task_spec),
                                              f"，创建于 {when(item.created_at)}）在回放中没有对应的待办")))
        self.unrecorded_completions()
        if self.last_state is None:
            return
        step, last = self.last_state
        if not self.detail:  # the state serialized once, after the last step
            self.doc = orjson.loads(self.engine.dumps(self.wf))
        replayed = canonical(self.doc)
        found, stored = stored_state(self.record, step, last, replayed, self.definition)
        self.diffs.extend(found)
        if stored is not None:
            for recorded_id, replayed_id in self.mirror.to_replay.items():
                a, b = stored.labels.get(recorded_id), replayed.labels.get(replayed_id)
                if a != b:
                    self.diffs.append(Difference(step, last.seq, "task identity", a, b,
                                                 said("流程任务 ", Ref("", recorded_id),
                                                      f" 在存储的状态中编号为 {a}，在回放中编号为 {b}")))
                    break
        self.diffs.extend(timers_and_stage(self.record, step, last, self.snap, self.engine.outcome(self.wf),
                                           bool(self.wf.is_completed()), self.labels))

    def unrecorded_completions(self) -> None:
        referenced = {ev.body().get("work_item") for ev in self.record.events if ev.kind == "task.complete"}
        for item in self.record.work_items:
            if item.status == "completed" and item.id not in referenced and item.completed_at is not None:
                step = self._step_at(item.completed_at)
                self.diffs.append(Difference(step, None, "missing event", f"#{item.id} completed", None,
                                             said(f"待办 #{item.id}（", Ref(item.name, item.task_spec), "）由",
                                                  Ref("办理人", item.completed_by or "—", plain=True),
                                                  f" 于 {when(item.completed_at)}（第 {step} 步之后）办理，"
                                                  "但没有审计事件记录此次办理（被删除）")))

    def _step_at(self, when: datetime) -> int:
        """The last step at or before `when` (1 when none)."""
        return max((s.index for s in self.steps if s.at <= when), default=1)


def _yuan(fen: Any) -> str:
    return f"{yuan(fen)} 元" if isinstance(fen, int) else "（无金额）"


class _Stop(Exception):
    def __init__(self, difference: Difference) -> None:
        super().__init__(difference.message)
        self.difference = difference


def replay_record(record: CaseRecord, *, deadline: DeadlineFn | None = None, engine: Engine | None = None,
                  source: str = "database", detail: bool = True) -> ReplayResult:
    """Replay a recorded case in a fresh engine (or `engine`, whose diagram cache may be reused).

    Needs no database: `record` holds everything. Never raises for a case that does not reproduce;
    the result names the first differing step. With `detail` False only the verdict is wanted: the
    commands are re-executed and checked (each event's hash and link, each command applies, the
    timers fired, the work items opened, closed and completed) without building the step views or
    serializing the state after each step; the final state is compared once. Only when that replay
    finds a difference is the case replayed again step by step, so a reproduced case costs little
    more than the engine alone and a differing one is reported exactly as with `detail`.
    """
    if engine is None:
        if deadline is None:
            raise ValueError("replay_record needs a deadline function or an engine")
        engine = Engine(deadline)
    if not detail:
        verdict = _run(record, engine, source, detail=False)
        if verdict.reproduced:
            return verdict
    return _run(record, engine, source, detail=True)


def _run(record: CaseRecord, engine: Engine, source: str, *, detail: bool) -> ReplayResult:
    run = _Replay(record, engine, detail=detail)
    complete = True
    for i, ev in enumerate(record.events, start=1):
        try:
            run.run_step(i, ev)
        except _Stop as stop:
            run.diffs.append(stop.difference)
            complete = False
            break
    if complete:
        run.finish()
    else:  # the rest would only repeat the stop; a completion without its event still tells where one was lost
        run.unrecorded_completions()
    diffs = sorted(run.diffs, key=lambda d: d.step)  # stable: within a step, in the order found
    if not record.events:
        diffs = [Difference(1, None, "events", None, None, said(f"申请 {record.application_id} 没有审计事件"))]
    return ReplayResult(record.application_id, record.instance_id, run.definition, run.process_id, source,
                        tuple(run.steps), tuple(diffs), complete)


def replay_case(uow: UnitOfWork, services: Services, *, application_id: int, user: User | None = None,
                engine: Engine | None = None, detail: bool = True) -> ReplayResult:
    """Replay a case from the database (or from its archive bundle once archived). Read only.

    With `user`, only auditors, managers and admins may replay, and only cases in their scope
    (NotFound otherwise). The replay uses the stage time limits and calendar of `services`.
    """
    session = uow.session
    if user is not None:
        access.require_role(user, *READERS)
        access.visible_application(session, user, application_id)
    archived = session.scalars(select(CaseArchive).where(CaseArchive.application_id == application_id)).first()
    engine = engine or Engine(deadline_function(stage_limits=services.settings.stage_limits,
                                                timezone=services.settings.timezone, calendar=services.calendar))
    if archived is not None:
        record = read_archive(services.settings.data_dir, archived.path, archived.sha256)
        seqs = [e.seq for e in record.events]
        record = replace(record, links=chain_links(session, seqs), chain=chain_hashes(session, seqs))
        return replay_record(record, engine=engine, source="archive", detail=detail)
    try:
        record = load_case(session, application_id)
    except NotFound:
        raise NotFound(f"案件 #{application_id} 不存在") from None
    return replay_record(record, engine=engine, detail=detail)
