"""The campaign ledger (台账) as the pages, the API and the monthly report read it, scoped to the user.

Amounts of a case: `owed` is what the debtor has to pay: the confirmed amount once the debtor
confirmed, else the handler's finding, else the registered claim; nothing for a case refused,
withdrawn, lapsed or found unfounded; a disputed part sent to negotiation or court leaves the ledger
(it shows as disputed). `outstanding` = owed - repaid. Payment overdue days count from the statutory
(or agreed) due date while something is outstanding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from services.arrears.cases import ACTIVE
from services.arrears.registry import Desk, SelectT, department_names, officer_departments, scope_cases, visible_case
from services.arrears.statute import KIND_NAMES
from services.db.models import AuditEvent, User
from services.db.models_arrears import (
    DEBTOR_KINDS,
    ArrearsCase,
    ArrearsDebtor,
    ArrearsInstalment,
    ArrearsRepayment,
    ArrearsTask,
)
from services.errors import InvalidInput
from services.labels import one_of

__all__ = [
    "CLOSED_WITHOUT_DEBT",
    "STATUS_NAMES",
    "CaseView",
    "LedgerFilters",
    "LedgerPage",
    "case_view",
    "ledger_page",
    "overdue_days",
    "owed_expr",
]

CLOSED_WITHOUT_DEBT = ("refused", "withdrawn", "lapsed", "unfounded")
STATUS_NAMES = {"registered": "待受理", "running": "办理中", "cleared": "已销号", "refused": "不予受理",
                "withdrawn": "已撤回", "lapsed": "逾期未补正", "unfounded": "经核查无欠款",
                "negotiation": "转协商", "court": "转诉讼（仲裁）"}
STATUS_FILTERS = ("active", *STATUS_NAMES)


def owed_expr() -> Any:
    """SQL: what the debtor has to pay on a case (see the module docstring)."""
    return case((ArrearsCase.status.in_(CLOSED_WITHOUT_DEBT), 0),
                else_=func.coalesce(ArrearsCase.confirmed_fen, ArrearsCase.found_fen, ArrearsCase.claimed_fen))


def overdue_days(due_on: date, outstanding_fen: int, as_of: date) -> int:
    """Days past the payment due date while something is outstanding."""
    return max(0, (as_of - due_on).days) if outstanding_fen > 0 else 0


def _overdue_step() -> Any:
    return exists().where(ArrearsTask.case_id == ArrearsCase.id, ArrearsTask.status == "open",
                          ArrearsTask.overdue.is_(True))


@dataclass(frozen=True)
class LedgerFilters:
    kind: str | None = None
    department: str | None = None
    status: str | None = None  # a status, or "active" (registered or running)
    overdue: bool = False  # only cases with an open step past its deadline

    def check(self) -> None:
        if self.kind is not None and self.kind not in DEBTOR_KINDS:
            raise InvalidInput("kind", f"债务人类型须为 {one_of(KIND_NAMES, DEBTOR_KINDS)} 之一")
        if self.status is not None and self.status not in STATUS_FILTERS:
            raise InvalidInput("status", f"状态须为 {one_of({'active': '在办', **STATUS_NAMES}, STATUS_FILTERS)} 之一")

    def apply(self, query: SelectT) -> SelectT:
        if self.kind:
            query = query.where(ArrearsDebtor.kind == self.kind)
        if self.department:
            query = query.where(ArrearsCase.department_code == self.department)
        if self.status == "active":
            query = query.where(ArrearsCase.status.in_(ACTIVE))
        elif self.status:
            query = query.where(ArrearsCase.status == self.status)
        if self.overdue:
            query = query.where(_overdue_step())
        return query


@dataclass(frozen=True)
class LedgerRow:
    id: int
    creditor_name: str
    debtor_name: str
    debtor_kind: str
    department_code: str
    contract_no: str
    due_on: date
    status: str
    stage_name: str
    claimed_fen: int
    owed_fen: int
    repaid_fen: int
    disputed_fen: int
    step_overdue: bool

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.owed_fen - self.repaid_fen)


@dataclass(frozen=True)
class LedgerPage:
    rows: list[LedgerRow]
    total: int
    totals: dict[str, int]  # owed, repaid, outstanding over every matching case
    departments: dict[str, str]


def ledger_page(session: Session, user: User, *, filters: LedgerFilters, limit: int = 100,
                offset: int = 0) -> LedgerPage:
    """The ledger rows the user may see, filtered; newest first; with totals over all matching cases."""
    filters.check()
    desk = officer_departments(session, user)
    owed = owed_expr()
    count, owed_sum, repaid_sum = _totals(session, user, desk, filters)
    query = filters.apply(scope_cases(
        select(ArrearsCase, ArrearsDebtor.name, ArrearsDebtor.kind, owed.label("owed"),
               _overdue_step().label("step_overdue")).join(ArrearsDebtor), user, desk))
    query = query.order_by(ArrearsCase.id.desc()).limit(max(1, min(limit, 500))).offset(max(0, offset))
    rows = [LedgerRow(c.id, c.creditor_name, name, kind, c.department_code, c.contract_no, c.due_on, c.status,
                      c.stage_name, c.claimed_fen, int(o), c.repaid_fen, c.disputed_fen, bool(late))
            for c, name, kind, o, late in session.execute(query)]
    return LedgerPage(rows, count, {"owed": owed_sum, "repaid": repaid_sum,
                                    "outstanding": max(0, owed_sum - repaid_sum)}, department_names(session))


def _totals(session: Session, user: User, desk: Desk, filters: LedgerFilters) -> tuple[int, int, int]:
    query = filters.apply(scope_cases(
        select(func.count(), func.coalesce(func.sum(owed_expr()), 0),
               func.coalesce(func.sum(ArrearsCase.repaid_fen), 0)).select_from(ArrearsCase).join(ArrearsDebtor),
        user, desk))
    count, owed, repaid = session.execute(query).one()
    return int(count), int(owed), int(repaid)


@dataclass(frozen=True)
class CaseView:
    case: ArrearsCase
    debtor: ArrearsDebtor
    department_name: str
    owed_fen: int
    steps: Sequence[ArrearsTask]
    instalments: Sequence[ArrearsInstalment]
    repayments: Sequence[ArrearsRepayment]
    events: Sequence[AuditEvent]

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.owed_fen - self.case.repaid_fen)

    @property
    def open_steps(self) -> list[ArrearsTask]:
        return [s for s in self.steps if s.status == "open"]


def case_view(session: Session, user: User, case_id: int) -> CaseView:
    """A case with its steps, plan, repayments and route history, if the user may see it."""
    c = visible_case(session, user, case_id)
    debtor = session.get_one(ArrearsDebtor, c.debtor_id)
    owed = int(session.scalar(select(owed_expr()).where(ArrearsCase.id == c.id)) or 0)
    steps = session.scalars(select(ArrearsTask).where(ArrearsTask.case_id == c.id).order_by(ArrearsTask.id)).all()
    plan = session.scalars(select(ArrearsInstalment).where(ArrearsInstalment.case_id == c.id)
                           .order_by(ArrearsInstalment.seq)).all()
    paid = session.scalars(select(ArrearsRepayment).where(ArrearsRepayment.case_id == c.id)
                           .order_by(ArrearsRepayment.paid_on, ArrearsRepayment.id)).all()
    events = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == c.instance_id)
                             .order_by(AuditEvent.seq)).all() if c.instance_id is not None else []
    return CaseView(c, debtor, department_names(session).get(c.department_code, c.department_code), owed, steps,
                    plan, paid, events)
