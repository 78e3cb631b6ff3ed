"""Payouts: never above the fund's remaining budget, never twice for one enterprise and award type.

The budget check is a single conditional UPDATE (`paid + amount <= budget`), which the database
evaluates under the row lock, so concurrent payouts cannot overspend; the unique constraint on
(enterprise, award type) stops a second payout even from a concurrent request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from services.audit import chain as audit
from services.awards.funds import line_label, split
from services.db.dialect import sql
from services.db.models import Fund, FundDraw, Payout
from services.db.writes import Write, at_commit
from services.errors import Conflict, InsufficientFunds, InvalidInput
from services.money import yuan

_FUND: Table = Fund.__table__  # type: ignore[assignment]
_PAYOUT: Table = Payout.__table__  # type: ignore[assignment]
_DRAWS = insert(FundDraw)
# the budget check: the database evaluates it under the row lock, so concurrent payouts cannot overspend
_CHARGE = update(_FUND).where(_FUND.c.id == bindparam("p_id"), _FUND.c.paid_fen + bindparam("p_part")
                              <= _FUND.c.budget_fen).values(paid_fen=_FUND.c.paid_fen + bindparam("p_part"))
_INSERT: dict[str, Any] = {}


class Payable(Protocol):
    """What a payout needs of its application (an ORM Application or the row a step read)."""

    @property
    def id(self) -> int: ...
    @property
    def enterprise_id(self) -> int: ...
    @property
    def award_type_code(self) -> str: ...
    @property
    def awarded_fen(self) -> int | None: ...
    @property
    def instance_id(self) -> int | None: ...
    @property
    def review_unit_code(self) -> str: ...


def pay(session: Session, *, application: Payable, fund_id: int, reference: str, actor: str,
        now: datetime, district_percent: int = 0) -> Payout:
    """Pay the amount the bureau decided for an application, in the caller's transaction: the city's
    line (the call's fund) pays its part and the district's matching line of the same year pays
    ``district_percent`` (setting district_matching_percent); each line only within its budget.

    The payout row goes in first with INSERT ... ON CONFLICT DO NOTHING on (enterprise, award type):
    a second payout is refused by the constraint in that one statement (no read before it), and the
    transaction stays usable. Returns the payout as stored (not attached to the session)."""
    amount = application.awarded_fen
    if amount is None or amount <= 0:
        raise InvalidInput("amount", "复审未确定奖励金额，不能拨付")
    if not reference.strip():
        raise InvalidInput("payment_reference", "拨付须填写支付凭证号")
    values = {"application_id": application.id, "enterprise_id": application.enterprise_id,
              "award_type_code": application.award_type_code, "fund_id": fund_id, "amount_fen": amount,
              "reference": reference.strip(), "paid_at": now, "paid_by": actor}
    dialect = sql(session)
    statement = _INSERT.get(dialect.__name__)
    if statement is None:  # built once per dialect
        statement = _INSERT[dialect.__name__] = dialect.insert_ignoring(
            _PAYOUT, "enterprise_id", "award_type_code").returning(_PAYOUT.c.id)
    payout_id = session.connection().execute(statement, values).scalar()
    if payout_id is None:
        raise Conflict(f"该企业的 {application.award_type_code} 奖励已拨付，不得重复拨付")
    draws = _draws(session, application, fund_id, amount, district_percent)
    for line_id, part, _line in draws:
        charged = session.connection().execute(_CHARGE, {"p_id": line_id, "p_part": part})
        if charged.rowcount != 1:
            line = session.get_one(Fund, line_id)
            session.refresh(line)
            left = line.budget_fen - line.paid_fen
            share = "本次拨付" if len(draws) == 1 else "本次应由其拨付"
            raise InsufficientFunds(f"资金不足：{line.name} 余额 {yuan(left)} 元，{share} {yuan(part)} 元，未拨付。"
                                    "可选择“暂缓拨付”等待追加预算，或“退回复审”并说明理由")
        held = session.identity_map.get(identity_key(Fund, line_id))
        if held is not None:
            session.expire(held, ["paid_fen"])  # a Fund the session holds reads its new total
    # nothing in the step reads the draws back: they go with the COMMIT (services.db.writes.at_commit)
    at_commit(session, Write(_DRAWS, [{"payout_id": payout_id, "fund_id": line_id, "amount_fen": part}
                                      for line_id, part, _line in draws]))
    payout = Payout(id=payout_id, **values)
    payload: dict[str, Any] = {"payout": payout_id, "fund": fund_id, "amount_fen": amount,
                               "reference": payout.reference}
    if len(draws) > 1:
        payload["draws"] = [[line.code if line else "", part] for _id, part, line in draws]
    audit.append(session, kind="payout", actor=actor, at=now, instance_id=application.instance_id,
                 application_id=application.id, payload=payload)
    return payout


def _draws(session: Session, application: Payable, fund_id: int, amount: int,
           district_percent: int) -> list[tuple[int, int, Fund | None]]:
    """The lines a payout draws on, city first (one lock order for every payout), with their parts
    (and the line, read only when the district shares the payout: its year finds the district's)."""
    city_part, district_part = split(amount, district_percent)
    if not district_part:
        return [(fund_id, amount, None)]
    city = session.get_one(Fund, fund_id)
    district = session.scalar(select(Fund).where(Fund.year == city.year, Fund.line == application.review_unit_code))
    if district is None:
        raise InsufficientFunds(f"资金不足：{city.year} 年{line_label(session, application.review_unit_code)}"
                                f"未建立，其应拨付的 {yuan(district_part)} 元无从列支，未拨付")
    return ([(city.id, city_part, city), (district.id, district_part, district)] if city_part
            else [(district.id, district_part, district)])
