"""Pages: the manager's dashboard (监控看板), its case-list exports, the outbox retry, and the stored
diagrams that the dashboard and the auditor's pages draw with bpmn-js.

The dashboard is for managers, admins and the bureau; anyone else gets 403 (they know the page
exists from the docs; what it holds is not theirs). It works without JavaScript except the diagram.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.templating import render
from app.web.uploads import diagram_response
from services import dashboard
from services.bootstrap import Services
from services.dashboard import Filters, exports, parse_filters
from services.dashboard.filters import MAX_ID
from services.db.models import Call, ProcessDefinition, User
from services.errors import InvalidInput, NotFound
from services.uow import UnitOfWork

router = APIRouter()
PAGE_ROWS = 200  # cases shown on the page; the exports hold all of them
HASH = re.compile(r"[0-9a-f]{64}")
SORT_LABELS = {"id": "编号", "created": "申报时间", "updated": "最近办理", "unit": "审核单位", "stage": "当前环节",
               "requested": "申请金额", "awarded": "核定金额"}


def _route_for(options: list[dashboard.RouteOption], services: Services, filters: Filters,
               route: str | None) -> dashboard.RouteOption | None:
    """The diagram to draw: the route of the award type filtered on, else the one picked, else the first."""
    if filters.award_type:
        route = next(a.route for e in services.editions for a in e.award_types if a.code == filters.award_type)
    if route:
        chosen = next((o for o in options if o.process_id == route), None)
        if chosen is None:
            raise InvalidInput("route", "未知的流程")
        return chosen
    return options[0] if options else None


def _choices(uow: UnitOfWork, services: Services) -> dict[str, object]:
    calls = uow.session.scalars(select(Call).order_by(Call.opens_on.desc(), Call.id.desc())).all()
    awards = [(a.code, f"措施{a.measure}·{a.name_zh}") for e in services.editions for a in e.award_types]
    units = [(u.code, u.name_zh) for u in services.units]
    return {"calls": calls, "awards": awards, "units": units, "statuses": dashboard.STATUSES}


@router.get("/dashboard")
def dashboard_page(request: Request, call: str | None = None, award: str | None = None, unit: str | None = None,
                   status: str | None = None, route: str | None = None, sort: str = "id",
                   retried: str | None = None, principal: Principal = Depends(current_principal),
                   uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Counts, the route diagram with open cases per node, overdue work, stage durations, the fund,
    the outbox and the case list, narrowed by call, award type, unit and status (query parameters)."""
    user = principal.user
    dashboard.require_dashboard(user)
    filters = parse_filters(services, call=call, award=award, unit=unit, status=status)
    now = services.clock.now()
    session = uow.session
    board = dashboard.build(session, services, user=user, filters=filters, now=now)
    options = dashboard.route_options(session, measures=dashboard.route_measures(services))
    chosen = _route_for(options, services, filters, route)
    counts, ended = ({}, {}) if chosen is None else dashboard.node_counts(
        session, user=user, filters=filters, process_id=chosen.process_id)
    total, cases = dashboard.case_list(session, user=user, filters=filters, now=now, sort=sort, limit=PAGE_ROWS)
    query = filters.as_query()
    return render(request, "manager/dashboard.html", {
        **_choices(uow, services), "board": board, "filters": filters, "routes": options, "route": chosen,
        "counts": counts, "ended": ended, "cases": cases, "total": total, "page_rows": PAGE_ROWS, "sort": sort,
        "sort_labels": SORT_LABELS, "filter_qs": urlencode(query),
        "route_qs": urlencode({**query, "route": chosen.process_id} if chosen else query),
        "can_retry": user.role in dashboard.RETRY_ROLES,
        "heartbeat_seconds": services.settings.worker_heartbeat_seconds,
        "retried": retried if retried and retried.isascii() and retried.isdigit() else None,
        "duration": dashboard.duration_zh,
    })


def _export_rows(user: User, uow: UnitOfWork, services: Services, call: str | None, award: str | None,
                 unit: str | None, status: str | None, sort: str) -> list[dashboard.CaseListRow]:
    dashboard.require_dashboard(user)
    filters = parse_filters(services, call=call, award=award, unit=unit, status=status)
    _total, rows = dashboard.case_list(uow.session, user=user, filters=filters, now=services.clock.now(), sort=sort)
    return rows


def attachment(services: Services, ext: str) -> dict[str, str]:
    """Content-Disposition of an export: smeflow-cases-<local date>.<ext>."""
    day = services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).strftime("%Y%m%d")
    return {"Content-Disposition": f'attachment; filename="smeflow-cases-{day}.{ext}"',
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@router.get("/dashboard/cases.csv")
def cases_csv(call: str | None = None, award: str | None = None, unit: str | None = None, status: str | None = None,
              sort: str = "id", principal: Principal = Depends(current_principal),
              uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """The filtered case list as CSV (UTF-8 with BOM; formula cells neutralised)."""
    rows = _export_rows(principal.user, uow, services, call, award, unit, status, sort)
    body = exports.cases_csv(rows, tz=ZoneInfo(services.settings.timezone))
    return Response(body, media_type="text/csv; charset=utf-8", headers=attachment(services, "csv"))


@router.get("/dashboard/cases.xlsx")
def cases_xlsx(call: str | None = None, award: str | None = None, unit: str | None = None, status: str | None = None,
               sort: str = "id", principal: Principal = Depends(current_principal),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """The filtered case list as an XLSX workbook (formula cells neutralised; money as exact numbers)."""
    rows = _export_rows(principal.user, uow, services, call, award, unit, status, sort)
    body = exports.cases_xlsx(rows, tz=ZoneInfo(services.settings.timezone))
    return Response(body, media_type=exports.XLSX_MEDIA_TYPE, headers=attachment(services, "xlsx"))


@router.post("/dashboard/outbox/{mail_id}/retry")
def retry_mail(mail_id: int = Path(ge=1, lt=MAX_ID), principal: Principal = Depends(csrf_form),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Queue a failed mail again (managers and admins; CSRF-checked form post)."""
    dashboard.retry_mail(uow.session, user=principal.user, mail_id=mail_id, now=services.clock.now())
    uow.commit()
    return RedirectResponse(f"/dashboard?retried={mail_id}#outbox", status_code=303)


@router.get("/diagrams/{digest}.bpmn")
def diagram_xml(digest: str, principal: Principal = Depends(current_principal),
                uow: UnitOfWork = Depends(get_uow)) -> Response:
    """A stored diagram version's BPMN XML, by content hash (any signed-in user; routes are public policy).

    Served sandboxed: the XML is only data for bpmn-js, never a document that may run script.
    """
    row = uow.session.get(ProcessDefinition, digest) if HASH.fullmatch(digest) else None
    if row is None:
        raise NotFound(f"流程图 {digest[:64]} 不存在")
    return diagram_response(row.bpmn_xml, {"Cache-Control": "private, max-age=86400, immutable"})
