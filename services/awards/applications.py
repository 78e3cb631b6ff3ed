"""Applications: eligibility checks, then the award route starts at the district check."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from config.policy import AwardType, Edition
from services.awards import highest
from services.awards.calls import is_open
from services.awards.routes import current_route
from services.db.models import Application, Call, Enterprise, Honour
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


def check_eligibility(edition: Edition, award: AwardType, honour: Honour) -> None:
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
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"申报批次 #{call_id} 不存在")
    if not is_open(call, today):
        raise InvalidInput("call_id", f"申报批次“{call.title}”未在申报期内（{call.opens_on} 至 {call.closes_on}），"
                                      "逾期不予受理")
    if award_type_code not in call.award_types:
        raise InvalidInput("award_type", f"本批次不受理奖励类型 {award_type_code}")
    edition = _edition(services, call.edition_code)
    award = edition.award(award_type_code)
    enterprise = session.get(Enterprise, enterprise_id)
    honour = session.get(Honour, honour_id)
    if enterprise is None:
        raise NotFound(f"企业 #{enterprise_id} 不存在")
    if honour is None or honour.enterprise_id != enterprise_id:
        raise InvalidInput("honour_id", "所选荣誉不属于该企业")
    check_eligibility(edition, award, honour)
    if not isinstance(requested_fen, int) or requested_fen <= 0:
        raise InvalidInput("amount", "申请金额必须大于 0")
    cap = _allowed_cap(uow, services, enterprise_id, award, edition)
    if requested_fen > cap:
        raise InvalidInput("amount", f"申请金额 {yuan(requested_fen)} 元超过上限 {yuan(cap)} 元")
    route = current_route(session, services.engine, award.route)
    application = Application(call_id=call.id, enterprise_id=enterprise_id, award_type_code=award.code,
                              policy_revision_id=edition.revision_id, honour_id=honour.id,
                              review_unit_code=enterprise.review_unit_code,
                              requested_fen=requested_fen, description=description, status="running",
                              stage="start", stage_name="申报", created_at=now, updated_at=now)
    session.add(application)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"该企业已申报过“{award.name_zh}”，同一奖励只能申报一次") from exc
    data = {"application_id": application.id, "award_type": award.code, "cap_fen": cap,
            "requested_fen": requested_fen, "review_unit": enterprise.review_unit_code,
            "decision": None, "reason": None, "award_amount_fen": None, "payment_reference": None}
    services.runtime.start(uow, route=route, application=application, data=data, actor=actor, now=now)
    return application
