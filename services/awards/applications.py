"""Applications: eligibility checks, then the award route starts at the district check.

What the checks need is read in one Core statement (the call, the enterprise and the honour, each
matched by its id: a missing one is a row of NULLs), then the enterprise's standing applications in the
award's measure; no ORM entity is loaded before the application is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from config.policy import AwardType, Edition
from services.awards import highest
from services.awards.calls import is_open
from services.awards.routes import current_route
from services.db.models import Application, Call, Enterprise, Honour
from services.db.session import core_execute
from services.errors import Conflict, InvalidInput, NotFound
from services.money import yuan
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services


def _edition(services: Services, code: str) -> Edition:
    for ed in services.editions:
        if ed.code == code:
            return ed
    raise NotFound(f"政策版本 {code} 未载入")


class HonourFacts(Protocol):
    """What eligibility reads of an honour (a Honour row, or the apply read's)."""

    @property
    def honour_type(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def recognised_on(self) -> date: ...


@dataclass(frozen=True)
class _Call:
    id: int
    title: str
    opens_on: date
    closes_on: date
    closed_early: bool
    award_types: list[str]
    edition_code: str


@dataclass(frozen=True)
class _Honour:
    id: int
    enterprise_id: int
    honour_type: str
    level: str
    recognised_on: date


def _read_query() -> Any:
    c, e, h = (t.__table__ for t in (Call, Enterprise, Honour))
    return (select(c.c.id, c.c.title, c.c.opens_on, c.c.closes_on, c.c.closed_early, c.c.award_types, c.c.edition_code,
                   e.c.id.label("enterprise"), e.c.review_unit_code,
                   h.c.id.label("honour"), h.c.enterprise_id.label("honour_enterprise"), h.c.honour_type, h.c.level,
                   h.c.recognised_on)
            .select_from(c)
            .outerjoin(e, e.c.id == bindparam("p_enterprise"))
            .outerjoin(h, h.c.id == bindparam("p_honour"))
            .where(c.c.id == bindparam("p_call")))


_READ = _read_query()


def check_eligibility(edition: Edition, award: AwardType, honour: HonourFacts) -> None:
    """The honour must be of the award's type and level and recognised inside the edition's coverage."""
    if (honour.honour_type, honour.level) != (award.honour_type, award.level):
        raise InvalidInput("honour_id", f"所选荣誉与奖励类型“{award.name_zh}”不符（类型或级别不同）")
    if not edition.coverage_from <= honour.recognised_on <= edition.in_force_until:
        raise InvalidInput("honour_id", f"荣誉认定日期 {honour.recognised_on} 不在政策适用范围 "
                                        f"{edition.coverage_from} 至 {edition.in_force_until} 内")


def _allowed_cap(uow: UnitOfWork, services: Services, enterprise_id: int, award: AwardType,
                 edition: Edition) -> int:
    """The most this award may still pay the enterprise (就高不重复, services.awards.highest); Conflict if nothing."""
    measure = {a.code for a in edition.award_types if a.measure == award.measure}
    held = highest.held_in_measure(uow.session, enterprise_id, measure)
    cap, why = highest.remaining_cap(edition, award, held, highest_only=services.settings.honours_highest_only,
                                     after_paid=services.settings.higher_award_after_lower_paid)
    if cap <= 0:
        raise Conflict(why or f"该企业不能再申报“{award.name_zh}”")
    return cap


def apply(uow: UnitOfWork, services: Services, *, call_id: int, enterprise_id: int, award_type_code: str,
          honour_id: int, requested_fen: int, description: str, actor: str, now: datetime,
          today: date) -> Application:
    """Submit an application; it starts its award route at the district check. Caller commits."""
    session = uow.session
    row = core_execute(session, _READ, {"p_call": call_id, "p_enterprise": enterprise_id,
                                        "p_honour": honour_id}).first()
    if row is None:
        raise NotFound(f"申报批次 #{call_id} 不存在")
    call = _Call(row.id, row.title, row.opens_on, row.closes_on, row.closed_early, row.award_types, row.edition_code)
    if not is_open(call, today):
        raise InvalidInput("call_id", f"申报批次“{call.title}”未在申报期内（{call.opens_on} 至 {call.closes_on}），"
                                      "逾期不予受理")
    if award_type_code not in call.award_types:
        raise InvalidInput("award_type", f"本批次不受理奖励类型 {award_type_code}")
    edition = _edition(services, call.edition_code)
    award = edition.award(award_type_code)
    if row.enterprise is None:
        raise NotFound(f"企业 #{enterprise_id} 不存在")
    if row.honour is None or row.honour_enterprise != enterprise_id:
        raise InvalidInput("honour_id", "所选荣誉不属于该企业")
    honour = _Honour(row.honour, row.honour_enterprise, row.honour_type, row.level, row.recognised_on)
    check_eligibility(edition, award, honour)
    if not isinstance(requested_fen, int) or requested_fen <= 0:
        raise InvalidInput("amount", "申请金额必须大于 0")
    cap = _allowed_cap(uow, services, enterprise_id, award, edition)
    if requested_fen > cap:
        raise InvalidInput("amount", f"申请金额 {yuan(requested_fen)} 元超过上限 {yuan(cap)} 元")
    route = current_route(session, services.engine, award.route)
    application = Application(call_id=call.id, enterprise_id=enterprise_id, award_type_code=award.code,
                              policy_revision_id=edition.revision_id, honour_id=honour.id,
                              review_unit_code=row.review_unit_code,
                              requested_fen=requested_fen, description=description, status="running",
                              stage="start", stage_name="申报", created_at=now, updated_at=now)
    session.add(application)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"该企业已申报过“{award.name_zh}”，同一奖励只能申报一次") from exc
    data = {"application_id": application.id, "award_type": award.code, "cap_fen": cap,
            "requested_fen": requested_fen, "review_unit": row.review_unit_code,
            "decision": None, "reason": None, "award_amount_fen": None, "payment_reference": None}
    services.runtime.start(uow, route=route, application=application, data=data, actor=actor, now=now)
    return application
