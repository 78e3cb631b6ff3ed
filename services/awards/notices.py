"""Mail that a state change causes, written to the outbox in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models import Application, AwardType, Enterprise, Payout, User, WorkItem
from services.mail import outbox

APPROVED_STAGES = {"district_check", "onsite_check"}


def _open_item(session: Session, application: Application) -> WorkItem | None:
    return session.scalars(select(WorkItem).where(
        WorkItem.application_id == application.id, WorkItem.status == "open").order_by(WorkItem.id)).first()


def after_decision(session: Session, *, application: Application, item: WorkItem, decision: str,
                   reason: str | None, now: datetime) -> None:
    """Tell the applicant what a decision means for them: returned, approved, rejected, in public notice, paid."""
    enterprise = session.get_one(Enterprise, application.enterprise_id)
    if not enterprise.email:
        return
    award = session.get_one(AwardType, application.award_type_code)
    base: dict[str, Any] = {"enterprise_name": enterprise.name, "application_id": application.id,
                            "award_name": award.name_zh, "stage_name": item.name}
    following = _open_item(session, application)
    template: str | None = None
    extra: dict[str, Any] = {}
    if decision == "return" and following is not None:
        template, extra = "application_returned", {"reasons": [reason or ""], "resubmit_by": following.due_at}
    elif decision == "reject":
        template, extra = "application_rejected", {"reason": reason or ""}
    elif decision == "approve" and item.task_spec in APPROVED_STAGES:
        template, extra = "application_approved", {
            "approved_at": now, "next_stage_name": following.name if following else None}
    elif decision == "approve" and following is not None and following.task_spec == "public_notice":
        template, extra = "public_notice", {"amount_fen": application.awarded_fen, "notice_until": following.due_at}
    elif decision == "pay":
        payout = session.scalars(select(Payout).where(Payout.application_id == application.id)).one()
        template, extra = "application_paid", {"amount_fen": payout.amount_fen, "reference": payout.reference,
                                               "paid_at": payout.paid_at}
    if template is None:
        return
    outbox.enqueue(session, to=[enterprise.email], template=template, context={**base, **extra}, now=now,
                   dedupe_key=f"{template}:{application.id}:{item.id}", application_id=application.id)


def escalation_recipients(session: Session, item: WorkItem) -> list[str]:
    """The unit head (for a district task) and every manager."""
    query = select(User.email).where(User.active.is_(True), User.email.is_not(None))
    who = User.role == "manager"
    if item.review_unit_code:
        who = who | (User.unit_head.is_(True) & (User.review_unit_code == item.review_unit_code))
    return sorted({e for e in session.scalars(query.where(who)) if e})
