"""API: the dashboard's figures (managers, admins, the bureau) and the case list (every role, scoped:
a district officer sees their unit's cases, an applicant their enterprise's)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.web.deps import current_user, get_services, get_uow
from services import dashboard
from services.awards import labels
from services.bootstrap import Services
from services.dashboard import Filters, exports, parse_filters
from services.dashboard.filters import MAX_ID
from services.db.models import User
from services.uow import UnitOfWork


class ErrorOut(BaseModel):
    """A 422: the service's {detail, field, rule}, or FastAPI's list of query validation errors."""

    detail: str | list[dict[str, Any]]
    field: str | None = None
    rule: str | None = None


router = APIRouter(tags=["manager"], responses={422: {"model": ErrorOut, "description": "bad filter or query"}})
CALL = Query(None, ge=1, lt=MAX_ID, description="申报批次 id")
AWARD = Query(None, max_length=60, pattern=r"^[a-z0-9-]+$", description="奖励类型代码，如 m2-little-giant-national")
UNIT = Query(None, max_length=40, pattern=r"^[a-z0-9_-]+$", description="审核单位代码，如 donghu")
STATUS = Query(None, description="办理中 running、已拨付 paid、不予通过 rejected")
SORT = Query("id", description="sort key; prefix - for descending")
Status = Literal["running", "paid", "rejected"]
Sort = Literal["id", "created", "updated", "unit", "stage", "requested", "awarded",
               "-id", "-created", "-updated", "-unit", "-stage", "-requested", "-awarded"]


class FiltersOut(BaseModel):
    call_id: int | None
    award_type: str | None
    unit: str | None
    status: str | None


class StageCountOut(BaseModel):
    status: str
    status_zh: str
    stage: str
    stage_name: str
    count: int


class UnitCountOut(BaseModel):
    unit: str
    name: str
    running: int
    paid: int
    rejected: int
    total: int
    overdue: int = Field(description="open work items past their deadline")


class OverdueOut(BaseModel):
    work_item_id: int
    application_id: int
    enterprise: str
    unit_name: str
    stage_name: str
    role: str
    assignee: str | None
    due_at: datetime
    due_on: date = Field(description="the last allowed day, local")
    days_late: int = Field(description="calendar days since the last allowed day")
    working_days_late: int
    escalation_level: int = Field(description="0 none, 1 notified, 2 escalated (督办)")


class DurationOut(BaseModel):
    stage: str
    name: str
    count: int = Field(description="finished work items measured")
    median_seconds: float
    p90_seconds: float = Field(description="90th percentile, linear interpolation between closest ranks")


class FundOut(BaseModel):
    code: str
    name: str
    year: int
    budget_fen: int
    committed_fen: int = Field(description="decided at bureau review, not paid yet")
    paid_fen: int
    remaining_fen: int = Field(description="budget - paid")
    available_fen: int = Field(description="remaining - committed (negative: over-committed)")


class FailedMailOut(BaseModel):
    id: int
    recipients: list[str]
    subject: str
    attempts: int
    last_error: str | None


class OutboxOut(BaseModel):
    counts: dict[str, int]
    failed: list[FailedMailOut]


class RouteOut(BaseModel):
    process_id: str
    hash: str = Field(description="content hash; the XML is at /diagrams/{hash}.bpmn")
    label: str
    open: dict[str, int] = Field(description="open cases per task node")
    ended: dict[str, int] = Field(description="finished cases per end event")


class WorkerOut(BaseModel):
    name: str = Field(description="host:pid of the smeflow worker process")
    state: str = Field(description="starting, serving, failed or stopped")
    alive: bool = Field(description="serving, with a heartbeat within three heartbeat intervals")
    detail: str | None = Field(description="why it failed (the worker's own message)")
    started_at: datetime
    seen_at: datetime


class DashboardOut(BaseModel):
    filters: FiltersOut
    total: int
    status_counts: dict[str, int]
    stages: list[StageCountOut]
    units: list[UnitCountOut]
    overdue: list[OverdueOut]
    durations: list[DurationOut]
    funds: list[FundOut]
    outbox: OutboxOut
    routes: list[RouteOut]
    workers_ok: bool = Field(description="at least one worker runs the scheduled flows")
    workers: list[WorkerOut] = Field(description="the workers seen in the last day, newest first")


class CaseOut(BaseModel):
    id: int
    enterprise: str
    uscc: str
    review_unit: str
    review_unit_name: str
    call_id: int
    call_title: str
    award_type: str
    award_name: str
    status: str
    status_zh: str
    stage: str
    stage_name: str
    requested_fen: int
    awarded_fen: int | None
    paid_fen: int | None
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    escalation_level: int


class CaseListOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CaseOut]


def _dashboard_out(board: dashboard.Dashboard, routes: list[RouteOut]) -> DashboardOut:
    f = board.filters
    return DashboardOut(
        filters=FiltersOut(call_id=f.call_id, award_type=f.award_type, unit=f.unit, status=f.status),
        total=board.total, status_counts=board.status_counts,
        stages=[StageCountOut(status=s.status, status_zh=labels.status(s.status), stage=s.stage,
                              stage_name=s.stage_name, count=s.count) for s in board.stages],
        units=[UnitCountOut(unit=u.unit, name=u.name, running=u.running, paid=u.paid, rejected=u.rejected,
                            total=u.total, overdue=u.overdue) for u in board.units],
        overdue=[OverdueOut(**vars(o)) for o in board.overdue],
        durations=[DurationOut(stage=d.stage, name=d.name, count=d.count, median_seconds=d.median.total_seconds(),
                               p90_seconds=d.p90.total_seconds()) for d in board.durations],
        funds=[FundOut(code=x.code, name=x.name, year=x.year, budget_fen=x.budget_fen, committed_fen=x.committed_fen,
                       paid_fen=x.paid_fen, remaining_fen=x.remaining_fen, available_fen=x.available_fen)
               for x in board.funds],
        outbox=OutboxOut(counts=board.outbox, failed=[
            FailedMailOut(id=m.id, recipients=list(m.recipients), subject=m.subject, attempts=m.attempts,
                          last_error=m.last_error) for m in board.failed_mails]),
        routes=routes, workers_ok=board.workers.ok,
        workers=[WorkerOut(name=w.name, state=w.state, alive=w.alive, detail=w.detail,
                           started_at=w.started_at, seen_at=w.seen_at) for w in board.workers.workers])


def _filters(services: Services, call: int | None, award: str | None, unit: str | None,
             status: str | None) -> Filters:
    return parse_filters(services, call=None if call is None else str(call), award=award, unit=unit, status=status)


@router.get("/dashboard", response_model=DashboardOut)
def get_dashboard(call: int | None = CALL, award: str | None = AWARD, unit: str | None = UNIT,
                  status: Status | None = STATUS, user: User = Depends(current_user),
                  uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> DashboardOut:
    """The dashboard's figures (managers, admins, the bureau; others 403). Money in fen."""
    dashboard.require_dashboard(user)
    filters = _filters(services, call, award, unit, status)
    session = uow.session
    board = dashboard.build(session, services, user=user, filters=filters, now=services.clock.now())
    routes = []
    for option in dashboard.route_options(session, measures=dashboard.route_measures(services)):
        opened, ended = dashboard.node_counts(session, user=user, filters=filters, process_id=option.process_id)
        routes.append(RouteOut(process_id=option.process_id, hash=option.hash, label=option.label, open=opened,
                               ended=ended))
    return _dashboard_out(board, routes)


def case_out(r: dashboard.CaseListRow) -> CaseOut:
    return CaseOut(id=r.id, enterprise=r.enterprise, uscc=r.uscc, review_unit=r.unit_code,
                   review_unit_name=r.unit_name, call_id=r.call_id, call_title=r.call_title, award_type=r.award_type,
                   award_name=r.award_name, status=r.status, status_zh=labels.status(r.status), stage=r.stage,
                   stage_name=r.stage_name, requested_fen=r.requested_fen, awarded_fen=r.awarded_fen,
                   paid_fen=r.paid_fen, created_at=r.created_at, due_at=r.due_at, overdue=r.overdue,
                   escalation_level=r.escalation_level)


@router.get("/cases", response_model=CaseListOut)
def list_cases(call: int | None = CALL, award: str | None = AWARD, unit: str | None = UNIT,
               status: Status | None = STATUS, sort: Sort = SORT, limit: int = Query(100, ge=1, le=1000),
               offset: int = Query(0, ge=0, le=10**9), user: User = Depends(current_user),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> CaseListOut:
    """The cases the caller may see (district officer: own unit; applicant: own enterprise; city roles: all)."""
    filters = _filters(services, call, award, unit, status)
    total, rows = dashboard.case_list(uow.session, user=user, filters=filters, now=services.clock.now(), sort=sort,
                                      limit=limit, offset=offset)
    return CaseListOut(total=total, limit=limit, offset=offset, items=[case_out(r) for r in rows])


@router.get("/cases.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def cases_csv(call: int | None = CALL, award: str | None = AWARD, unit: str | None = UNIT,
              status: Status | None = STATUS, sort: Sort = SORT, user: User = Depends(current_user),
              uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """The same scoped case list as CSV (UTF-8 with BOM, columns in Chinese, formula cells neutralised)."""
    filters = _filters(services, call, award, unit, status)
    _total, rows = dashboard.case_list(uow.session, user=user, filters=filters, now=services.clock.now(), sort=sort)
    body = exports.cases_csv(rows, tz=ZoneInfo(services.settings.timezone))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="smeflow-cases.csv"',
                             "X-Content-Type-Options": "nosniff"})
