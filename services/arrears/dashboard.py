"""The campaign dashboard's figures, scoped to the user: cases per status, what is owed, repaid and
outstanding, owed versus repaid month by month (cumulative, by registration and payment dates), the
oldest overdue debts and the steps past their deadline."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.arrears.cases import ACTIVE
from services.arrears.ledger import STATUS_NAMES, owed_expr
from services.arrears.registry import officer_departments, scope_cases
from services.db.models import User
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsRepayment, ArrearsTask

__all__ = ["Dashboard", "MonthPoint", "dashboard"]


@dataclass(frozen=True)
class MonthPoint:
    month: str  # YYYY-MM
    owed_fen: int  # cumulative: cases registered by the month's end
    repaid_fen: int  # cumulative: repayments dated by the month's end


@dataclass(frozen=True)
class OverdueDebt:
    case_id: int
    creditor_name: str
    debtor_name: str
    due_on: date
    overdue_days: int
    outstanding_fen: int
    stage_name: str


@dataclass(frozen=True)
class Dashboard:
    by_status: list[tuple[str, str, int]]  # (status, label, count)
    cases: int
    owed_fen: int
    repaid_fen: int
    series: list[MonthPoint]
    oldest: list[OverdueDebt]
    steps_overdue: int

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.owed_fen - self.repaid_fen)


def _months(today: date, n: int) -> list[date]:
    """The last day of each of the `n` months up to `today`'s month, oldest first."""
    ends, first = [], today.replace(day=1)
    for _ in range(n):
        nxt = (first + timedelta(days=32)).replace(day=1)
        ends.append(nxt - timedelta(days=1))
        first = (first - timedelta(days=1)).replace(day=1)
    return ends[::-1]


def _upto(dated: list[tuple[date, int]], end: date) -> int:
    """The sum of the amounts dated on or before `end` (`dated` sorted by date)."""
    sums = list(accumulate(a for _, a in dated))
    i = bisect_right([d for d, _ in dated], end)
    return sums[i - 1] if i else 0


def dashboard(session: Session, user: User, *, now: datetime, tz: str, months: int = 12) -> Dashboard:
    """The figures of the campaign as the user may see them."""
    desk = officer_departments(session, user)
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    owed = owed_expr()
    rows = session.execute(scope_cases(select(ArrearsCase.id, ArrearsCase.status, ArrearsCase.registered_at,
                                              owed, ArrearsCase.repaid_fen), user, desk)).all()
    counts = Counter(r[1] for r in rows)
    ends = _months(today, months)
    registered = sorted((r[2].astimezone(zone).date(), int(r[3])) for r in rows)
    visible = scope_cases(select(ArrearsCase.id), user, desk)
    paid = sorted((d, int(a)) for d, a in session.execute(
        select(ArrearsRepayment.paid_on, ArrearsRepayment.amount_fen).where(ArrearsRepayment.case_id.in_(visible))))
    series = [MonthPoint(f"{end:%Y-%m}", _upto(registered, end), _upto(paid, end)) for end in ends]
    late = scope_cases(
        select(ArrearsCase, ArrearsDebtor.name, owed).join(ArrearsDebtor)
        .where(ArrearsCase.status.in_(ACTIVE), ArrearsCase.due_on < today, owed > ArrearsCase.repaid_fen)
        .order_by(ArrearsCase.due_on, ArrearsCase.id).limit(10), user, desk)
    oldest = [OverdueDebt(c.id, c.creditor_name, name, c.due_on, (today - c.due_on).days, int(o) - c.repaid_fen,
                          c.stage_name) for c, name, o in session.execute(late)]
    steps = scope_cases(select(func.count()).select_from(ArrearsTask).join(ArrearsCase).where(
        ArrearsTask.status == "open", ArrearsTask.overdue.is_(True)), user, desk)
    return Dashboard(
        by_status=[(s, label, counts.get(s, 0)) for s, label in STATUS_NAMES.items()], cases=len(rows),
        owed_fen=sum(int(r[3]) for r in rows), repaid_fen=sum(int(r[4]) for r in rows), series=series,
        oldest=oldest, steps_overdue=int(session.scalar(steps) or 0))


def chart(series: list[MonthPoint], *, width: int = 720, height: int = 260) -> dict[str, object]:
    """Coordinates for an inline SVG line chart of owed versus repaid (no JavaScript)."""
    left, right, top, bottom = 90, 20, 20, 40
    peak = max([p.owed_fen for p in series] + [p.repaid_fen for p in series] + [1])
    step = (width - left - right) / max(1, len(series) - 1)

    def y(value: int) -> float:
        return round(top + (height - top - bottom) * (1 - value / peak), 1)

    xs = [round(left + i * step, 1) for i in range(len(series))]
    ticks = [(y(peak * k // 4), peak * k // 4) for k in range(5)]
    return {"width": width, "height": height, "left": left, "bottom": height - bottom, "right": width - right,
            "owed": " ".join(f"{x},{y(p.owed_fen)}" for x, p in zip(xs, series, strict=True)),
            "repaid": " ".join(f"{x},{y(p.repaid_fen)}" for x, p in zip(xs, series, strict=True)),
            "labels": [(x, p.month) for x, p in zip(xs, series, strict=True)], "ticks": ticks,
            "points": [(x, y(p.owed_fen), y(p.repaid_fen), p) for x, p in zip(xs, series, strict=True)]}

