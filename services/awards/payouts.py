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
from services.db.models import Application, Fund, Payout
from services.errors import Conflict, InsufficientFunds, InvalidInput
from services.money import yuan


def pay(session: Session, *, application: Application, fund_id: int, reference: str, actor: str,
        now: datetime) -> Payout:
    """Pay the amount the bureau decided for an application, in the caller's transaction."""
    amount = application.awarded_fen
    if amount is None or amount <= 0:
        raise InvalidInput("amount", "复审未确定奖励金额，不能拨付")
    if not reference.strip():
        raise InvalidInput("payment_reference", "拨付须填写支付凭证号")
    paid = session.scalar(select(Payout.id).where(Payout.enterprise_id == application.enterprise_id,
                                                 Payout.award_type_code == application.award_type_code))
    if paid is not None:
        raise Conflict(f"该企业的 {application.award_type_code} 奖励已拨付，不得重复拨付")
    charged = session.execute(
        update(Fund).where(Fund.id == fund_id, Fund.paid_fen + amount <= Fund.budget_fen)
        .values(paid_fen=Fund.paid_fen + amount)
    )
    if charged.rowcount != 1:  # type: ignore[attr-defined]
        fund = session.get_one(Fund, fund_id)
        session.refresh(fund)
        left = fund.budget_fen - fund.paid_fen
        raise InsufficientFunds(f"资金不足：{fund.name} 余额 {yuan(left)} 元，本次拨付 {yuan(amount)} 元，未拨付。"
                                "可选择“暂缓拨付”等待追加预算，或“退回复审”并说明理由")
    payout = Payout(application_id=application.id, enterprise_id=application.enterprise_id,
                    award_type_code=application.award_type_code, fund_id=fund_id, amount_fen=amount,
                    reference=reference.strip(), paid_at=now, paid_by=actor)
    session.add(payout)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"该企业的 {application.award_type_code} 奖励已拨付，不得重复拨付") from exc
    audit.append(session, kind="payout", actor=actor, at=now, instance_id=application.instance_id,
                 application_id=application.id,
                 payload={"payout": payout.id, "fund": fund_id, "amount_fen": amount, "reference": payout.reference})
    return payout

