"""Pages: 确权 requests on the arrears case page (2025 第十六条第二款; 2020 第十四条). The bureau records an SME's
request about the case's debt and the debtor's answer; the case page lists the requests to whoever sees
the case (the SME, its handling department, the city). A bad value brings the case page back with the
message and what was typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.web.deps import Principal, csrf_form, get_services, get_uow
from app.web.pages.arrears import MAX_ID, _case_page
from services.arrears.confirmation import answer_confirmation, request_confirmation, visible_confirmations
from services.arrears.ledger import case_view
from services.arrears.registry import officer_departments, scope_cases
from services.bootstrap import Services
from services.db.models_arrears import ArrearsCase, ArrearsDebtor
from services.errors import NotFound, SmeflowError
from services.uow import UnitOfWork

router = APIRouter()


@router.post("/arrears/cases/{case_id}/confirmations")
def record_request(request: Request, case_id: int = Path(ge=1, le=MAX_ID),
                   amount: Annotated[str, Form(max_length=40)] = "",
                   financing: Annotated[str, Form(max_length=400)] = "",
                   requested_on: Annotated[str, Form(max_length=20)] = "",
                   principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
                   services: Services = Depends(get_services)) -> Response:
    """Record a 确权 request about this case's debt (same SME, debtor and contract)."""
    c = case_view(uow.session, principal.user, case_id).case
    debtor = uow.session.get_one(ArrearsDebtor, c.debtor_id)
    record = {"creditor_uscc": c.creditor_uscc, "creditor_name": c.creditor_name, "debtor_uscc": debtor.uscc,
              "contract_no": c.contract_no, "amount": amount, "financing": financing, "requested_on": requested_on}
    try:
        request_confirmation(uow, services, record=record, actor=principal.user.username, now=services.clock.now())
        uow.commit()
    except SmeflowError as exc:
        uow.session.rollback()
        return _case_page(request, uow, services, principal, case_id, confirm_error=exc,
                          form={"amount": amount, "financing": financing, "requested_on": requested_on})
    return RedirectResponse(f"/arrears/cases/{case_id}#confirmations", status_code=303)


@router.post("/arrears/confirmations/{request_id}/answer")
def record_answer(request: Request, request_id: int = Path(ge=1, le=MAX_ID),
                  outcome: Annotated[str, Form(max_length=20)] = "",
                  answered_on: Annotated[str, Form(max_length=20)] = "",
                  confirmed_amount: Annotated[str, Form(max_length=40)] = "",
                  principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
                  services: Services = Depends(get_services)) -> Response:
    """Record the debtor's answer to a request, back on the case page of its debt."""
    rows = visible_confirmations(uow.session, principal.user, request_id=request_id)
    if not rows:
        raise NotFound(f"确权请求 {request_id} 不存在")
    case_id = _case_of(uow, principal, rows[0].creditor_uscc, rows[0].debtor_id, rows[0].contract_no)
    try:
        answer_confirmation(uow, services, request_id=request_id, outcome=outcome,
                            confirmed_amount=confirmed_amount or None, answered_on=answered_on,
                            actor=principal.user.username, now=services.clock.now())
        uow.commit()
    except SmeflowError as exc:
        uow.session.rollback()
        if case_id is None:
            raise
        return _case_page(request, uow, services, principal, case_id, confirm_error=exc,
                          form={"outcome": outcome, "answered_on": answered_on, "confirmed_amount": confirmed_amount})
    if case_id is None:
        return RedirectResponse("/arrears", status_code=303)
    return RedirectResponse(f"/arrears/cases/{case_id}#confirmations", status_code=303)


def _case_of(uow: UnitOfWork, principal: Principal, creditor: str, debtor_id: int, contract: str) -> int | None:
    query = select(ArrearsCase.id).where(ArrearsCase.creditor_uscc == creditor, ArrearsCase.debtor_id == debtor_id,
                                         ArrearsCase.contract_no == contract)
    desk = officer_departments(uow.session, principal.user)
    return uow.session.scalar(scope_cases(query, principal.user, desk))
