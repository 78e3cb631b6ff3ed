"""Cases that wait on something other than an officer's next decision: a step that no ordinary officer
of its unit may take (sent to the unit head, or taken by no one: segregation of duties), and payouts the
finance bureau deferred because the fund is short, each with the reason the bureau and admins need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.dashboard.filters import Filters, narrow
from services.db.models import Application, Enterprise, ReviewUnit, User, WorkItem


@dataclass(frozen=True)
class StuckItem:
    work_item_id: int
    application_id: int
    enterprise: str
    unit_name: str
    stage_name: str
    kind: str  # "head" routed to the unit head | "nobody" no one may take it | "deferred" payout deferred
    reason: str
    due_at: datetime | None


def stuck_items(session: Session, *, user: User, filters: Filters, limit: int = 200) -> list[StuckItem]:
    """Open steps routed to a unit head or taken by no one, and deferred payouts, oldest first."""
    query = narrow(select(WorkItem, Enterprise.name, ReviewUnit.name_zh)
                   .join(Application, Application.id == WorkItem.application_id)
                   .join(Enterprise, Enterprise.id == Application.enterprise_id)
                   .join(ReviewUnit, ReviewUnit.code == Application.review_unit_code)
                   .where(WorkItem.status == "open",
                          or_(WorkItem.blocked_reason.is_not(None), WorkItem.task_spec == "finance_deferred"))
                   .order_by(WorkItem.created_at, WorkItem.id).limit(limit), user, filters)
    found = list(session.execute(query))
    deferred = _deferral_reasons(session, [w.application_id for w, *_ in found if w.task_spec == "finance_deferred"])
    items = []
    for w, enterprise, unit_name in found:
        if w.blocked_reason:
            kind = "head" if w.assignee else "nobody"
            reason = w.blocked_reason
        else:
            kind, reason = "deferred", deferred.get(w.application_id, "")
        items.append(StuckItem(w.id, w.application_id, enterprise, unit_name, w.name, kind, reason, w.due_at))
    return items


def _deferral_reasons(session: Session, application_ids: list[int]) -> dict[int, str]:
    """The reason of each case's latest deferral by the finance bureau."""
    if not application_ids:
        return {}
    query = (select(WorkItem.application_id, WorkItem.reason)
             .where(WorkItem.application_id.in_(application_ids), WorkItem.outcome == "defer")
             .order_by(WorkItem.completed_at, WorkItem.id))
    return {app_id: reason or "" for app_id, reason in session.execute(query)}
