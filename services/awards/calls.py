"""Funds and calls (申报批次): the bureau opens a call for some award types between two dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.policy import Edition
from services.audit import chain as audit
from services.db.models import Call, Fund
from services.errors import Conflict, InvalidInput, NotFound


def create_fund(session: Session, *, code: str, name: str, year: int, budget_fen: int, actor: str,
                now: datetime) -> Fund:
    """A fund with a budget in fen that payouts may never exceed."""
    if not isinstance(budget_fen, int) or budget_fen < 0:
        raise InvalidInput("budget_fen", "预算必须是非负整数（分）")
    if session.scalar(select(Fund.id).where(Fund.code == code)) is not None:
        raise Conflict(f"资金 {code} 已存在")
    fund = Fund(code=code, name=name, year=year, budget_fen=budget_fen, paid_fen=0)
    session.add(fund)
    session.flush()
    audit.append(session, kind="fund.create", actor=actor, at=now,
                 payload={"fund": fund.id, "code": code, "budget_fen": budget_fen})
    return fund


def top_up_fund(session: Session, *, fund_id: int, add_fen: int, reason: str, actor: str, now: datetime) -> Fund:
    """Raise a fund's budget (追加预算), e.g. so that deferred payouts can be paid; audited."""
    if not isinstance(add_fen, int) or add_fen <= 0:
        raise InvalidInput("add_fen", "追加金额必须是正整数（分）")
    if not reason.strip():
        raise InvalidInput("reason", "追加预算须写明依据（如预算调整文号）")
    fund = session.get(Fund, fund_id)
    if fund is None:
        raise NotFound(f"资金 #{fund_id} 不存在")
    session.execute(update(Fund).where(Fund.id == fund_id).values(budget_fen=Fund.budget_fen + add_fen))
    session.refresh(fund)
    audit.append(session, kind="fund.top_up", actor=actor, at=now,
                 payload={"fund": fund.id, "add_fen": add_fen, "budget_fen": fund.budget_fen, "reason": reason.strip()})
    return fund


def open_call(session: Session, *, edition: Edition, title: str, opens_on: date, closes_on: date,
              award_types: list[str], fund_code: str, actor: str, now: datetime) -> Call:
    """Open a call under an edition; its window must lie inside the edition's period in force."""
    if closes_on < opens_on:
        raise InvalidInput("closes_on", "截止日期不得早于开始日期")
    if opens_on < edition.in_force_from or closes_on > edition.in_force_until:
        raise InvalidInput("opens_on", f"申报期须在政策有效期 {edition.in_force_from} 至 {edition.in_force_until} 之内")
    known = {a.code for a in edition.award_types}
    unknown = [a for a in award_types if a not in known]
    if not award_types or unknown:
        raise InvalidInput("award_types", f"须为本政策的奖励类型，未知：{', '.join(unknown) or '（空）'}")
    fund = session.scalar(select(Fund).where(Fund.code == fund_code))
    if fund is None:
        raise NotFound(f"资金 {fund_code} 不存在")
    call = Call(edition_code=edition.code, fund_id=fund.id, title=title, opens_on=opens_on,
                closes_on=closes_on, award_types=list(award_types), closed_early=False)
    session.add(call)
    session.flush()
    audit.append(session, kind="call.open", actor=actor, at=now,
                 payload={"call": call.id, "edition": edition.code, "opens_on": opens_on.isoformat(),
                          "closes_on": closes_on.isoformat(), "award_types": list(award_types)})
    return call


class CallDates(Protocol):
    """What `is_open` reads of a call (a Call row, or a read of its columns)."""

    @property
    def closed_early(self) -> bool: ...
    @property
    def opens_on(self) -> date: ...
    @property
    def closes_on(self) -> date: ...


def is_open(call: CallDates, today: date) -> bool:
    """Applications are accepted only while a call is open (late ones are not: 逾期不予受理)."""
    return not call.closed_early and call.opens_on <= today <= call.closes_on
