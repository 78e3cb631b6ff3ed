"""The deadline sweep: fires the BPMN timers that are due, touching only the instances that have one.

Each instance is fired in its own transaction with its audit event; a sweep that runs twice, or two
sweeps at once, fire each timer once (the row version of the instance decides).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from services.bootstrap import Services
from services.db.models import Application, ProcessInstance, Timer
from services.errors import Conflict


@dataclass
class SweepReport:
    due_instances: int = 0
    fired: list[tuple[int, str]] = field(default_factory=list)  # (application id, timer spec)
    skipped: int = 0


def sweep(services: Services, now: datetime, *, limit: int = 1000) -> SweepReport:
    """Fire every timer due at `now` (idempotent)."""
    report = SweepReport()
    with services.uow() as uow:
        due_ids = uow.session.scalars(
            select(Timer.instance_id).where(Timer.due_at < now).distinct().limit(limit)).all()
    report.due_instances = len(due_ids)
    for instance_id in due_ids:
        with services.uow() as uow:
            session = uow.session
            query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            inst = session.scalars(query).first()
            if inst is None:
                report.skipped += 1
                continue
            app = session.scalars(select(Application).where(Application.instance_id == inst.id)).one()
            try:
                fired = services.runtime.fire_timers(uow, inst=inst, application=app, now=now)
                uow.commit()
            except Conflict:
                report.skipped += 1
                continue
            report.fired.extend((app.id, t.spec) for t in fired)
    return report
