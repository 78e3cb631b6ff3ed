"""Mail that a state change causes, written to the outbox in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models import Payout, User, WorkItem
from services.mail import outbox

APPROVED_STAGES = {"district_check", "onsite_check"}


def open_item(session: Session, application_id: int) -> WorkItem | None:
    """The case's first open work item (lowest id)."""
    return session.scalars(select(WorkItem).where(
        WorkItem.application_id == application_id, WorkItem.status == "open").order_by(WorkItem.id)).first()


@dataclass(frozen=True)
class Following:
    """The step a case waits on after a decision."""

    name: str
    task_spec: str
    due_at: datetime | None


def decision_mail(session: Session, *, application_id: int, item_id: int, item_name: str, item_spec: str,
                  enterprise_name: str, email: str, award_name: str, decision: str, reason: str | None,
                  following: Following | None, awarded_fen: int | None, payout: Payout | None, now: datetime) -> None:
    """Tell the applicant what a decision means for them: returned, approved, rejected, in public notice,
    paid. Queued in the caller's transaction, once per decided work item (the outbox's dedupe key)."""
    base: dict[str, Any] = {"enterprise_name": enterprise_name, "application_id": application_id,
                            "award_name": award_name, "stage_name": item_name}
    template: str | None = None
    extra: dict[str, Any] = {}
    if decision == "return" and following is not None:
        template, extra = "application_returned", {"reasons": [reason or ""], "resubmit_by": following.due_at}
    elif decision == "reject":
        template, extra = "application_rejected", {"reason": reason or ""}
    elif decision == "approve" and item_spec in APPROVED_STAGES:
        template, extra = "application_approved", {
            "approved_at": now, "next_stage_name": following.name if following else None}
    elif decision == "approve" and following is not None and following.task_spec == "public_notice":
        template, extra = "public_notice", {"amount_fen": awarded_fen, "notice_until": following.due_at}
    elif decision == "pay":
        if payout is None:
            payout = session.scalars(select(Payout).where(Payout.application_id == application_id)).one()
        template, extra = "application_paid", {"amount_fen": payout.amount_fen, "reference": payout.reference,
                                               "paid_at": payout.paid_at}
    if template is None:
        return
    outbox.enqueue(session, to=[email], template=template, context={**base, **extra}, now=now,
                   dedupe_key=f"{template}:{application_id}:{item_id}", application_id=application_id,
                   with_commit=True)


def escalation_recipients(session: Session, item: WorkItem) -> list[str]:
    """The unit head (for a district task) and every manager."""
    query = select(User.email).where(User.active.is_(True), User.email.is_not(None))
    who = User.role == "manager"
    if item.review_unit_code:
        who = who | (User.unit_head.is_(True) & (User.review_unit_code == item.review_unit_code))
    return sorted({e for e in session.scalars(query.where(who)) if e})
