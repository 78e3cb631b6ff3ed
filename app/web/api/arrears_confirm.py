"""API routes: 确权 requests (2025 第十六条第二款; 2020 第十四条): an SME that finances a receivable asks the
debtor to confirm the debt, and the debtor confirms within 30 days of the request. A request of its own,
apart from complaints; the bureau records requests and answers, the others read what their scope allows
(a handling department its debtors' requests, an SME its own). Amounts are yuan text in requests and
integer fen in answers; 422 names the field and the rule.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.web.deps import current_user, get_services, get_uow
from services.arrears.confirmation import answer_confirmation, request_confirmation, visible_confirmations
from services.bootstrap import Services
from services.db.models import User
from services.db.models_arrears import ArrearsConfirmation, ArrearsDebtor
from services.errors import NotFound
from services.uow import UnitOfWork

router = APIRouter(tags=["arrears"])
MAX_ID = 2**63 - 1


class ConfirmationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creditor_uscc: Annotated[str, StringConstraints(max_length=40)]
    creditor_name: Annotated[str, StringConstraints(max_length=400)]
    debtor_uscc: Annotated[str, StringConstraints(max_length=40)] = Field(description="a registered debtor")
    contract_no: Annotated[str, StringConstraints(max_length=200)]
    amount: Annotated[str, StringConstraints(max_length=40)] = Field(description="receivable to confirm, yuan")
    financing: Annotated[str, StringConstraints(max_length=400)] = Field(
        description="how and with whom the receivable is financed")
    requested_on: Annotated[str, StringConstraints(max_length=20)] = Field(
        description="the day the SME made the request (YYYY-MM-DD); the 30 days run from the next day")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[str, StringConstraints(max_length=20)] = Field(description="confirmed | partial | disputed")
    answered_on: Annotated[str, StringConstraints(max_length=20)] = Field(description="YYYY-MM-DD")
    confirmed_amount: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="yuan, for partial only")


class ConfirmationOut(BaseModel):
    id: int
    creditor_uscc: str
    creditor_name: str
    debtor_uscc: str
    debtor_name: str
    contract_no: str
    amount_fen: int
    financing: str
    requested_on: date
    due_on: date = Field(description="the last day of the 30 days (rolled past rest days)")
    due_provisional: bool = Field(description="the year's holiday notice is not known yet (补假/调休 not counted)")
    article: str
    outcome: str | None
    confirmed_fen: int | None
    answered_on: date | None
    late: bool = Field(description="answered after the last day, or not answered and the last day has passed")
    reminded_at: datetime | None

    @classmethod
    def of(cls, row: ArrearsConfirmation, debtor: ArrearsDebtor, today: date) -> ConfirmationOut:
        answered = row.answered_on
        late = answered > row.due_on if answered is not None else today > row.due_on
        return cls(id=row.id, creditor_uscc=row.creditor_uscc, creditor_name=row.creditor_name,
                   debtor_uscc=debtor.uscc, debtor_name=debtor.name, contract_no=row.contract_no,
                   amount_fen=row.amount_fen, financing=row.financing, requested_on=row.requested_on,
                   due_on=row.due_on, due_provisional=row.due_provisional, article=row.article, outcome=row.outcome,
                   confirmed_fen=row.confirmed_fen, answered_on=answered, late=late, reminded_at=row.reminded_at)


def _out(uow: UnitOfWork, services: Services, row: ArrearsConfirmation) -> ConfirmationOut:
    from zoneinfo import ZoneInfo

    today = services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).date()
    return ConfirmationOut.of(row, uow.session.get_one(ArrearsDebtor, row.debtor_id), today)


@router.get("/arrears/confirmations", response_model=list[ConfirmationOut])
def list_confirmations(open_only: bool = Query(False, alias="open"), user: User = Depends(current_user),
                       uow: UnitOfWork = Depends(get_uow),
                       services: Services = Depends(get_services)) -> list[ConfirmationOut]:
    """确权 requests in the user's scope, unanswered first by due date (at most 500)."""
    return [_out(uow, services, r) for r in visible_confirmations(uow.session, user, only_open=open_only)]


@router.get("/arrears/confirmations/{request_id}", response_model=ConfirmationOut)
def get_confirmation(request_id: int = Path(ge=1, le=MAX_ID), user: User = Depends(current_user),
                     uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> ConfirmationOut:
    """One request (404 outside the user's scope)."""
    rows = visible_confirmations(uow.session, user, request_id=request_id)
    if not rows:
        raise NotFound(f"确权请求 {request_id} 不存在")
    return _out(uow, services, rows[0])


@router.post("/arrears/confirmations", response_model=ConfirmationOut, status_code=201)
def create_confirmation(body: ConfirmationIn, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                        services: Services = Depends(get_services)) -> ConfirmationOut:
    """Record an SME's 确权 request (the bureau), with the debtor's due date."""
    row = request_confirmation(uow, services, record=body.model_dump(), actor=user.username, now=services.clock.now())
    uow.commit()
    return _out(uow, services, row)


@router.post("/arrears/confirmations/{request_id}/answer", response_model=ConfirmationOut)
def answer(body: AnswerIn, request_id: int = Path(ge=1, le=MAX_ID), user: User = Depends(current_user),
           uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> ConfirmationOut:
    """Record the debtor's answer (the bureau); a second answer is a 409 and changes nothing."""
    row = answer_confirmation(uow, services, request_id=request_id, outcome=body.outcome,
                              confirmed_amount=body.confirmed_amount, answered_on=body.answered_on,
                              actor=user.username, now=services.clock.now())
    uow.commit()
    return _out(uow, services, row)
