"""Pages: the policy sandbox (政策沙盘) for the bureau, the finance bureau and managers: price a draft
edition (stored, or a file not yet loaded) against an edition on the pool, see the figures with
charts, and download the workbook and the lists of enterprises that gain or lose.

Bad input re-shows the form with one line naming the field and the rule (422); nothing is recorded.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.templating import render
from services.bootstrap import Services
from services.dashboard.filters import MAX_ID
from services.errors import InvalidInput, SmeflowError
from services.sandbox import charts, drafts, export, run
from services.uow import UnitOfWork

router = APIRouter()
SHOWN = 100  # gainers and losers listed on the page; the downloads hold all of them


def _form(request: Request, uow: UnitOfWork, services: Services, *, error: SmeflowError | None = None,
          values: dict[str, str] | None = None) -> Response:
    return render(request, "sandbox/form.html", {
        "editions": services.editions, "recent": run.recent(uow.session), "error": error,
        "values": values or {"draft": "", "against": "", "as_of": "", "take_up": "observed"},
    }, status_code=422 if error else 200)


@router.get("/policy/simulate")
def simulate_form(request: Request, principal: Principal = Depends(current_principal),
                  uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """The form: which draft, against which edition, on which date, with which take-up; recent simulations."""
    run.require_sandbox(principal.user)
    return _form(request, uow, services)


@router.post("/policy/simulate")
def simulate_post(
    request: Request,
    draft: Annotated[str, Form(max_length=40)] = "",
    against: Annotated[str, Form(max_length=40)] = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
    take_up: Annotated[str, Form(max_length=20)] = "observed",
    draft_file: Annotated[UploadFile | None, File()] = None,
    principal: Principal = Depends(csrf_form),
    uow: UnitOfWork = Depends(get_uow),
    services: Services = Depends(get_services),
) -> Response:
    """Run and record one simulation, then show it."""
    run.require_sandbox(principal.user)
    actor = principal.user.username
    uow.session.commit()  # end the request's transaction: the simulation reads and records on its own
    values = {"draft": draft, "against": against, "as_of": as_of, "take_up": take_up}
    try:
        upload = None
        if draft_file is not None and draft_file.filename:
            data = draft_file.file.read(drafts.MAX_DRAFT_BYTES + 1)
            upload = (draft_file.filename, data)
        elif not draft:
            raise InvalidInput("draft", "请选择一个政策版本，或上传草案文件")
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise InvalidInput("as_of", f"日期须为 YYYY-MM-DD，收到 {as_of!r}") from None
        recorded = run.simulate(services, run.Request(draft=draft or None, draft_file=upload, against=against or None,
                                                      as_of=day, take_up=take_up or "observed"),
                                actor=actor)
    except InvalidInput as exc:
        return _form(request, uow, services, error=exc, values=values)
    return RedirectResponse(f"/policy/simulations/{recorded.id}", status_code=303)


def _download(simulation_id: int, ext: str, body: bytes, media: str) -> Response:
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="policy-simulation-{simulation_id}.{ext}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@router.get("/policy/simulations/{simulation_id}.xlsx")
def simulation_xlsx(simulation_id: int = Path(ge=1, lt=MAX_ID), principal: Principal = Depends(current_principal),
                    uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """The workbook of one simulation (the same as `smeflow policy simulate --out`)."""
    run.require_sandbox(principal.user)
    rec = run.load(uow.session, simulation_id)
    body = export.to_xlsx(rec.result, simulation_id=rec.id, actor=rec.actor, sha256=rec.draft_sha256,
                          unit_name={u.code: u.name_zh for u in services.units})
    return _download(simulation_id, "xlsx", body, export.XLSX_MEDIA_TYPE)


@router.get("/policy/simulations/{simulation_id}/{which}.csv")
def simulation_changes(which: str, simulation_id: int = Path(ge=1, lt=MAX_ID),
                       principal: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow),
                       services: Services = Depends(get_services)) -> Response:
    """The enterprises that gain (``gainers``) or lose (``losers``) an award, as CSV."""
    run.require_sandbox(principal.user)
    if which not in ("gainers", "losers"):
        raise InvalidInput("list", "只能导出 gainers（增加）或 losers（减少）")
    rec = run.load(uow.session, simulation_id)
    body = export.changes_csv(getattr(rec.result, which), {u.code: u.name_zh for u in services.units})
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="policy-simulation-{simulation_id}-{which}.csv"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


# after the .xlsx route: a path like /policy/simulations/5.xlsx must reach that one first
@router.get("/policy/simulations/{simulation_id}")
def simulation_page(request: Request, simulation_id: int = Path(ge=1, lt=MAX_ID),
                    principal: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow),
                    services: Services = Depends(get_services)) -> Response:
    """One recorded simulation: totals, charts, per award type, per district, fund lines, gainers and losers."""
    run.require_sandbox(principal.user)
    recorded = run.load(uow.session, simulation_id)
    r = recorded.result
    return render(request, "sandbox/result.html", {
        "rec": recorded, "r": r, "draft": r.total("draft"), "current": r.total("against"),
        "award_svg": charts.award_chart(r), "district_svg": charts.district_chart(r), "shown": SHOWN,
        "rate": export.rate_text, "units": {u.code: u.name_zh for u in services.units},
    })
