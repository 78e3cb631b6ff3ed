"""`smeflow calendar load`: install a year's holiday calendar and recompute the deadlines it changes.

A deadline counted through a year whose arrangement was unknown was computed on the statutory
holidays alone (no make-up or swapped days) and marked provisional (services/time/calendar.py).
Loading that year's file recomputes, in ONE transaction, every open deadline whose counting runs through that year:

* award work items (``due_at``, ``due_provisional``), the ``timer`` rows the sweep reads, and the
  timer inside the serialized workflow: a stage timer is ``stage_deadline("<stage>")``, evaluated
  once when its task opens and kept as the timer task's ``event_value``; it is evaluated again, as
  of the moment the task opened (the work item's ``created_at``), with the new calendar;
* arrears steps and ``arrears_timer`` rows the same way (a registered case whose route has not
  started only has its placeholder step, due ``stage_deadline("arrears_acceptance")`` after
  registration).

Timers whose due time comes from case data (the arrears handling period, the debtor's reply and
repayment dates: calendar-day periods under the statute) are not recomputed, and their steps keep
their mark. A step whose timer already fired is left as it is. Every changed case gets a
``calendar.reload`` audit event in the same transaction; a deadline that still runs through another
unknown year stays provisional. The file is installed only if the transaction commits.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.audit import chain as audit
from services.bootstrap import Services
from services.db.models import ProcessInstance, Timer, WorkItem
from services.db.models_arrears import ArrearsTask, ArrearsTimer
from services.engine.runtime import WaitingTimer
from services.errors import Conflict
from services.time.calendar import CalendarError, WorkingCalendar, YearCalendar, load_year_file
from services.uow import UnitOfWork

__all__ = ["KIND", "LoadReport", "Moved", "load_calendar"]

KIND = "calendar.reload"
_STAGE_TIMER = re.compile(r"""^\s*stage_deadline\(\s*["']([A-Za-z0-9_]+)["']\s*\)\s*$""")
_ACCEPTANCE = "arrears_acceptance"
Step = WorkItem | ArrearsTask  # an open step with a deadline: an award work item or an arrears step


@dataclass(frozen=True)
class Moved:
    """One open deadline the load looked at and changed (its time, its mark, or both)."""

    table: str  # work_item | arrears_task
    row_id: int
    task: str
    before: datetime
    after: datetime
    provisional_before: bool
    provisional_after: bool
    name: str = ""  # the step's name as the inbox shows it (the CLI prints it)


@dataclass
class LoadReport:
    year: int
    source: str
    installed: Path
    replaced: bool
    moved: list[Moved] = field(default_factory=list)
    cases: int = 0
    still_provisional: int = 0
    not_recomputed: int = 0  # provisional steps whose timer reads case data or already fired


def load_calendar(services: Services, file: Path, *, actor: str, now: datetime) -> LoadReport:
    """Validate ``file``, recompute the deadlines it changes and install it, all or nothing.

    Raises CalendarError (naming the field and the rule) for a bad file; Conflict if a case changed
    at the same time (run it again). On any error nothing is changed.
    """
    year_calendar = load_year_file(file)
    old = services.calendar
    if old.library_knows(year_calendar.year):
        raise CalendarError(file, "year", f"{year_calendar.year} 年的安排已随程序包（chinesecalendar）提供，"
                                          "程序包优先于数据文件：此文件不会生效")
    target_dir = services.settings.calendar_install_dir
    content = file.read_bytes()
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        WorkingCalendar(target_dir)  # every file already installed must still be valid
    except OSError as exc:
        raise CalendarError(target_dir, "", f"无法创建节假日安排目录：{exc.strerror or exc}") from exc
    final = target_dir / f"{year_calendar.year}.toml"
    previous = final.read_bytes() if final.exists() else None
    report = LoadReport(year=year_calendar.year, source=year_calendar.source, installed=final,
                        replaced=previous is not None)
    tmp = target_dir / f".{year_calendar.year}.toml.{os.getpid()}.tmp"
    services.calendar = old.with_year(year_calendar)  # what stage_deadline() counts with from here on
    try:
        tmp.write_bytes(content)
        with services.uow() as uow:
            _recompute(uow, services, year_calendar, report, actor=actor, now=now,
                       file_sha256=hashlib.sha256(content).hexdigest())
            os.replace(tmp, final)
            try:
                uow.commit()
            except BaseException:
                _restore(final, previous)
                raise
    except BaseException:
        services.calendar = old
        tmp.unlink(missing_ok=True)
        raise
    return report


def _restore(final: Path, previous: bytes | None) -> None:
    if previous is None:
        final.unlink(missing_ok=True)
    else:
        final.write_bytes(previous)


# -- the recompute --------------------------------------------------------------------------------
def _span(services: Services, year: int) -> tuple[datetime, datetime]:
    """Open deadlines due after the start of ``year`` that were counted from before its end."""
    tz = ZoneInfo(services.settings.timezone)
    return datetime(year, 1, 1, tzinfo=tz).astimezone(UTC), datetime(year + 1, 1, 1, tzinfo=tz).astimezone(UTC)


def _recompute(uow: UnitOfWork, services: Services, year_calendar: YearCalendar, report: LoadReport, *,
               actor: str, now: datetime, file_sha256: str) -> None:
    session = uow.session
    begin, end = _span(services, year_calendar.year)
    items = session.scalars(select(WorkItem).where(
        WorkItem.status == "open", WorkItem.due_at.is_not(None), WorkItem.due_at > begin,
        WorkItem.created_at < end).order_by(WorkItem.instance_id, WorkItem.id)).all()
    steps = session.scalars(select(ArrearsTask).where(
        ArrearsTask.status == "open", ArrearsTask.due_at.is_not(None), ArrearsTask.due_at > begin,
        ArrearsTask.created_at < end).order_by(ArrearsTask.case_id, ArrearsTask.id)).all()
    event = {"year": year_calendar.year, "source": year_calendar.source, "file_sha256": file_sha256}

    award_groups: dict[int, list[Step]] = defaultdict(list)
    for item in items:
        award_groups[item.instance_id].append(item)
    arrears_groups: dict[int, list[Step]] = defaultdict(list)
    for step in steps:
        if step.instance_id is not None:
            arrears_groups[step.instance_id].append(step)

    def recompute(groups: dict[int, list[Step]], timer_model: Any) -> None:
        for instance_id, group in groups.items():
            moved, state = _instance(session, services, instance_id, group, timer_model, report)
            if moved:
                report.cases += 1
                first = group[0]
                application_id, case = ((first.application_id, {}) if isinstance(first, WorkItem)
                                        else (None, {"case": first.case_id}))
                audit.append(session, kind=KIND, actor=actor, at=now, instance_id=instance_id,
                             application_id=application_id,
                             payload={**event, **case, "moved": [_json(m) for m in moved], **_state(state)})

    recompute(award_groups, Timer)
    for step in steps:
        if step.instance_id is None:  # a registered case whose route has not started
            moved_one = _placeholder(services, step, report)
            if moved_one is not None:
                report.cases += 1
                audit.append(session, kind=KIND, actor=actor, at=now, payload={
                    **event, "case": step.case_id, "moved": [_json(moved_one)]})
    recompute(arrears_groups, ArrearsTimer)
    session.flush()


def _instance(session: Session, services: Services, instance_id: int, rows: list[Step], timer_model: Any,
              report: LoadReport) -> tuple[list[Moved], bytes | None]:
    """Recompute the stage timers of one workflow instance; returns what moved and the new state."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    inst = session.scalars(query).one()
    engine = services.engine
    wf = engine.loads(inst.state)
    waiting = engine.snapshot(wf).timers
    moved: list[Moved] = []
    state_changed = False
    for row in rows:
        attached = [t for t in waiting if t.attached_to == row.task_spec]
        if row.overdue or not attached:  # its timer fired already (or it has none): left as it is
            report.not_recomputed += row.due_provisional
            continue
        new_values = _reevaluate(services, wf, attached, row.created_at)
        if new_values is None:  # a timer reads case data: not a working-day stage limit
            report.not_recomputed += row.due_provisional
            continue
        for timer, value in zip(attached, new_values, strict=True):
            due = _utc(datetime.fromisoformat(value))
            if due != timer.due_at:
                engine.set_timer_due(wf, timer, value)
                session.execute(update(timer_model).where(
                    timer_model.instance_id == instance_id, timer_model.task_id == timer.task_id).values(due_at=due))
                state_changed = True
        new_due = min(_utc(datetime.fromisoformat(v)) for v in new_values)
        change = _apply(services, row, new_due, report)
        if change is not None:
            moved.append(change)
    if not state_changed:
        return moved, None
    state = engine.dumps(wf)
    inst.state = state
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"案件流程 #{instance_id} 同时被他人改动，未作任何更改，"
                       "请重新载入") from exc
    return moved, state


def _reevaluate(services: Services, wf: Any, timers: Iterable[WaitingTimer], start: datetime) -> list[str] | None:
    """Each timer's ``stage_deadline(...)`` evaluated again as of ``start`` (None if one is not a stage timer)."""
    values = []
    for timer in timers:
        if not _STAGE_TIMER.match(services.engine.timer_expression(wf, timer)):
            return None
        values.append(services.engine.reevaluate_timer(wf, timer, start))
    return values


def _placeholder(services: Services, step: ArrearsTask, report: LoadReport) -> Moved | None:
    if step.overdue:
        report.not_recomputed += step.due_provisional
        return None
    return _apply(services, step, services.stage_deadline(_ACCEPTANCE, step.created_at), report)


def _apply(services: Services, row: Step, new_due: datetime, report: LoadReport) -> Moved | None:
    provisional = services.deadline_is_provisional(row.created_at, new_due)
    report.still_provisional += provisional
    assert row.due_at is not None  # only steps with a deadline are selected
    old_due, old_provisional = _utc(row.due_at), row.due_provisional
    if new_due == old_due and provisional == old_provisional:
        return None
    row.due_at, row.due_provisional = new_due, provisional
    change = Moved(row.__tablename__, row.id, row.task_spec, old_due, new_due, old_provisional, provisional,
                   row.name)
    report.moved.append(change)
    return change


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _json(m: Moved) -> dict[str, Any]:
    return {m.table: m.row_id, "task": m.task, "from": m.before.isoformat(), "to": m.after.isoformat(),
            "provisional": m.provisional_after}


def _state(state: bytes | None) -> dict[str, str]:
    return {"state_sha256": hashlib.sha256(state).hexdigest()} if state is not None else {}
