"""API routes: audit (read-only; auditors, managers and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.web.deps import current_user, get_uow
from app.web.pages.audit import AppId, reader_only
from services import history, history_index
from services.db.models import User
from services.uow import UnitOfWork

router = APIRouter(tags=["audit"], dependencies=[Depends(reader_only)])


class ChainOut(BaseModel):
    ok: bool
    checked: int
    broken_at: int | None
    reason: str | None


class ChangeOut(BaseModel):
    field: str
    before: Any
    after: Any


class StepOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_name: str
    kind: str
    task: str | None
    task_name: str | None
    decision: str | None
    reason: str | None
    recorded: dict[str, Any]
    changes: list[ChangeOut]
    data: dict[str, Any]
    nodes: list[str]
    payload: dict[str, Any]
    hash: str
    prev_hash: str
    intact: bool


class HistoryOut(BaseModel):
    format: str
    application_id: int
    enterprise: str
    award_type: str
    award_name: str
    review_unit: str
    status: str
    stage: str
    stage_name: str
    created_at: datetime
    instance_id: int | None
    definition_hash: str | None
    process_id: str | None
    taken: list[str]
    current: list[str]
    intact: bool
    steps: list[StepOut]


class CaseOut(BaseModel):
    application_id: int
    enterprise: str
    award_name: str
    review_unit: str
    status: str
    stage_name: str
    created_at: datetime
    updated_at: datetime
    events: int


@router.get("/audit/verify", response_model=ChainOut)
def verify(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> ChainOut:
    """Walk the whole audit chain; on a break, name the first broken link."""
    history.require_reader(user)
    chain = history_index.chain_status(uow.session)
    return ChainOut(ok=chain.ok, checked=chain.checked, broken_at=chain.broken_at, reason=chain.reason)


@router.get("/audit/cases", response_model=list[CaseOut])
def cases(status: str | None = None, q: str | None = None, user: User = Depends(current_user),
          uow: UnitOfWork = Depends(get_uow)) -> list[CaseOut]:
    """The cases the caller may audit, newest first, with their number of audit events."""
    rows = history_index.case_list(uow.session, user=user, status=status, q=q)
    return [CaseOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/audit/cases/{application_id}/history", response_model=HistoryOut)
def case_history(application_id: AppId, user: User = Depends(current_user),
                 uow: UnitOfWork = Depends(get_uow)) -> HistoryOut:
    """A case's history step by step: who, when, which task, decision, data recorded and changed."""
    found = history.case_history(uow.session, user=user, application_id=application_id)
    return HistoryOut.model_validate(history.as_dict(found))
