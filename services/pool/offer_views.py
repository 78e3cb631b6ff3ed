"""Offers as people see them: the enterprise's own (in /my), the district's list of offered enterprises
without an account, the per-call and per-district figures for the bureau; and the reminders."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models import Application, AwardType, Call, Enterprise, ReviewUnit, User, WorkItem
from services.db.models_pool import Offer
from services.errors import Forbidden
from services.mail import outbox
from services.pool.offers import CONFIRM

if TYPE_CHECKING:
    from services.bootstrap import Services

STATE_NAMES = {"open": "待确认", "confirmed": "已确认", "lapsed": "逾期失效", "declined": "企业放弃"}


def state_of(application: Application) -> str:
    if application.status in ("lapsed", "declined"):
        return application.status
    if application.status == "running" and application.stage == CONFIRM:
        return "open"
    return "confirmed"


@dataclass(frozen=True)
class OfferView:
    offer: Offer
    application: Application
    award_name: str
    enterprise_name: str
    call_title: str
    state: str
    confirm_by: datetime | None
    has_account: bool


def _views(session: Session, query: Any) -> list[OfferView]:
    rows = session.execute(query.join(Application, Application.id == Offer.application_id)
                           .join(AwardType, AwardType.code == Offer.award_type_code)
                           .join(Enterprise, Enterprise.id == Offer.enterprise_id)
                           .join(Call, Call.id == Offer.call_id).order_by(Offer.id)).all()
    ids = [r[0].application_id for r in rows]
    due: dict[int, datetime | None] = {}
    if ids:
        due.update((a, d) for a, d in session.execute(select(WorkItem.application_id, WorkItem.due_at).where(
            WorkItem.application_id.in_(ids), WorkItem.task_spec == CONFIRM, WorkItem.status == "open")))
    ents = [r[0].enterprise_id for r in rows]
    with_account = set(session.scalars(select(User.enterprise_id).where(
        User.enterprise_id.in_(ents), User.role == "applicant", User.active.is_(True)))) if ents else set()
    return [OfferView(o, a, name, ent, title, state_of(a), due.get(o.application_id), o.enterprise_id in with_account)
            for o, a, name, ent, title in rows]


def _select() -> Any:
    return select(Offer, Application, AwardType.name_zh, Enterprise.name, Call.title)


def my_offers(session: Session, user: User) -> list[OfferView]:
    """The offers of the applicant's enterprise."""
    if user.role != "applicant" or user.enterprise_id is None:
        return []
    return _views(session, _select().where(Offer.enterprise_id == user.enterprise_id))


def unit_offers(session: Session, user: User, *, call_id: int | None = None) -> list[OfferView]:
    """Offers of the district officer's unit (the bureau: every unit)."""
    if user.role not in {"district", "bureau", "manager", "admin", "auditor"}:
        raise Forbidden("只有区县、市中小企业局和管理人员可以查看免申即享奖励")
    query = _select()
    if user.role == "district":
        query = query.where(Offer.review_unit_code == user.review_unit_code)
    if call_id is not None:
        query = query.where(Offer.call_id == call_id)
    return _views(session, query)


@dataclass
class Figures:
    call_id: int
    call_title: str
    unit_code: str
    unit_name: str
    made: int = 0
    open: int = 0
    confirmed: int = 0
    lapsed: int = 0
    declined: int = 0


def figures(session: Session, user: User | None, *, call_id: int | None = None) -> list[Figures]:
    """Offers made, awaiting, confirmed, lapsed and declined per call and district."""
    query = (select(Offer.call_id, Call.title, Offer.review_unit_code, ReviewUnit.name_zh, Application.status,
                    Application.stage)
             .join(Application, Application.id == Offer.application_id).join(Call, Call.id == Offer.call_id)
             .join(ReviewUnit, ReviewUnit.code == Offer.review_unit_code))
    if user is not None and user.role == "district":
        query = query.where(Offer.review_unit_code == user.review_unit_code)
    elif user is not None and user.role not in {"bureau", "manager", "admin", "auditor"}:
        raise Forbidden("只有区县、市中小企业局和管理人员可以查看免申即享统计")
    if call_id is not None:
        query = query.where(Offer.call_id == call_id)
    out: dict[tuple[int, str], Figures] = {}
    for cid, title, unit, unit_name, status, stage in session.execute(query):
        f = out.setdefault((cid, unit), Figures(cid, title, unit, unit_name))
        f.made += 1
        state = state_of(Application(status=status, stage=stage))
        setattr(f, state, getattr(f, state) + 1)
    return [out[k] for k in sorted(out)]


def remind(services: Services, now: datetime) -> int:
    """Remind each enterprise once, `offer_reminder_lead_working_days` before its offer lapses. Idempotent."""
    tz = ZoneInfo(services.settings.timezone)
    today = now.astimezone(tz).date()
    lead = services.settings.offer_reminder_lead_working_days
    sent = 0
    with services.uow() as uow:
        session = uow.session
        rows = session.execute(select(Offer, WorkItem.due_at, AwardType.name_zh, Enterprise.name)
                               .join(WorkItem, WorkItem.application_id == Offer.application_id)
                               .join(AwardType, AwardType.code == Offer.award_type_code)
                               .join(Enterprise, Enterprise.id == Offer.enterprise_id)
                               .where(Offer.reminded_at.is_(None), WorkItem.task_spec == CONFIRM,
                                      WorkItem.status == "open", WorkItem.due_at.is_not(None))).all()
        from services.pool.offers import recipients

        for offer, due, award_name, ent_name in rows:
            if due is None:
                continue
            last_day = (due.astimezone(tz) - timedelta(seconds=1)).date()
            if due <= now or services.calendar.working_days_between(today, last_day) > lead:
                continue
            emails, _ = recipients(session, offer.enterprise_id)
            outbox.enqueue(session, to=emails, template="offer_reminder", now=now,
                           dedupe_key=f"offer_reminder:{offer.id}", application_id=offer.application_id,
                           context={"enterprise_name": ent_name, "award_name": award_name, "confirm_by": due})
            offer.reminded_at = now
            sent += 1
        uow.commit()
    return sent


def by_state(views: list[OfferView]) -> dict[str, list[OfferView]]:
    grouped: dict[str, list[OfferView]] = defaultdict(list)
    for v in views:
        grouped[v.state].append(v)
    return grouped
