"""The auditor's index: the cases to audit (city-wide for auditors, managers and admins) and the
status of the whole audit chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import access, audit
from services.db.models import Application, AuditEvent, AwardType, Enterprise, ReviewUnit, User
from services.errors import InvalidInput
from services.history import require_reader

STATUSES = ("running", "paid", "rejected")


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    checked: int
    broken_at: int | None
    reason: str | None
    reason_zh: str | None


@dataclass(frozen=True)
class CaseSummary:
    application_id: int
    enterprise: str
    award_name: str
    review_unit: str
    status: str
    stage_name: str
    created_at: datetime
    updated_at: datetime
    events: int


def chain_status(session: Session) -> ChainStatus:
    """Verify the whole audit chain; on a break, name the first broken link (in English and zh-CN)."""
    report = audit.verify(session)
    return ChainStatus(report.ok, report.checked, report.broken_at, report.reason, _reason_zh(report.reason))


def _reason_zh(reason: str | None) -> str | None:
    if reason is None:
        return None
    for needle, text in (("missing", "该事件缺失（被删除）"), ("link", "与前一事件的链接不符（顺序被改动）"),
                         ("content", "内容与其哈希不符（已被篡改）"), ("removed", "末尾的事件被删除")):
        if needle in reason:
            return text
    return reason


def case_list(session: Session, *, user: User, status: str | None = None, q: str | None = None,
              sort: str = "id", limit: int = 500) -> list[CaseSummary]:
    """The cases the user may read, with how many audit events each has."""
    require_reader(user)
    counts = (select(AuditEvent.application_id.label("app_id"), func.count().label("n"))
              .where(AuditEvent.application_id.is_not(None)).group_by(AuditEvent.application_id).subquery())
    query = (select(Application, Enterprise.name, AwardType.name_zh, ReviewUnit.name_zh, counts.c.n)
             .join(Enterprise, Enterprise.id == Application.enterprise_id)
             .join(AwardType, AwardType.code == Application.award_type_code)
             .join(ReviewUnit, ReviewUnit.code == Application.review_unit_code)
             .outerjoin(counts, counts.c.app_id == Application.id))
    query = access.scope_applications(query, user)
    if status:
        if status not in STATUSES:
            raise InvalidInput("status", f"须为 {', '.join(STATUSES)} 之一")
        query = query.where(Application.status == status)
    needle = "".join(c for c in (q or "") if c.isprintable()).strip()[:100]
    if needle:
        as_id = int(needle) if needle.isascii() and needle.isdigit() and len(needle) <= 9 else -1
        query = query.where(Enterprise.name.contains(needle, autoescape=True) | (Application.id == as_id))
    orders: dict[str, Any] = {"id": Application.id.desc(), "updated": Application.updated_at.desc(),
                              "status": Application.status, "enterprise": Enterprise.name}
    order = orders.get(sort, orders["id"])
    query = query.order_by(order, Application.id.desc()).limit(limit)
    return [CaseSummary(app.id, ent, award, unit, app.status, app.stage_name, app.created_at, app.updated_at,
                        int(n or 0)) for app, ent, award, unit, n in session.execute(query)]
