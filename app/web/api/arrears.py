"""API routes: the arrears campaign (清欠): the ledger, a case, the user's open steps, deciding a step,
registering a complaint and the dashboard figures.

Errors are service errors mapped in app/web/errors.py: 404 outside one's scope, 403 for a role that
may not act, 409 when someone else decided first, 422 with `field` and `rule` for bad input. Amounts
are integer fen in answers; in requests they are yuan text, like the CLI and the forms.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.web.deps import current_user, get_services, get_uow
from services.accounts.access import require_role
from services.arrears import actions, intake
from services.arrears.dashboard import dashboard
from services.arrears.ledger import LedgerFilters, case_view, ledger_page
from services.arrears.transfer import intake_of
from services.bootstrap import Services
from services.db.models import User
from services.db.models_arrears import ArrearsTask, ArrearsTransfer
from services.uow import UnitOfWork

router = APIRouter(tags=["arrears"])
MAX_ID = 2**63 - 1
Text = Annotated[str, StringConstraints(max_length=4000)]


class LedgerRowOut(BaseModel):
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
    outstanding_fen: int
    disputed_fen: int
    step_overdue: bool = Field(description="an open step is past its deadline")


class LedgerOut(BaseModel):
    total: int
    owed_fen: int
    repaid_fen: int
    outstanding_fen: int
    rows: list[LedgerRowOut]


class StepOut(BaseModel):
    id: int
    case_id: int
    step: str = Field(description="task id in the diagram, e.g. handle")
    name: str
    lane: str
    status: str
    due_at: datetime | None
    overdue: bool
    escalation_level: int
    completed_at: datetime | None
    completed_by: str | None
    outcome: str | None
    reason: str | None

    @classmethod
    def of(cls, s: ArrearsTask) -> StepOut:
        return cls(id=s.id, case_id=s.case_id, step=s.task_spec, name=s.name, lane=s.role, status=s.status,
                   due_at=s.due_at, overdue=s.overdue, escalation_level=s.escalation_level,
                   completed_at=s.completed_at, completed_by=s.completed_by, outcome=s.outcome, reason=s.reason)


class RepaymentOut(BaseModel):
    paid_on: date
    amount_fen: int
    reference: str


class InstalmentOut(BaseModel):
    seq: int
    due_on: date
    amount_fen: int


class TransferOut(BaseModel):
    transfer_from: str
    document_no: str
    complaint_accepted_on: date
    transferred_on: date
    received_on: date


class CaseOut(BaseModel):
    id: int
    status: str
    stage_name: str
    source: str
    intake: str = Field(description="province (转办 by the provincial 受理投诉部门) | arrangement (accepted by the "
                                    "city under the local arrangement) | ledger (campaign ledger row)")
    transfer: TransferOut | None = None
    creditor_uscc: str
    creditor_name: str
    debtor_uscc: str
    debtor_name: str
    debtor_kind: str
    department_code: str
    contract_no: str
    signed_on: date
    delivered_on: date
    accepted_on: date | None
    inspection_due_on: date | None
    settled_on: date | None
    debtor_kind_at_signing: str
    special_term_days: int | None
    special_term_basis: str | None
    due_on: date
    rules: str = Field(description="the edition of the regulation: 2020, 2025, or none (contract term)")
    claimed_fen: int
    found_fen: int | None
    confirmed_fen: int | None
    disputed_fen: int
    dispute_status: str | None
    owed_fen: int
    repaid_fen: int
    outstanding_fen: int
    cooperation_level: int = Field(description="non-cooperation steps taken (督办书, 约谈, 通报)")
    steps: list[StepOut]
    instalments: list[InstalmentOut]
    repayments: list[RepaymentOut]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Annotated[str, StringConstraints(max_length=40)]
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    fields: dict[Annotated[str, StringConstraints(max_length=40)], Text] = Field(
        default_factory=dict, max_length=10,
        description="amount (yuan), extension_until / paid_on (YYYY-MM-DD), instalments "
                    "(YYYY-MM-DD=yuan; ...), reference, document_no, department")


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creditor_uscc: Annotated[str, StringConstraints(max_length=40)]
    creditor_name: Annotated[str, StringConstraints(max_length=400)]
    debtor_uscc: Annotated[str, StringConstraints(max_length=40)]
    contract_no: Annotated[str, StringConstraints(max_length=200)]
    signed_on: Annotated[str, StringConstraints(max_length=20)]
    delivered_on: Annotated[str, StringConstraints(max_length=20)]
    amount: Annotated[str, StringConstraints(max_length=40)] = Field(description="yuan")
    accepted_on: Annotated[str, StringConstraints(max_length=20)] | None = None
    agreed_days: Annotated[str, StringConstraints(max_length=10)] | None = None
    agreed_rate: Annotated[str, StringConstraints(max_length=20)] | None = Field(None, description="percent a year")
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    inspection_due_on: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="last day of the agreed inspection or acceptance period (2025 第十条第二款)")
    settled_on: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="day both sides confirmed the settled amount (2025 第九条第四款)")
    debtor_kind: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="the debtor's kind when the contract was signed (2025 第三条第二款); sme: not covered")
    special_term_days: Annotated[str, StringConstraints(max_length=10)] | None = Field(
        None, description="a payment term fixed by a special law (2025 第九条第三款), days")
    special_term_basis: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="that law and its article")
    intake: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="province: transferred by the provincial 受理投诉部门 (give the transfer_* fields); "
                          "arrangement: accepted by the city under the local arrangement (needs the setting "
                          "arrears_acceptance_arrangement); ledger: a campaign ledger row. Default: province when a "
                          "transfer field is given, else arrangement")
    transfer_from: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="the acceptance department that transferred the complaint")
    transfer_document: Annotated[str, StringConstraints(max_length=120)] | None = Field(
        None, description="its transfer document number (转办文书文号)")
    complaint_accepted_on: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="the day it accepted the complaint (YYYY-MM-DD; chooses the edition of the handling period)")
    transferred_on: Annotated[str, StringConstraints(max_length=20)] | None = None
    received_on: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="the day the handling department received the materials (its period starts there)")


@router.get("/arrears/cases", response_model=LedgerOut)
def list_cases(kind: str | None = Query(None, max_length=20), department: str | None = Query(None, max_length=40),
               status: str | None = Query(None, max_length=20), overdue: bool = Query(False),
               limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
               user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> LedgerOut:
    """The ledger as the user may see it, newest first, with totals over every matching case."""
    page = ledger_page(uow.session, user, limit=limit, offset=offset,
                       filters=LedgerFilters(kind=kind, department=department, status=status, overdue=overdue))
    rows = [LedgerRowOut(id=r.id, creditor_name=r.creditor_name, debtor_name=r.debtor_name,
                         debtor_kind=r.debtor_kind, department_code=r.department_code, contract_no=r.contract_no,
                         due_on=r.due_on, status=r.status, stage_name=r.stage_name, claimed_fen=r.claimed_fen,
                         owed_fen=r.owed_fen, repaid_fen=r.repaid_fen, outstanding_fen=r.outstanding_fen,
                         disputed_fen=r.disputed_fen, step_overdue=r.step_overdue) for r in page.rows]
    return LedgerOut(total=page.total, owed_fen=page.totals["owed"], repaid_fen=page.totals["repaid"],
                     outstanding_fen=page.totals["outstanding"], rows=rows)


@router.get("/arrears/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: int = Path(ge=1, le=MAX_ID), user: User = Depends(current_user),
             uow: UnitOfWork = Depends(get_uow)) -> CaseOut:
    """A case with its steps, repayment plan and repayments (404 outside the user's scope)."""
    v = case_view(uow.session, user, case_id)
    c = v.case
    return CaseOut(
        id=c.id, status=c.status, stage_name=c.stage_name, source=c.source, intake=intake_of(c.source),
        transfer=TransferOut.model_validate(t, from_attributes=True) if (t := uow.session.get(ArrearsTransfer, c.id))
        else None, creditor_uscc=c.creditor_uscc,
        creditor_name=c.creditor_name, debtor_uscc=v.debtor.uscc, debtor_name=v.debtor.name,
        debtor_kind=v.debtor.kind, department_code=c.department_code, contract_no=c.contract_no,
        signed_on=c.signed_on, delivered_on=c.delivered_on, accepted_on=c.accepted_on, due_on=c.due_on,
        inspection_due_on=c.inspection_due_on, settled_on=c.settled_on, debtor_kind_at_signing=c.debtor_kind,
        special_term_days=c.special_term_days, special_term_basis=c.special_term_basis,
        rules=c.rules, claimed_fen=c.claimed_fen, found_fen=c.found_fen, confirmed_fen=c.confirmed_fen,
        disputed_fen=c.disputed_fen, dispute_status=c.dispute_status, owed_fen=v.owed_fen, repaid_fen=c.repaid_fen,
        outstanding_fen=v.outstanding_fen, cooperation_level=c.cooperation_level,
        steps=[StepOut.of(s) for s in v.steps],
        instalments=[InstalmentOut(seq=i.seq, due_on=i.due_on, amount_fen=i.amount_fen) for i in v.instalments],
        repayments=[RepaymentOut(paid_on=r.paid_on, amount_fen=r.amount_fen, reference=r.reference)
                    for r in v.repayments])


@router.post("/arrears/cases", response_model=CaseOut, status_code=201)
def register_complaint(body: ComplaintIn, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                       services: Services = Depends(get_services)) -> CaseOut:
    """Register a complaint (the bureau): a provincial transfer goes to the handling department; a complaint
    under the local arrangement, or a ledger row, waits for the acceptance review."""
    require_role(user, "bureau")
    case = intake.register(uow, services, record=body.model_dump(), actor=user.username, now=services.clock.now())
    uow.commit()
    return get_case(case.id, user, uow)


@router.get("/arrears/steps", response_model=list[StepOut])
def my_steps(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> list[StepOut]:
    """The user's open steps, oldest deadline first."""
    return [StepOut.of(s) for s in actions.inbox(uow.session, user)]


@router.post("/arrears/steps/{step_id}", response_model=CaseOut)
def decide_step(body: DecisionIn, step_id: int = Path(ge=1, le=MAX_ID), user: User = Depends(current_user),
                uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> CaseOut:
    """Decide an open step; answers the case as it stands afterwards."""
    step = actions.act(uow, services, task_id=step_id, username=user.username, now=services.clock.now(),
                       step=actions.Step(body.decision, body.reason, dict(body.fields)))
    uow.commit()
    return get_case(step.case_id, user, uow)


class DashboardOut(BaseModel):
    cases: int
    owed_fen: int
    repaid_fen: int
    outstanding_fen: int
    steps_overdue: int
    by_status: dict[str, int]
    series: list[dict[str, int | str]] = Field(description="month, owed_fen and repaid_fen (cumulative)")


@router.get("/arrears/dashboard", response_model=DashboardOut)
def dashboard_figures(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                      services: Services = Depends(get_services)) -> DashboardOut:
    """The campaign's figures as the user may see them."""
    d = dashboard(uow.session, user, now=services.clock.now(), tz=services.settings.timezone)
    return DashboardOut(cases=d.cases, owed_fen=d.owed_fen, repaid_fen=d.repaid_fen,
                        outstanding_fen=d.outstanding_fen, steps_overdue=d.steps_overdue,
                        by_status={s: n for s, _label, n in d.by_status},
                        series=[{"month": p.month, "owed_fen": p.owed_fen, "repaid_fen": p.repaid_fen}
                                for p in d.series])
