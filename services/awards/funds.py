"""Budget lines per budget year: the city's special fund (市级中小企业发展专项资金) and each district's
matching fund (配套资金), created and adjusted by the bureau, and the split of a payout between them.

The notice puts the awards on the city's fund and asks the districts to arrange matching funds, but
fixes no split: ``district_matching_percent`` (config/defaults.toml) says what share of each payout
the district's line of the same budget year pays. A line's budget never drops below what it paid;
an adjustment needs a reason and writes an audit event. Both are conditional UPDATEs, so a
concurrent payout and adjustment cannot together push a line over its budget.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.accounts.access import require_role
from services.audit import chain as audit
from services.db.models import Fund, ReviewUnit, User
from services.errors import Conflict, InvalidInput, NotFound
from services.money import yuan

CITY = "city"
FUND_ROLES = ("bureau", "admin")
MAX_FEN = 10**15  # 10 trillion yuan: far above any budget, far below BIGINT
REASON_MAX = 500


def split(amount_fen: int, district_percent: int) -> tuple[int, int]:
    """(city part, district part) of a payout, exact in fen: the district part rounded half up."""
    district = (amount_fen * district_percent + 50) // 100
    return amount_fen - district, district


def line_label(session: Session, line: str) -> str:
    if line == CITY:
        return "市级中小企业发展专项资金"
    unit = session.get(ReviewUnit, line)
    return f"{unit.name_zh if unit else line}配套资金"


def _check_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput("year", "预算年度应为 2000 至 2100 之间的年份")
    return year


def _check_budget(field: str, fen: int) -> int:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidInput(field, "金额必须是整数（分），不接受浮点数")
    if not 0 <= fen <= MAX_FEN:
        raise InvalidInput(field, "预算须为非负金额，且不超过 10 万亿元")
    return fen


def create(session: Session, *, user: User, year: int, line: str, budget_fen: int, name: str | None,
           now: datetime) -> Fund:
    """A budget line of a year: ``line`` is ``city`` or the code of a review unit (its matching fund)."""
    require_role(user, *FUND_ROLES)
    _check_year(year)
    _check_budget("budget", budget_fen)
    line = (line or "").strip()
    if line != CITY and (len(line) > 40 or session.get(ReviewUnit, line) is None):
        raise InvalidInput("line", f"资金条线须为 city（市级专项资金）或一个审核单位代码，未知：{line[:40]}")
    if session.scalar(select(Fund.id).where(Fund.year == year, Fund.line == line)) is not None:
        raise Conflict(f"{year} 年的{line_label(session, line)}已建立，请调整其预算")
    label = (name or "").strip() or f"{year}年{line_label(session, line)}"
    if len(label) > 200 or any(ord(c) < 32 for c in label):
        raise InvalidInput("name", "名称最多 200 个字符，不能包含控制字符")
    code = f"{year}-{line}"
    if session.scalar(select(Fund.id).where(Fund.code == code)) is not None:
        raise Conflict(f"资金代码 {code} 已被使用")
    fund = Fund(code=code, name=label, year=year, line=line, budget_fen=budget_fen, paid_fen=0)
    session.add(fund)
    session.flush()
    audit.append(session, kind="fund.create", actor=user.username, at=now,
                 payload={"fund": fund.id, "code": code, "year": year, "line": line, "budget_fen": budget_fen})
    return fund


def find(session: Session, code: str) -> Fund:
    fund = session.scalar(select(Fund).where(Fund.code == code[:60]))
    if fund is None:
        raise NotFound(f"没有资金 {code[:60]}")
    return fund


def adjust(session: Session, *, user: User, code: str, reason: str, now: datetime, to_fen: int | None = None,
           by_fen: int | None = None) -> Fund:
    """Set a line's budget (``to_fen``) or change it (``by_fen``, negative to cut), with a reason."""
    require_role(user, *FUND_ROLES)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise InvalidInput("reason", f"调整预算须说明理由（最多 {REASON_MAX} 个字符）")
    if (to_fen is None) == (by_fen is None):
        raise InvalidInput("budget", "请给出调整后的预算，或增减的金额（二选一）")
    fund = find(session, code)
    before = fund.budget_fen
    after = _check_budget("budget", to_fen) if to_fen is not None else before + _check_budget_delta(by_fen)
    _check_budget("budget", after)
    changed = session.execute(update(Fund).where(Fund.id == fund.id, Fund.budget_fen == before,
                                                 Fund.paid_fen <= after).values(budget_fen=after))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(fund)
        if fund.budget_fen != before:
            raise Conflict("预算刚被他人调整，请刷新后重试；未做任何更改")
        raise InvalidInput("budget", f"调整后的预算 {yuan(after)} 元低于已拨付的 {yuan(fund.paid_fen)} 元")
    session.refresh(fund)
    audit.append(session, kind="fund.adjust", actor=user.username, at=now,
                 payload={"fund": fund.id, "code": fund.code, "before_fen": before, "after_fen": after,
                          "reason": reason})
    return fund


def _check_budget_delta(by_fen: int | None) -> int:
    if isinstance(by_fen, bool) or not isinstance(by_fen, int) or abs(by_fen) > MAX_FEN:
        raise InvalidInput("by_fen", "增减金额必须是整数（分），不接受浮点数")
    return by_fen


def lines(session: Session, *, user: User, year: int | None = None) -> list[Fund]:
    """Every budget line (of one year), newest year first, the city's line before the districts'."""
    require_role(user, *FUND_ROLES, "manager", "finance", "auditor")
    query = select(Fund).order_by(Fund.year.desc(), (Fund.line != CITY), Fund.line)
    if year is not None:
        query = query.where(Fund.year == year)
    return list(session.scalars(query))
