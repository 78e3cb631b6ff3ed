"""Read models: where every case is (for `smeflow cases` and the manager's views)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models import Application, AwardType, Enterprise, Payout, WorkItem


@dataclass(frozen=True)
class CaseRow:
    application_id: int
    enterprise: str
    award: str
    status: str
    stage: str
    stage_name: str
    requested_fen: int
    awarded_fen: int | None
    paid_fen: int | None
    due_at: datetime | None
    overdue: bool
    escalated: bool


def case_rows(session: Session) -> list[CaseRow]:
    """Every application with its stage, open deadline and payout."""
    open_items = {w.application_id: w for w in session.scalars(
        select(WorkItem).where(WorkItem.status == "open").order_by(WorkItem.id))}
    paid = {p.application_id: p.amount_fen for p in session.scalars(select(Payout))}
    query = (select(Application, Enterprise.name, AwardType.name_zh)
             .join(Enterprise, Enterprise.id == Application.enterprise_id)
             .join(AwardType, AwardType.code == Application.award_type_code)
             .order_by(Application.id))
    rows = []
    for app, ent_name, award_name in session.execute(query):
        item = open_items.get(app.id)
        rows.append(CaseRow(app.id, ent_name, award_name, app.status, app.stage, app.stage_name, app.requested_fen,
                            app.awarded_fen, paid.get(app.id), item.due_at if item else None,
                            bool(item and item.overdue), bool(item and item.escalation_level >= 2)))
    return rows
