"""The deadline sweep: fires the BPMN timers that are due, touching only the instances that have one,
and escalates overdue work per setting.

Each instance is fired in its own transaction with its audit event and its mail; a sweep that runs
twice, or two sweeps at once, fire each timer once (the row version of the instance decides) and
send each escalation once (the outbox's dedupe key decides).

Escalation: when a stage's deadline timer fires, the work item is marked overdue and its unit head and
the managers are told (level 1). Once it is `escalate_after_working_days` working days overdue, it is
escalated (level 2): the dashboard shows it as escalated and they are told again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, null, select
from sqlalchemy.orm import Session

from services.audit import chain as audit
from services.awards import labels, notices
from services.db.models import Application, Enterprise, ProcessInstance, ReviewUnit, Timer, WorkItem
from services.errors import Conflict
from services.mail import outbox

if TYPE_CHECKING:
    from services.bootstrap import Services


@dataclass
class SweepReport:
    due_instances: int = 0
    fired: list[tuple[int, str]] = field(default_factory=list)  # (application id, timer spec)
    skipped: int = 0
    escalated: list[int] = field(default_factory=list)  # work item ids escalated to level 2

    def summary(self) -> dict[str, int]:
        return {"due_instances": self.due_instances, "fired": len(self.fired), "skipped": self.skipped,
                "escalated": len(self.escalated)}


def sweep(services: Services, now: datetime, *, limit: int = 1000) -> SweepReport:
    """Fire every timer due at `now` and escalate what is long overdue (idempotent)."""
    report = SweepReport()
    with services.uow() as uow:
        due_ids = uow.session.scalars(
            select(Timer.instance_id).where(Timer.due_at < now).distinct().limit(limit)).all()
    report.due_instances = len(due_ids)
    for instance_id in due_ids:
        _fire_instance(services, instance_id, now, report)
    _escalate(services, now, report)
    return report


_PI: Any = ProcessInstance.__table__
_APP: Any = Application.__table__
_FIRE_READ_PLAIN = (select(_PI.c.version, case((_PI.c.version == bindparam("p_cached"), null()), else_=_PI.c.state),
                           _APP.c.id, _APP.c.enterprise_id, _APP.c.review_unit_code)
                    .join(_APP, _APP.c.instance_id == _PI.c.id)
                    .where(_PI.c.id == bindparam("p_id")))
# built once, plain Core (SQLAlchemy caches the compiled form); PostgreSQL: the instance row locked,
# skipped if another sweep holds it
_FIRE_READ = {False: _FIRE_READ_PLAIN, True: _FIRE_READ_PLAIN.with_for_update(skip_locked=True, of=_PI)}


def _fire_instance(services: Services, instance_id: int, now: datetime, report: SweepReport) -> None:
    """One instance's due timers in one transaction: the instance and its application read in one
    statement (the state only when the cached workflow is not at the row's version; on PostgreSQL the
    instance row locked, skipped if another sweep holds it)."""
    runtime = services.runtime
    hit = runtime.cached(instance_id)
    with services.uow() as uow:
        session = uow.session
        query = _FIRE_READ[session.get_bind().dialect.name == "postgresql"]
        row = session.execute(query, {"p_id": instance_id, "p_cached": hit[0] if hit is not None else -1}).first()
        if row is None:
            report.skipped += 1
            return
        version, state, app = row[0], row[1], _AppRow(row[2], row[3], row[4])
        try:
            fired, step = runtime.fire_timers(uow, instance_id=instance_id, version=version, state=state,
                                              application=app, now=now)
        except Conflict:
            report.skipped += 1
            return
        if step is not None and step.marked_overdue:
            application = session.get_one(Application, app.id)
            overdue = session.scalars(select(WorkItem).where(
                WorkItem.instance_id == instance_id, WorkItem.overdue.is_(True), WorkItem.escalation_level == 0,
                WorkItem.status == "open")).all()
            for item in overdue:
                item.escalation_level = 1
                _mail(services, session, item, application, now, level=1)
        uow.commit()
        report.fired.extend((app.id, t.spec) for t in fired)


@dataclass(frozen=True)
class _AppRow:
    id: int
    enterprise_id: int
    review_unit_code: str


def _overdue_working_days(services: Services, item: WorkItem, now: datetime) -> int:
    tz = ZoneInfo(services.settings.timezone)
    if item.due_at is None:
        return 0
    # due_at is the end of the last allowed day (local midnight): the day before is the last one in time
    last_day = (item.due_at.astimezone(tz) - timedelta(seconds=1)).date()
    return max(0, services.calendar.working_days_between(last_day, now.astimezone(tz).date()))


def _escalate(services: Services, now: datetime, report: SweepReport) -> None:
    limit = services.settings.escalate_after_working_days
    # Cheap pre-filter: `limit` working days overdue needs at least `limit` calendar days after the last
    # day in time, whose end is due_at, so due_at is at least limit - 1 days ago (the count decides).
    horizon = now - timedelta(days=limit - 1)
    with services.uow() as uow:
        candidates = uow.session.scalars(select(WorkItem.id).where(
            WorkItem.status == "open", WorkItem.overdue.is_(True), WorkItem.escalation_level == 1,
            WorkItem.due_at <= horizon)).all()
    for item_id in candidates:
        with services.uow() as uow:
            session = uow.session
            item = session.get_one(WorkItem, item_id)
            late = _overdue_working_days(services, item, now)
            if item.status != "open" or item.escalation_level != 1 or late < limit:
                continue
            claimed = session.query(WorkItem).filter(WorkItem.id == item.id, WorkItem.escalation_level == 1).update(
                {"escalation_level": 2, "escalated_at": now}, synchronize_session=False)
            if claimed != 1:
                continue
            app = session.get_one(Application, item.application_id)
            _mail(services, session, item, app, now, level=2)
            audit.append(session, kind="task.escalate", actor="system", at=now, instance_id=item.instance_id,
                         application_id=app.id, payload={"work_item": item.id, "task": item.task_spec})
            uow.commit()
            report.escalated.append(item.id)


def _mail(services: Services, session: Session, item: WorkItem, app: Application, now: datetime, *,
          level: int) -> None:
    recipients = notices.escalation_recipients(session, item)
    if not recipients or item.due_at is None:
        return
    unit = session.get(ReviewUnit, item.review_unit_code) if item.review_unit_code else None
    enterprise = session.get_one(Enterprise, app.enterprise_id)
    context = {"application_id": app.id, "enterprise_name": enterprise.name, "task_name": item.name,
               "unit_name": unit.name_zh if unit else labels.office(item.role),
               "assignee": item.assignee, "due_at": item.due_at,
               "overdue_working_days": _overdue_working_days(services, item, now)}
    outbox.enqueue(session, to=recipients, template="task_escalated", context=context, now=now,
                   dedupe_key=f"escalate{level}:{item.id}", application_id=app.id)
