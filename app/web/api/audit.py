"""API routes: audit (read-only; auditors, managers and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.web.deps import current_user, get_services, get_uow
from app.web.pages.audit import AppId, reader_only
from services.audit import anchors, history, history_index, replay
from services.bootstrap import Services
from services.db.models import User
from services.errors import InvalidInput
from services.uow import UnitOfWork

router = APIRouter(tags=["audit"], dependencies=[Depends(reader_only)])


class ChainOut(BaseModel):
    ok: bool
    checked: int
    broken_at: int | None
    reason: str | None
    full_walk_at: datetime | None  # the full walk this answer rests on
    checked_since_full_walk: int  # events after it, checked one by one now
    statements_ok: bool  # every signed daily head statement verifies and still matches the chain
    statements_checked: int
    statement_problems: list[str]
    statement_warnings: list[str]  # e.g. no statement recorded yet though events are days old
    latest_statement: dict[str, object] | None


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
def verify(full: bool = False, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
           services: Services = Depends(get_services)) -> ChainOut:
    """The audit chain's state: the latest full walk (redone when older than the setting
    audit_verify_max_age_minutes, or now with `full=true`) and every event after it; on a break, the
    first broken link. Every signed head statement is checked too (a rewrite of the whole chain
    after a statement shows there)."""
    history.require_reader(user)
    chain = history_index.current_chain(uow, services, full=full)
    st = anchors.verify(uow.session, key=services.settings.audit_key(), now=services.clock.now(),
                        timezone=services.settings.timezone)
    return ChainOut(ok=chain.ok, checked=chain.checked, broken_at=chain.broken_at, reason=chain.reason,
                    full_walk_at=chain.full_at, checked_since_full_walk=chain.since_full,
                    statements_ok=st.ok, statements_checked=st.checked,
                    statement_problems=[p.message for p in st.problems], statement_warnings=list(st.warnings),
                    latest_statement=st.latest.as_dict() if st.latest else None)


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


@router.get("/audit/cases/{application_id}/replay")
def case_replay(application_id: AppId, step: int | None = Query(None), user: User = Depends(current_user),
                uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> dict[str, Any]:
    """Re-execute the case on its own diagram and compare step by step (as `smeflow audit replay --json`);
    with `step`, only the state after that step. Nothing is written."""
    result = replay.replay_case(uow, services, application_id=application_id, user=user)
    if step is not None and not 1 <= step <= len(result.steps):
        raise InvalidInput("step", f"须在 1 到 {len(result.steps)} 之间")
    return replay.as_dict(result, step=step)
