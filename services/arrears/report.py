"""The monthly ledger report (逐月调度): every case as of the end of a month, with the amounts owed,
repaid and outstanding, the payment overdue days, the late interest accrued and the status; as an
XLSX workbook and as a summary mail to the managers on the first working day of the next month.

Amounts are as of the month's last day (repayments dated up to it; cases registered up to it); the
status and stage are those at the time the report is made. Interest is computed per case (statute.py)
and rounded to the fen, half up; every total is the sum of the rows.
"""

from __future__ import annotations

import calendar as monthcal
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.arrears.ledger import STATUS_NAMES, overdue_days, owed_expr
from services.arrears.registry import department_names
from services.arrears.rules import load_rules
from services.arrears.statute import KIND_NAMES, late_interest
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsRepayment
from services.errors import InvalidInput

__all__ = ["COLUMNS", "MonthlyReport", "ReportRow", "build_report", "month_bounds", "xlsx_bytes"]

COLUMNS = ["案件编号", "债权企业", "统一社会信用代码", "债务人", "债务人类型", "处理部门", "合同编号", "登记日期",
           "应付日期", "状态", "当前环节", "登记金额（元）", "应清偿金额（元）", "已清偿金额（元）", "未清偿金额（元）",
           "争议金额（元）", "逾期天数", "逾期利息（元）"]
MONEY = ("claimed_fen", "owed_fen", "repaid_fen", "outstanding_fen", "disputed_fen", "interest_fen")


@dataclass(frozen=True)
class ReportRow:
    case_id: int
    creditor_name: str
    creditor_uscc: str
    debtor_name: str
    debtor_kind: str
    department: str
    contract_no: str
    registered_on: date
    due_on: date
    status: str
    stage_name: str
    claimed_fen: int
    owed_fen: int
    repaid_fen: int
    outstanding_fen: int
    disputed_fen: int
    overdue_days: int
    interest_fen: int


@dataclass
class MonthlyReport:
    month: str
    as_of: date
    rows: list[ReportRow] = field(default_factory=list)
    new_cases: int = 0  # registered during the month
    repaid_in_month_fen: int = 0

    @property
    def totals(self) -> dict[str, int]:
        totals = {name: sum(getattr(r, name) for r in self.rows) for name in MONEY}
        return totals | {"cases": len(self.rows)}

    @property
    def by_status(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.rows).most_common())

    def oldest_overdue(self, n: int = 5) -> list[ReportRow]:
        late = [r for r in self.rows if r.overdue_days > 0]
        return sorted(late, key=lambda r: (-r.overdue_days, r.case_id))[:n]


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of `YYYY-MM`; InvalidInput otherwise."""
    try:
        year, number = (int(p) for p in month.split("-"))
        first = date(year, number, 1)
    except ValueError as exc:
        raise InvalidInput("month", f"月份格式应为 YYYY-MM：{month!r}") from exc
    if not 1900 <= year <= 2099:
        raise InvalidInput("month", f"月份须在 1900-01 至 2099-12 之间：{month!r}")
    return first, first.replace(day=monthcal.monthrange(year, number)[1])


def build_report(session: Session, *, month: str, tz: str) -> MonthlyReport:
    """The ledger of every case registered by the end of `month` (city-wide: managers and the bureau)."""
    first, last = month_bounds(month)
    zone = ZoneInfo(tz)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    report = MonthlyReport(month=f"{first:%Y-%m}", as_of=last)
    paid: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for case_id, paid_on, amount in session.execute(select(
            ArrearsRepayment.case_id, ArrearsRepayment.paid_on, ArrearsRepayment.amount_fen)
            .where(ArrearsRepayment.paid_on <= last)):
        paid[case_id].append((paid_on, amount))
        if paid_on >= first:
            report.repaid_in_month_fen += amount
    names = department_names(session)
    rules = load_rules()
    query = (select(ArrearsCase, ArrearsDebtor.name, ArrearsDebtor.kind, owed_expr())
             .join(ArrearsDebtor).where(ArrearsCase.registered_at < end).order_by(ArrearsCase.id)
             .execution_options(yield_per=5000))
    for c, debtor_name, kind, owed in session.execute(query):
        repayments = paid.get(c.id, [])
        repaid = sum(a for _, a in repayments)
        outstanding = max(0, int(owed) - repaid)
        interest = late_interest(rules, principal_fen=int(owed), due_on=c.due_on, signed_on=c.signed_on,
                                 agreed_rate_ppm=c.agreed_rate_ppm, repayments=repayments,
                                 as_of=min(last, c.closed_at.astimezone(zone).date()) if c.closed_at else last).fen \
            if int(owed) > 0 else 0
        registered_on = c.registered_at.astimezone(zone).date()
        report.new_cases += c.registered_at >= start
        report.rows.append(ReportRow(
            c.id, c.creditor_name, c.creditor_uscc, debtor_name, KIND_NAMES.get(kind, kind),
            names.get(c.department_code, c.department_code), c.contract_no, registered_on, c.due_on,
            STATUS_NAMES.get(c.status, c.status), c.stage_name, c.claimed_fen, int(owed), repaid, outstanding,
            c.disputed_fen, overdue_days(c.due_on, outstanding, last), interest))
    return report


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is neutralised (CSV/XLSX injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def xlsx_bytes(report: MonthlyReport) -> bytes:
    """The report as a workbook: the ledger with a totals row, and a summary sheet."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(f"台账 {report.month}")
    sheet.append(COLUMNS)
    for r in report.rows:
        sheet.append([r.case_id, _cell(r.creditor_name), r.creditor_uscc, _cell(r.debtor_name), r.debtor_kind,
                      _cell(r.department), _cell(r.contract_no), r.registered_on, r.due_on, r.status,
                      _cell(r.stage_name), *(_yuan(getattr(r, m)) for m in MONEY[:5]), r.overdue_days,
                      _yuan(r.interest_fen)])
    t = report.totals
    sheet.append(["合计", f"{t['cases']} 件", *[None] * 9, *(_yuan(t[m]) for m in MONEY[:5]), None,
                  _yuan(t["interest_fen"])])
    summary = book.create_sheet("汇总")
    summary.append(["月份", report.month])
    summary.append(["截至日期", report.as_of])
    summary.append(["本月新增案件", report.new_cases])
    summary.append(["本月清偿金额（元）", _yuan(report.repaid_in_month_fen)])
    for key, label in (("owed_fen", "应清偿合计（元）"), ("repaid_fen", "已清偿合计（元）"),
                       ("outstanding_fen", "未清偿合计（元）"), ("interest_fen", "逾期利息合计（元）")):
        summary.append([label, _yuan(t[key])])
    summary.append([])
    summary.append(["状态", "案件数"])
    for status, n in report.by_status.items():
        summary.append([status, n])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def save_xlsx(report: MonthlyReport, directory: Path) -> Path:
    """Write the workbook as <directory>/arrears-<month>.xlsx."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"arrears-{report.month}.xlsx"
    path.write_bytes(xlsx_bytes(report))
    return path
