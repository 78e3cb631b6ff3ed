"""The daily digest: every working day each officer is told what is pending, due soon and overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.awards import tasks
from services.db.models import Application, Enterprise, User
from services.mail import outbox

if TYPE_CHECKING:
    from services.bootstrap import Services

OFFICER_ROLES = ("district", "bureau", "finance")


@dataclass
class ReminderReport:
    working_day: bool
    officers: int = 0
    queued: int = 0

    def summary(self) -> dict[str, int | bool]:
        return {"working_day": self.working_day, "officers": self.officers, "queued": self.queued}


def run_reminders(services: Services, now: datetime) -> ReminderReport:
    """Queue today's digest for every officer with open work (once per officer and day; idempotent)."""
    tz = ZoneInfo(services.settings.timezone)
    today = now.astimezone(tz).date()
    if not services.calendar.is_workday(today):
        return ReminderReport(working_day=False)
    report = ReminderReport(working_day=True)
    lead = services.settings.reminder_lead_working_days
    soon_until, _provisional = services.calendar.add_working_days(today, lead)
    with services.uow() as uow:
        session = uow.session
        officers = session.scalars(select(User).where(User.role.in_(OFFICER_ROLES), User.active.is_(True),
                                                      User.email.is_not(None)).order_by(User.id)).all()
        for officer in officers:
            items = tasks.inbox(session, officer, limit=500)
            if not items:
                continue
            report.officers += 1
            lists: dict[str, list[dict[str, object]]] = {"overdue": [], "due_soon": [], "pending": []}
            for item in items:
                app = session.get_one(Application, item.application_id)
                entry: dict[str, object] = {
                    "application_id": app.id, "task_name": item.name, "due_at": item.due_at,
                    "enterprise_name": session.get_one(Enterprise, app.enterprise_id).name}
                due_day = item.due_at.astimezone(tz).date() if item.due_at else None
                if due_day is not None and (item.overdue or (item.due_at is not None and item.due_at <= now)):
                    entry["overdue_working_days"] = max(1, services.calendar.working_days_between(due_day, today))
                    lists["overdue"].append(entry)
                elif due_day is not None and due_day <= soon_until:
                    lists["due_soon"].append(entry)
                else:
                    lists["pending"].append(entry)
            mail = outbox.enqueue(session, to=[officer.email or ""], template="officer_digest",
                                  context={"officer_name": officer.display_name, "generated_at": now, **lists},
                                  now=now, dedupe_key=f"digest:{officer.username}:{today.isoformat()}")
            report.queued += mail is not None
        uow.commit()
    return report
