"""The auditor's index: the cases to audit (city-wide for auditors, managers and admins) and the
status of the whole audit chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts import access
from services.audit import chain as audit
from services.audit.history import require_reader
from services.db.models import Application, AuditEvent, AwardType, Enterprise, ReviewUnit, User
from services.db.models_audit import AuditVerification
from services.errors import InvalidInput
from services.labels import APPLICATION_STATUS, one_of

if TYPE_CHECKING:
    from services.bootstrap import Services
    from services.uow import UnitOfWork

STATUSES = ("running", "paid", "rejected")


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    checked: int
    broken_at: int | None
    reason: str | None
    reason_zh: str | None
    full_at: datetime | None = None  # when the full walk this status rests on ran
    since_full: int = 0  # events checked one by one after that walk

    def as_report(self) -> audit.ChainReport:
        return audit.ChainReport(self.ok, self.checked, self.broken_at, self.reason)


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


def record_full_walk(session: Session, now: datetime) -> AuditVerification:
    """Walk the whole chain now and record the result (in the caller's transaction)."""
    report = audit.verify(session)
    head = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == report.checked)) if report.checked else None
    row = AuditVerification(verified_at=now, checked=report.checked, head_hash=head or audit.GENESIS,
                            ok=report.ok, broken_at=report.broken_at, reason=report.reason)
    session.add(row)
    session.flush()
    return row


def chain_status(session: Session, *, now: datetime, max_age: timedelta, full: bool = False) -> ChainStatus:
    """The state of the whole audit chain, cheaply: the latest full walk (a new one, recorded, when
    none is younger than `max_age` or `full` is asked for), then the events after it one by one,
    with the content of the last event that walk found intact checked again. A break names the first
    broken link (in English and zh-CN). The caller commits (the walk's record is kept)."""
    latest = session.scalars(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)).first()
    if full or latest is None or now - latest.verified_at > max_age:
        latest = record_full_walk(session, now)
        since = 0
        report = audit.ChainReport(latest.ok, latest.checked, latest.broken_at, latest.reason)
    elif not latest.ok:
        since = 0
        report = audit.ChainReport(False, latest.checked, latest.broken_at, latest.reason)
    else:
        report = audit.verify(session, since=(latest.checked, latest.head_hash))
        since = max(report.checked - latest.checked, 0)
        if not report.ok and report.broken_at is not None and report.broken_at <= latest.checked:
            # the last event that walk found intact changed since: walk the whole chain again now
            latest = record_full_walk(session, now)
            since = 0
            report = audit.ChainReport(latest.ok, latest.checked, latest.broken_at, latest.reason)
    return ChainStatus(report.ok, report.checked, report.broken_at, report.reason, _reason_zh(report.reason),
                       full_at=latest.verified_at, since_full=since)


def current_chain(uow: UnitOfWork, services: Services, *, full: bool = False) -> ChainStatus:
    """`chain_status` with the settings' maximum age, committing the record of a new full walk."""
    status = chain_status(uow.session, now=services.clock.now(), full=full,
                          max_age=timedelta(minutes=services.settings.audit_verify_max_age_minutes))
    uow.commit()
    return status


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
            raise InvalidInput("status", f"须为 {one_of(APPLICATION_STATUS, STATUSES)} 之一")
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
