"""The campaign's recurring work, each an idempotent service function that a Prefect flow calls:

* `remind`: on working days, a digest to every officer of the campaign (the handling departments'
  officers and the bureau) with what is overdue or due within `reminder_lead_working_days`; and a
  督办 mail to the department's heads and the managers once a step is `escalate_after_working_days`
  working days overdue (once per step). The debtor's non-cooperation steps themselves (supervision
  letter, summons, public notice) are steps of the route, started by its timers in the arrears sweep.
* `monthly`: on the first working day of a month, the previous month's ledger report as XLSX under
  `<data_dir>/reports` and a summary mail to the managers (once per month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.arrears.actions import inbox
from services.arrears.cases import ACTIVE
from services.arrears.confirmation import remind_confirmations
from services.arrears.ledger import STATUS_NAMES
from services.arrears.registry import department_names
from services.arrears.report import build_report, save_xlsx
from services.db.models import User
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsOfficer, ArrearsTask
from services.mail import outbox

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["MonthlyRun", "RemindReport", "first_working_day", "monthly", "remind"]


@dataclass
class RemindReport:
    working_day: bool
    digests: int = 0
    escalated: int = 0
    confirmations: int = 0  # 确权 requests reminded before their last day

    def summary(self) -> dict[str, int | bool]:
        return {"working_day": self.working_day, "digests": self.digests, "escalated": self.escalated,
                "confirmations": self.confirmations}


def _overdue_working_days(services: Services, due_at: datetime, today: date) -> int:
    tz = ZoneInfo(services.settings.timezone)
    last_day = (due_at.astimezone(tz) - timedelta(seconds=1)).date()
    return max(0, services.calendar.working_days_between(last_day, today))


def _item(session: Session, step: ArrearsTask) -> dict[str, Any]:
    case = session.get_one(ArrearsCase, step.case_id)
    debtor = session.get_one(ArrearsDebtor, case.debtor_id)
    return {"case_id": case.id, "task_name": step.name, "creditor_name": case.creditor_name,
            "debtor_name": debtor.name, "due_at": step.due_at}


def _officers(session: Session) -> list[User]:
    handlers = select(ArrearsOfficer.user_id)
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.email.is_not(None),
        (User.role == "bureau") | User.id.in_(handlers)).order_by(User.id)))


def remind(services: Services, now: datetime) -> RemindReport:
    """Queue today's digests and the due 督办 mails (each once; nothing on days off)."""
    tz = ZoneInfo(services.settings.timezone)
    today = now.astimezone(tz).date()
    if not services.calendar.is_workday(today):
        return RemindReport(working_day=False)
    report = RemindReport(working_day=True)
    soon_until, _ = services.calendar.add_working_days(today, services.settings.reminder_lead_working_days)
    with services.uow() as uow:
        session = uow.session
        for officer in _officers(session):
            overdue, due_soon = [], []
            for step in inbox(session, officer, limit=500):
                if step.due_at is None:
                    continue
                if step.overdue or step.due_at <= now:
                    overdue.append(_item(session, step) | {
                        "overdue_working_days": max(1, _overdue_working_days(services, step.due_at, today))})
                elif (step.due_at.astimezone(tz) - timedelta(seconds=1)).date() <= soon_until:
                    due_soon.append(_item(session, step))
            if not overdue and not due_soon:
                continue
            mail = outbox.enqueue(session, to=[officer.email or ""], template="arrears_digest", now=now,
                                  context={"officer_name": officer.display_name, "generated_at": now,
                                           "overdue": overdue, "due_soon": due_soon},
                                  dedupe_key=f"arrears-digest:{officer.username}:{today.isoformat()}")
            report.digests += mail is not None
        report.escalated = _escalate(services, session, now, today)
        report.confirmations = remind_confirmations(services, session, now=now, today=today)
        uow.commit()
    return report


def _escalate(services: Services, session: Session, now: datetime, today: date) -> int:
    limit = services.settings.escalate_after_working_days
    # `limit` working days overdue needs `limit` calendar days after the last day in time (due_at is its end)
    horizon = now - timedelta(days=limit - 1)
    steps = session.scalars(select(ArrearsTask).where(
        ArrearsTask.status == "open", ArrearsTask.escalation_level < 1, ArrearsTask.due_at <= horizon)).all()
    names = department_names(session)
    managers = [u.email or "" for u in session.scalars(select(User).where(
        User.role == "manager", User.active.is_(True), User.email.is_not(None)))]
    sent = 0
    for step in steps:
        assert step.due_at is not None
        late = _overdue_working_days(services, step.due_at, today)
        if late < limit:
            continue
        heads = [u.email or "" for u in session.scalars(select(User).join(
            ArrearsOfficer, ArrearsOfficer.user_id == User.id).where(
            ArrearsOfficer.department_code == step.department_code, ArrearsOfficer.head.is_(True),
            User.active.is_(True), User.email.is_not(None)))] if step.role in ("handler", "debtor") else []
        context = _item(session, step) | {"department_name": names.get(step.department_code or "", "市中小企业局"),
                                           "overdue_working_days": late}
        outbox.enqueue(session, to=heads + managers, template="arrears_escalated", context=context, now=now,
                       dedupe_key=f"arrears-escalate:{step.id}")
        session.execute(update(ArrearsTask).where(ArrearsTask.id == step.id).values(
            escalation_level=1, overdue=True).execution_options(synchronize_session=False))
        sent += 1
    return sent


def first_working_day(services: Services, day: date) -> bool:
    """Whether `day` is the first working day (工作日) of its month."""
    if not services.calendar.is_workday(day):
        return False
    return not any(services.calendar.is_workday(day.replace(day=d)) for d in range(1, day.day))


@dataclass
class MonthlyRun:
    ran: bool
    month: str | None = None
    path: Path | None = None
    mailed: bool = False

    def summary(self) -> dict[str, int | bool]:
        return {"ran": self.ran, "mailed": self.mailed}


def monthly(services: Services, now: datetime, *, force: bool = False) -> MonthlyRun:
    """On the first working day of a month: the previous month's report (XLSX) and the managers' mail."""
    today = now.astimezone(ZoneInfo(services.settings.timezone)).date()
    if not force and not first_working_day(services, today):
        return MonthlyRun(ran=False)
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    with services.uow() as uow:
        session = uow.session
        report = build_report(session, month=month, tz=services.settings.timezone)
        path = save_xlsx(report, services.settings.data_dir / "reports")
        managers = [u.email or "" for u in session.scalars(select(User).where(
            User.role == "manager", User.active.is_(True), User.email.is_not(None)))]
        active = sum(1 for r in report.rows if r.status in {STATUS_NAMES[s] for s in ACTIVE})
        context = {"month": report.month, "as_of": report.as_of, "totals": report.totals, "active": active,
                   "new_cases": report.new_cases, "repaid_in_month_fen": report.repaid_in_month_fen,
                   "by_status": list(report.by_status.items()), "file_name": path.name,
                   "oldest": [{"case_id": r.case_id, "creditor_name": r.creditor_name, "debtor_name": r.debtor_name,
                               "overdue_days": r.overdue_days, "outstanding_fen": r.outstanding_fen}
                              for r in report.oldest_overdue()]}
        mail = outbox.enqueue(session, to=managers, template="arrears_monthly", context=context, now=now,
                              dedupe_key=f"arrears-monthly:{report.month}")
        uow.commit()
    return MonthlyRun(ran=True, month=report.month, path=path, mailed=mail is not None)
