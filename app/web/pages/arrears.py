"""Pages: the arrears campaign (清欠) — the ledger with filters, a case with its timeline, plan and
repayments (and the forms of the steps the user may decide), the campaign dashboard with an
owed-versus-repaid chart drawn as inline SVG, the monthly report download and the ledger upload.

Usable without JavaScript: filters are query parameters, every decision is a plain form post.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.errors import status_of
from app.web.templating import render
from services.accounts.access import require_role
from services.arrears import actions
from services.arrears.cases import ArrearsRuntime
from services.arrears.confirmation import OUTCOMES, confirmations_of_case
from services.arrears.dashboard import chart, dashboard
from services.arrears.ledger import STATUS_NAMES, LedgerFilters, case_view, ledger_page
from services.arrears.ledger_import import import_ledger
from services.arrears.oversight import KINDS as MEASURE_NAMES
from services.arrears.oversight import measures_of
from services.arrears.report import build_report, month_bounds, xlsx_bytes
from services.arrears.rules import load_rules
from services.arrears.statute import KIND_NAMES, due_of_case, late_interest
from services.arrears.transfer import INTAKES, intake_of
from services.bootstrap import Services
from services.db.models_arrears import ArrearsTransfer
from services.errors import InvalidInput, SmeflowError
from services.uow import UnitOfWork

router = APIRouter()
MAX_ID = 2**63 - 1
PAGE = 100
CITY_VIEW = ("bureau", "manager", "admin", "auditor")


@router.get("/arrears")
def ledger(request: Request, kind: str = Query("", max_length=20), department: str = Query("", max_length=40),
           status: str = Query("", max_length=20), overdue: bool = Query(False), page: int = Query(1, ge=1, le=10**6),
           principal: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow),
           services: Services = Depends(get_services)) -> Response:
    """The campaign ledger (台账) as the user may see it, filtered, with totals over every match."""
    filters = LedgerFilters(kind=kind or None, department=department or None, status=status or None,
                            overdue=overdue)
    result = ledger_page(uow.session, principal.user, filters=filters, limit=PAGE, offset=(page - 1) * PAGE)
    inbox = actions.inbox(uow.session, principal.user, limit=50)
    return render(request, "arrears/ledger.html", {
        "page": result, "filters": filters, "page_no": page, "pages": max(1, -(-result.total // PAGE)),
        "kinds": KIND_NAMES, "statuses": STATUS_NAMES, "inbox": inbox,
        "query": {"kind": kind, "department": department, "status": status, "overdue": "1" if overdue else ""},
    })


def _case_page(request: Request, uow: UnitOfWork, services: Services, principal: Principal, case_id: int, *,
               error: SmeflowError | None = None, form: dict[str, str] | None = None, step_id: int | None = None,
               notice: str | None = None, confirm_error: SmeflowError | None = None) -> Response:
    view = case_view(uow.session, principal.user, case_id)
    today = services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).date()
    c = view.case
    # a closed case (销号, refused, withdrawn, ...) no longer accrues: its interest is counted to the closing day
    closed_on = c.closed_at.astimezone(ZoneInfo(services.settings.timezone)).date() if c.closed_at else None
    as_of = min(today, closed_on) if closed_on else today
    interest = late_interest(load_rules(), principal_fen=view.owed_fen, due_on=c.due_on, signed_on=c.signed_on,
                             agreed_rate_ppm=c.agreed_rate_ppm, as_of=as_of,
                             repayments=[(r.paid_on, r.amount_fen) for r in view.repayments]) \
        if view.owed_fen else None
    decidable = [s for s in view.open_steps if actions.may_decide(uow.session, principal.user, s)]
    due = due_of_case(load_rules(), services.calendar, c)
    measures = measures_of(uow, c.id)
    transfer = uow.session.get(ArrearsTransfer, c.id)
    requests = confirmations_of_case(uow.session, c)
    runtime = ArrearsRuntime(services)
    step_decisions = {s.id: runtime.decisions(uow.session, c, s) for s in decidable}
    return render(request, "arrears/case.html", {
        "v": view, "c": c, "interest": interest, "interest_closed_on": closed_on,
        "due": due, "measures": measures, "rules": load_rules(),
        "arrangement": services.settings.arrears_acceptance_arrangement, "transfer": transfer,
        "intake": intake_of(c.source), "intakes": INTAKES,
        "measure_names": MEASURE_NAMES, "kinds": KIND_NAMES, "statuses": STATUS_NAMES,
        "decidable": decidable, "step_decisions": step_decisions, "fields": actions.FORM_FIELDS,
        "decisions": actions.DECISION_NAMES,
        "needs_reason": actions.NEEDS_REASON, "error": error.message if error else None,
        "error_field": error.field if isinstance(error, InvalidInput) else None, "form": form or {},
        "error_step": step_id, "notice": notice, "requests": requests, "today": today,
        "outcomes": OUTCOMES, "confirm_error": confirm_error.message if confirm_error else None,
        "confirm_field": confirm_error.field if isinstance(confirm_error, InvalidInput) else None,
    }, status_code=status_of(shown) if (shown := error or confirm_error) is not None else 200)


@router.get("/arrears/cases/{case_id}")
def case_page(request: Request, case_id: int = Path(ge=1, le=MAX_ID), done: str = Query("", max_length=40),
              principal: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow),
              services: Services = Depends(get_services)) -> Response:
    """A case: facts, amounts and interest, the steps so far, the plan and repayments, the route history."""
    notice = ("投诉已登记，等待受理审查" if done == "registered"
              else "省级转办的投诉已登记，已进入处理部门核查处理" if done == "transferred"
              else f"已办理：{actions.DECISION_NAMES.get(done, done)}" if done else None)
    return _case_page(request, uow, services, principal, case_id, notice=notice)


async def _step_fields(request: Request) -> dict[str, str]:
    """The decision form's own fields (they differ per step); only awaits the parsed form."""
    form = await request.form()
    names = {f for fields in actions.FORM_FIELDS.values() for f, _label, _d in fields}
    return {k: str(form.get(k) or "") for k in names if form.get(k)}


@router.post("/arrears/steps/{step_id}")
def decide(request: Request, step_id: int = Path(ge=1, le=MAX_ID),
                 decision: Annotated[str, Form(max_length=40)] = "",
                 reason: Annotated[str, Form(max_length=4000)] = "",
                 principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
                 services: Services = Depends(get_services),
                 fields: dict[str, str] = Depends(_step_fields)) -> Response:
    """Decide a step; on error the case page comes back with the message and the values typed."""
    step = actions.visible_task(uow.session, principal.user, step_id)
    case_id = step.case_id
    try:
        actions.act(uow, services, task_id=step_id, username=principal.user.username, now=services.clock.now(),
                    step=actions.Step(decision, reason or None, fields))
        uow.commit()
    except SmeflowError as exc:
        uow.session.rollback()
        return _case_page(request, uow, services, principal, case_id, error=exc,
                          form={"decision": decision, "reason": reason, **fields}, step_id=step_id)
    return RedirectResponse(f"/arrears/cases/{case_id}?done={decision}", status_code=303)


@router.get("/arrears/dashboard")
def campaign_dashboard(request: Request, principal: Principal = Depends(current_principal),
                       uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Cases per status, owed versus repaid over the last 12 months, the oldest overdue debts."""
    figures = dashboard(uow.session, principal.user, now=services.clock.now(), tz=services.settings.timezone)
    return render(request, "arrears/dashboard.html", {"d": figures, "svg": chart(figures.series),
                                                     "can_report": principal.user.role in CITY_VIEW})


@router.get("/arrears/report.xlsx")
def report_download(month: str = Query(..., min_length=7, max_length=7),
                    principal: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow),
                    services: Services = Depends(get_services)) -> Response:
    """The monthly ledger report as XLSX (the bureau, managers, admins and auditors: city-wide)."""
    require_role(principal.user, *CITY_VIEW)
    month_bounds(month)
    report = build_report(uow.session, month=month, tz=services.settings.timezone)
    return Response(xlsx_bytes(report), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="arrears-{report.month}.xlsx"'})


@router.get("/arrears/import")
def import_form(request: Request, principal: Principal = Depends(current_principal)) -> Response:
    """The ledger upload form (the bureau)."""
    require_role(principal.user, "bureau")
    return render(request, "arrears/import.html", {"report": None, "error": None})


@router.post("/arrears/import")
def import_upload(request: Request, file: Annotated[UploadFile, File()],
                        partial: Annotated[str, Form(max_length=5)] = "",
                        principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
                        services: Services = Depends(get_services)) -> Response:
    """Import an uploaded ledger (CSV or XLSX): all or nothing, or the valid rows with `partial`."""
    require_role(principal.user, "bureau")
    limit = services.settings.arrears_import_max_bytes
    content = file.file.read(limit + 1)
    try:
        if len(content) > limit:
            raise InvalidInput("file", f"文件过大（最大 {limit // (1024 * 1024)} MiB，设置 arrears_import_max_bytes）")
        report = import_ledger(uow, services, content=content, filename=file.filename or "ledger.csv",
                               actor=principal.user.username, now=services.clock.now(), partial=bool(partial))
        uow.commit()
    except SmeflowError as exc:
        return render(request, "arrears/import.html", {"report": None, "error": exc.message},
                      status_code=status_of(exc))
    return render(request, "arrears/import.html", {"report": report, "error": None})
