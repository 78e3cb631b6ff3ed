"""The annual disclosure (2025 第十八条): 机关、事业单位 publish, by 3月31日, the contracts of the past year
whose payment to an SME was overdue and still unpaid, with their number and amounts.

The ledger knows only the cases registered in it, so the report is what the campaign knows, per public
debtor (government bodies, public institutions, and 团体组织 using fiscal funds, which 2025 第三十六条
treats like them): the cases whose due date had passed by the last day of the year (due on or before
12-30) with something still outstanding at the end of that day, repayments dated up to it counted.
Cases closed as not a debt (refused, withdrawn, lapsed, unfounded) are left out. The debtor publishes;
smeflow prepares the figures and reminds.

`remind_disclosure` runs every morning from the flow smeflow-arrears-disclosure: on a working day on or
after each reminder date (config/arrears.toml [disclosure] remind_days_before, a setting, not law) and
not after the deadline, it mails the handling departments' officers and the managers the list of
their public debtors with overdue amounts; each reminder goes once (dedupe key per year and date).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.arrears.ledger import CLOSED_WITHOUT_DEBT
from services.arrears.registry import department_names
from services.arrears.rules import load_rules
from services.arrears.statute import KIND_NAMES
from services.db.models import User
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsOfficer, ArrearsRepayment
from services.errors import InvalidInput
from services.mail import outbox

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["DISCLOSING_KINDS", "Disclosure", "DisclosureRow", "DisclosureRun", "build_disclosure",
           "disclosure_xlsx", "remind_disclosure"]

DISCLOSING_KINDS = ("government", "institution", "organisation")
COLUMNS = ["债务人", "统一社会信用代码", "债务人类型", "处理部门", "逾期尚未支付的合同数", "逾期尚未支付金额（元）"]


@dataclass(frozen=True)
class DisclosureRow:
    debtor_name: str
    debtor_uscc: str
    kind: str
    department_code: str
    department: str
    contracts: int
    outstanding_fen: int


@dataclass
class Disclosure:
    year: int
    as_of: date  # the last day of the year
    publish_by: date  # 3月31日 of the next year
    article: str
    rows: list[DisclosureRow] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(r.outstanding_fen for r in self.rows)

    @property
    def contracts(self) -> int:
        return sum(r.contracts for r in self.rows)


def build_disclosure(session: Session, *, year: int) -> Disclosure:
    """The figures a public debtor publishes for `year` (see the module docstring)."""
    if not 2020 <= year <= 2100:
        raise InvalidInput("year", "年度须在 2020 到 2100 之间")
    rules = load_rules()
    as_of = date(year, 12, 31)
    publish_by = date(year + 1, *rules.disclosure_by)
    edition = rules.in_force_on(publish_by)  # 2020 第十六条第一款 until 2025-05-31, then 2025 第十八条第一款
    owed = func.coalesce(ArrearsCase.confirmed_fen, ArrearsCase.found_fen, ArrearsCase.claimed_fen)
    repaid = (select(func.coalesce(func.sum(ArrearsRepayment.amount_fen), 0))
              .where(ArrearsRepayment.case_id == ArrearsCase.id, ArrearsRepayment.paid_on <= as_of)
              .scalar_subquery())
    query = (select(ArrearsDebtor, owed, repaid)
             .join(ArrearsCase, ArrearsCase.debtor_id == ArrearsDebtor.id)
             .where(ArrearsCase.debtor_kind.in_(DISCLOSING_KINDS), ArrearsCase.due_on < as_of,
                    ArrearsCase.status.not_in(CLOSED_WITHOUT_DEBT))
             .order_by(ArrearsDebtor.id))
    names = department_names(session)
    per_debtor: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    debtors: dict[int, ArrearsDebtor] = {}
    for debtor, owed_fen, repaid_fen in session.execute(query):
        outstanding = int(owed_fen) - int(repaid_fen)
        if outstanding <= 0:
            continue
        debtors[debtor.id] = debtor
        per_debtor[debtor.id][0] += 1
        per_debtor[debtor.id][1] += outstanding
    rows = [DisclosureRow(d.name, d.uscc, KIND_NAMES.get(d.kind, d.kind), d.department_code,
                          names.get(d.department_code, d.department_code), *per_debtor[d.id])
            for d in debtors.values()]
    return Disclosure(year=year, as_of=as_of, publish_by=publish_by,
                      article=edition.cite(edition.disclosure_article), rows=rows)


def disclosure_xlsx(report: Disclosure) -> bytes:
    """The disclosure as a workbook: one row per public debtor, then the total."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"{report.year}年度"
    ws.append([f"{report.year}年度逾期尚未支付中小企业款项（截至 {report.as_of}，于 {report.publish_by} 前公开；"
               f"{report.article}）"])
    ws.append(COLUMNS)
    for r in report.rows:
        ws.append([r.debtor_name, r.debtor_uscc, r.kind, r.department, r.contracts, Decimal(r.outstanding_fen) / 100])
        ws.cell(ws.max_row, 6).number_format = "#,##0.00"
    ws.append(["合计", "", "", "", report.contracts, Decimal(report.total_fen) / 100])
    ws.cell(ws.max_row, 6).number_format = "#,##0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class DisclosureRun:
    ran: bool
    year: int | None = None
    mails: int = 0
    path: Path | None = None

    def summary(self) -> dict[str, int | bool]:
        return {"ran": self.ran, "mails": self.mails}


def _due_reminder(services: Services, today: date) -> tuple[int, date] | None:
    """(year disclosed, reminder date) if a reminder is due today, else None."""
    rules = load_rules()
    deadline = date(today.year, *rules.disclosure_by)
    if today > deadline or not services.calendar.is_workday(today):
        return None
    due = [deadline - timedelta(days=n) for n in rules.disclosure_remind_days_before]
    passed = [d for d in due if d <= today]
    return (today.year - 1, max(passed)) if passed else None


def remind_disclosure(services: Services, now: datetime) -> DisclosureRun:
    """Mail the reminder of the annual disclosure when one is due (once per reminder date)."""
    today = now.astimezone(ZoneInfo(services.settings.timezone)).date()
    due = _due_reminder(services, today)
    if due is None:
        return DisclosureRun(ran=False)
    year, reminder_on = due
    run = DisclosureRun(ran=True, year=year)
    with services.uow() as uow:
        session = uow.session
        report = build_disclosure(session, year=year)
        target = services.settings.data_dir / "reports"
        target.mkdir(parents=True, exist_ok=True)
        run.path = target / f"arrears-disclosure-{year}.xlsx"
        run.path.write_bytes(disclosure_xlsx(report))
        by_department: dict[str, list[DisclosureRow]] = defaultdict(list)
        for row in report.rows:
            by_department[row.department_code].append(row)
        managers = [u.email or "" for u in session.scalars(select(User).where(
            User.role == "manager", User.active.is_(True), User.email.is_not(None)))]
        for code, rows in sorted(by_department.items()):
            officers = [u.email or "" for u in session.scalars(select(User).join(
                ArrearsOfficer, ArrearsOfficer.user_id == User.id).where(
                ArrearsOfficer.department_code == code, User.active.is_(True), User.email.is_not(None)))]
            run.mails += _send(session, now, officers + managers, report, rows, rows[0].department,
                               f"arrears-disclosure:{year}:{reminder_on}:{code}")
        uow.commit()
    return run


def _send(session: Session, now: datetime, to: list[str], report: Disclosure, rows: list[DisclosureRow],
          department: str, key: str) -> int:
    if not to:
        return 0
    context: dict[str, Any] = {
        "year": report.year, "publish_by": report.publish_by, "article": report.article, "department": department,
        "rows": [{"debtor_name": r.debtor_name, "kind": r.kind, "contracts": r.contracts,
                  "outstanding_fen": r.outstanding_fen} for r in rows]}
    mail = outbox.enqueue(session, to=to, template="arrears_disclosure", context=context, now=now, dedupe_key=key)
    return int(mail is not None)
