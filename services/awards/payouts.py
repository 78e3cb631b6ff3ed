"""Payouts: never above the fund's remaining budget, never twice for one enterprise and award type.

The budget check is a single conditional UPDATE (`paid + amount <= budget`), which the database
evaluates under the row lock, so concurrent payouts cannot overspend; the unique constraint on
(enterprise, award type) stops a second payout even from a concurrent request.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.audit import chain as audit
from services.awards.funds import line_label, split
from services.db.models import Application, Fund, FundDraw, Payout
from services.errors import Conflict, InsufficientFunds, InvalidInput
from services.money import yuan


def pay(session: Session, *, application: Application, fund_id: int, reference: str, actor: str,
        now: datetime, district_percent: int = 0) -> Payout:
    """Pay the amount the bureau decided for an application, in the caller's transaction: the city's
    line (the call's fund) pays its part and the district's matching line of the same year pays
    ``district_percent`` (setting district_matching_percent); each line only within its budget."""
    amount = application.awarded_fen
    if amount is None or amount <= 0:
        raise InvalidInput("amount", "复审未确定奖励金额，不能拨付")
    if not reference.strip():
        raise InvalidInput("payment_reference", "拨付须填写支付凭证号")
    paid = session.scalar(select(Payout.id).where(Payout.enterprise_id == application.enterprise_id,
                                                 Payout.award_type_code == application.award_type_code))
    if paid is not None:
        raise Conflict(f"该企业的 {application.award_type_code} 奖励已拨付，不得重复拨付")
    draws = _draws(session, application, fund_id, amount, district_percent)
    for line, part in draws:
        charged = session.execute(
            update(Fund).where(Fund.id == line.id, Fund.paid_fen + part <= Fund.budget_fen)
            .values(paid_fen=Fund.paid_fen + part)
        )
        if charged.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(line)
            left = line.budget_fen - line.paid_fen
            share = "本次拨付" if len(draws) == 1 else "本次应由其拨付"
            raise InsufficientFunds(f"资金不足：{line.name} 余额 {yuan(left)} 元，{share} {yuan(part)} 元，未拨付。"
                                    "可选择“暂缓拨付”等待追加预算，或“退回复审”并说明理由")
    payout = Payout(application_id=application.id, enterprise_id=application.enterprise_id,
                    award_type_code=application.award_type_code, fund_id=fund_id, amount_fen=amount,
                    reference=reference.strip(), paid_at=now, paid_by=actor)
    session.add(payout)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"该企业的 {application.award_type_code} 奖励已拨付，不得重复拨付") from exc
    for line, part in draws:
        session.add(FundDraw(payout_id=payout.id, fund_id=line.id, amount_fen=part))
    payload = {"payout": payout.id, "fund": fund_id, "amount_fen": amount, "reference": payout.reference}
    if len(draws) > 1:
        payload["draws"] = [[line.code, part] for line, part in draws]
    audit.append(session, kind="payout", actor=actor, at=now, instance_id=application.instance_id,
                 application_id=application.id, payload=payload)
    return payout


def _draws(session: Session, application: Application, fund_id: int, amount: int,
           district_percent: int) -> list[tuple[Fund, int]]:
    """The lines a payout draws on, city first (one lock order for every payout), with their parts."""
    city = session.get_one(Fund, fund_id)
    city_part, district_part = split(amount, district_percent)
    if not district_part:
        return [(city, amount)]
    district = session.scalar(select(Fund).where(Fund.year == city.year, Fund.line == application.review_unit_code))
    if district is None:
        raise InsufficientFunds(f"资金不足：{city.year} 年{line_label(session, application.review_unit_code)}"
                                f"未建立，其应拨付的 {yuan(district_part)} 元无从列支，未拨付")
    return [(city, city_part), (district, district_part)] if city_part else [(district, district_part)]

