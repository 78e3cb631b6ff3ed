"""The case list (for the dashboard, its CSV/XLSX export and GET /api/v1/cases): scoped, filtered, sorted."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.dashboard.filters import Filters, narrow
from services.db.models import Application, AwardType, Call, Enterprise, Payout, ReviewUnit, User, WorkItem
from services.errors import InvalidInput

SORTS: dict[str, Any] = {"id": Application.id, "created": Application.created_at, "updated": Application.updated_at,
                         "unit": Application.review_unit_code, "stage": Application.stage,
                         "requested": Application.requested_fen, "awarded": Application.awarded_fen}


@dataclass(frozen=True)
class CaseListRow:
    id: int
    enterprise: str
    uscc: str
    unit_code: str
    unit_name: str
    call_id: int
    call_title: str
    award_type: str
    award_name: str
    status: str
    stage: str
    stage_name: str
    requested_fen: int
    awarded_fen: int | None
    paid_fen: int | None
    created_at: datetime
    due_at: datetime | None  # the earliest deadline of the case's open work
    overdue: bool
    escalation_level: int


def case_list(session: Session, *, user: User, filters: Filters, now: datetime, sort: str = "id",
              limit: int | None = None, offset: int = 0) -> tuple[int, list[CaseListRow]]:
    """The cases the user may see, filtered and sorted (`-` prefix: descending): (total, one page).

    A case is overdue when open work of it is past its deadline at `now` (or its deadline timer fired).
    """
    column = SORTS.get(sort.removeprefix("-"))
    if column is None:
        raise InvalidInput("sort", f"排序字段须为 {'、'.join(SORTS)} 之一")
    base = narrow(select(Application.id), user, filters)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = narrow(
        select(Application, Enterprise.name, Enterprise.uscc, ReviewUnit.name_zh, Call.title, AwardType.name_zh,
               Payout.amount_fen)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .join(ReviewUnit, ReviewUnit.code == Application.review_unit_code)
        .join(Call, Call.id == Application.call_id)
        .join(AwardType, AwardType.code == Application.award_type_code)
        .outerjoin(Payout, Payout.application_id == Application.id), user, filters)
    order = column.desc() if sort.startswith("-") else column.asc()
    query = query.order_by(order, Application.id).offset(offset).limit(limit)
    found = session.execute(query).all()
    items = _open_items(session, [r[0].id for r in found])
    rows = []
    for app, ent, uscc, unit_name, call_title, award_name, paid in found:
        mine = items.get(app.id, [])
        due = min((w.due_at for w in mine if w.due_at is not None), default=None)
        rows.append(CaseListRow(
            app.id, ent, uscc, app.review_unit_code, unit_name, app.call_id, call_title, app.award_type_code,
            award_name, app.status, app.stage, app.stage_name, app.requested_fen, app.awarded_fen, paid,
            app.created_at, due, any(w.overdue or (w.due_at is not None and w.due_at < now) for w in mine),
            max((w.escalation_level for w in mine), default=0)))
    return total, rows


def _open_items(session: Session, app_ids: list[int], chunk: int = 500) -> dict[int, list[WorkItem]]:
    found: dict[int, list[WorkItem]] = defaultdict(list)
    for i in range(0, len(app_ids), chunk):
        for w in session.scalars(select(WorkItem).where(WorkItem.status == "open",
                                                        WorkItem.application_id.in_(app_ids[i:i + chunk]))):
            found[w.application_id].append(w)
    return found


