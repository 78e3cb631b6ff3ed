"""API routes: the officer's work items (inbox, task detail, claim, release, complete).

Errors are service errors mapped in app/web/errors.py: 404 outside one's scope, 403 for a role that
may not act (auditors, managers), 409 for a conflict (claimed by someone else, already completed),
422 with `field` and `rule` for bad input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from app.web.deps import current_user, get_services, get_uow
from services.accounts.access import OFFICER_ROLES, require_role
from services.awards import inbox, tasks
from services.bootstrap import Services
from services.db.models import Application, User, WorkItem
from services.uow import UnitOfWork

router = APIRouter(tags=["officer"])
MAX_ID = 2**63 - 1
ItemId = Path(ge=1, le=MAX_ID, description="work item id")


class TaskSummary(BaseModel):
    """One row of the inbox."""

    id: int = Field(description="work item id")
    application_id: int
    stage: str = Field(description="task id in the diagram, e.g. district_check")
    stage_name: str
    enterprise: str
    award: str
    requested_fen: int
    created_at: datetime
    due_at: datetime | None
    due_provisional: bool = Field(description="the deadline crosses a year whose holidays are not yet published")
    overdue: bool
    escalated: bool = Field(description="escalated (督办): escalation level 2 or more")
    due_soon: bool
    assignee: str | None = Field(description="username of the officer who claimed it")


class CaseOut(BaseModel):
    application_id: int
    enterprise: str
    uscc: str
    review_unit: str
    award: str
    award_code: str
    cap_fen: int
    requested_fen: int
    awarded_fen: int | None
    description: str
    status: str
    stage_name: str
    applied_at: datetime


class FileOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime | None
    url: str


class HistoryOut(BaseModel):
    stage_name: str
    actor: str
    at: datetime | None
    decision: str | None
    reason: str | None


class FundOut(BaseModel):
    name: str
    budget_fen: int
    paid_fen: int
    remaining_fen: int


class TaskDetail(BaseModel):
    """A work item with its case, files, history and what may be decided (empty once completed)."""

    id: int
    name: str
    stage: str
    status: str = Field(description="open | completed | closed | cancelled")
    assignee: str | None
    due_at: datetime | None
    due_provisional: bool
    overdue: bool
    escalated: bool
    completed_by: str | None
    completed_at: datetime | None
    outcome: str | None
    decisions: list[str] = Field(description="allowed values of `decision` for this task")
    fields: list[str] = Field(description="extra inputs: award_amount_fen (bureau review), payment_reference")
    case: CaseOut
    files: list[FileOut]
    history: list[HistoryOut]
    fund: FundOut | None = Field(description="the paying fund (finance payout only)")


class ClaimState(BaseModel):
    id: int
    status: str
    assignee: str | None


class CompleteRequest(BaseModel):
    """A decision. Give the amount (bureau review, approve) either as integer fen or as yuan text."""

    model_config = ConfigDict(extra="forbid")
    decision: str = Field(description="one of the task's `decisions`: approve, return, reject, objection, pay")
    reason: str | None = Field(default=None, description="required for return, reject and objection")
    amount_fen: int | None = Field(default=None, strict=True, description="award amount in fen (integer)")
    amount_yuan: str | None = Field(default=None, description="award amount in yuan, e.g. '250000.00'")
    payment_reference: str | None = Field(default=None, description="required at finance payout")


class CompleteResult(BaseModel):
    """The work item as completed, and where its case now is."""

    item_id: int
    decision: str
    completed_by: str
    application_id: int
    status: str = Field(description="case status: running | paid | rejected")
    stage: str = Field(description="the case's new stage (task ids, or the end event)")
    stage_name: str


def officer_user(user: User = Depends(current_user)) -> User:
    """The caller, if an officer (district, bureau, finance); 403 otherwise, before the body is read."""
    require_role(user, *sorted(OFFICER_ROLES))
    return user


def _claim_state(item: WorkItem) -> ClaimState:
    return ClaimState(id=item.id, status=item.status, assignee=item.assignee)


@router.get("/tasks", response_model=list[TaskSummary])
def list_tasks(sort: Literal["due", "created", "enterprise"] = "due",
               q: str = Query("", max_length=100, description="text filter: enterprise, credit code, award, stage"),
               only: Literal["mine", "unclaimed", "overdue"] | None = None,
               limit: int = Query(200, ge=1, le=500),
               user: User = Depends(officer_user), uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> list[TaskSummary]:
    """The caller's inbox: open work items of their role and unit, oldest deadline first."""
    now = services.clock.now()
    rows = inbox.inbox_rows(uow.session, user, now=now, want=inbox.InboxQuery(sort, q, only or ""),
                            soon_before=inbox.soon_cutoff(services, now), limit=limit)
    return [TaskSummary(id=r.item_id, application_id=r.application_id, stage=r.stage, stage_name=r.stage_name,
                        enterprise=r.enterprise, award=r.award, requested_fen=r.requested_fen,
                        created_at=r.created_at, due_at=r.due_at, due_provisional=r.due_provisional,
                        overdue=r.overdue, escalated=r.escalated, due_soon=r.due_soon, assignee=r.assignee)
            for r in rows]


@router.get("/tasks/{item_id}", response_model=TaskDetail)
def get_task(item_id: int = ItemId, user: User = Depends(officer_user), uow: UnitOfWork = Depends(get_uow),
             services: Services = Depends(get_services)) -> TaskDetail:
    """A work item with its application, files, history and decision options; 404 outside one's scope."""
    v = inbox.task_view(uow.session, services, user, item_id, now=services.clock.now())
    c = v.case
    return TaskDetail(
        id=v.item_id, name=v.name, stage=v.stage, status=v.status, assignee=v.assignee, due_at=v.due_at,
        due_provisional=v.due_provisional, overdue=v.overdue, escalated=v.escalated, completed_by=v.completed_by,
        completed_at=v.completed_at, outcome=v.outcome, decisions=list(v.decisions), fields=list(v.fields),
        case=CaseOut(application_id=c.application_id, enterprise=c.enterprise, uscc=c.uscc,
                     review_unit=c.review_unit, award=c.award, award_code=c.award_code, cap_fen=c.cap_fen,
                     requested_fen=c.requested_fen, awarded_fen=c.awarded_fen, description=c.description,
                     status=c.status, stage_name=c.stage_name, applied_at=c.applied_at),
        files=[FileOut(id=f.id, filename=f.filename, content_type=f.content_type, size=f.size,
                       uploaded_at=f.uploaded_at, url=f"/documents/{f.id}") for f in v.files],
        history=[HistoryOut(stage_name=h.stage_name, actor=h.actor, at=h.at, decision=h.decision, reason=h.reason)
                 for h in v.history],
        fund=FundOut(name=v.fund.name, budget_fen=v.fund.budget_fen, paid_fen=v.fund.paid_fen,
                     remaining_fen=v.fund.remaining_fen) if v.fund else None,
    )


@router.post("/tasks/{item_id}/claim", response_model=ClaimState)
def claim_task(item_id: int = ItemId, user: User = Depends(officer_user), uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> ClaimState:
    """Claim the item; 409 naming the holder if someone else has it."""
    item = tasks.claim(uow, item_id=item_id, username=user.username, now=services.clock.now())
    uow.commit()
    return _claim_state(item)


@router.post("/tasks/{item_id}/release", response_model=ClaimState)
def release_task(item_id: int = ItemId, user: User = Depends(officer_user), uow: UnitOfWork = Depends(get_uow),
                 services: Services = Depends(get_services)) -> ClaimState:
    """Release one's own claim."""
    item = tasks.release(uow, item_id=item_id, username=user.username, now=services.clock.now())
    uow.commit()
    return _claim_state(item)


@router.post("/tasks/{item_id}/complete", response_model=CompleteResult)
def complete_task(body: CompleteRequest, item_id: int = ItemId, user: User = Depends(officer_user),
                  uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> CompleteResult:
    """Decide the task. 409 if someone else completed it first or holds it; 422 names the field and rule."""
    decision = tasks.decision_from_input(decision=body.decision, reason=body.reason, amount_fen=body.amount_fen,
                                         amount_yuan=body.amount_yuan, payment_reference=body.payment_reference)
    item = tasks.complete(uow, services, item_id=item_id, username=user.username, decision=decision,
                          now=services.clock.now())
    uow.commit()
    app = uow.session.get_one(Application, item.application_id)
    return CompleteResult(item_id=item.id, decision=decision.decision, completed_by=user.username,
                          application_id=app.id, status=app.status, stage=app.stage, stage_name=app.stage_name)
