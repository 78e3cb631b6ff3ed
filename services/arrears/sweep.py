"""The arrears sweep: fires the due timers of arrears cases (one transaction per case, touching only
cases with due work) and marks the acceptance review of registered, not yet started cases overdue.

Idempotent like the deadline sweep: the instance's row version decides who fires a timer, so two
sweeps at once, or one run twice, fire each timer once. Arrears timers live in their own table, so
the award sweep (services.awards.deadlines) never sees an arrears instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from services.arrears.cases import ArrearsRuntime
from services.db.models import ProcessInstance
from services.db.models_arrears import ArrearsCase, ArrearsTask, ArrearsTimer
from services.errors import Conflict

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["SweepReport", "sweep"]


@dataclass
class SweepReport:
    due_cases: int = 0
    fired: list[tuple[int, str]] = field(default_factory=list)  # (case id, timer spec)
    skipped: int = 0
    marked_overdue: int = 0  # registered cases whose acceptance review ran out

    def summary(self) -> dict[str, int]:
        return {"due_cases": self.due_cases, "fired": len(self.fired), "skipped": self.skipped,
                "marked_overdue": self.marked_overdue}


def sweep(services: Services, now: datetime, *, limit: int = 1000) -> SweepReport:
    """Fire every arrears timer due at `now`; mark overdue acceptance reviews of registered cases."""
    report = SweepReport()
    with services.uow() as uow:
        due = uow.session.scalars(select(ArrearsTimer.instance_id).where(ArrearsTimer.due_at < now)
                                  .distinct().limit(limit)).all()
    report.due_cases = len(due)
    runtime = ArrearsRuntime(services)
    for instance_id in due:
        with services.uow() as uow:
            session = uow.session
            query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            inst = session.scalars(query).first()
            case = session.scalar(select(ArrearsCase).where(ArrearsCase.instance_id == instance_id))
            if inst is None or case is None:
                report.skipped += 1
                continue
            try:
                fired = runtime.fire_timers(uow, case=case, inst=inst, now=now)
            except Conflict:
                report.skipped += 1
                continue
            uow.commit()
            report.fired.extend((case.id, t.spec) for t in fired)
    with services.uow() as uow:
        result = uow.session.execute(
            update(ArrearsTask).where(ArrearsTask.instance_id.is_(None), ArrearsTask.status == "open",
                                      ArrearsTask.overdue.is_(False), ArrearsTask.due_at < now)
            .values(overdue=True).execution_options(synchronize_session=False))
        report.marked_overdue = int(result.rowcount)  # type: ignore[attr-defined]
        uow.commit()
    return report
