"""Pages: the enterprise pool (梯度培育库) — enterprises by tier with their honours, open offers and
awards paid, filtered and exported (CSV/XLSX); the bureau imports recognition lists here. District
officers see their own unit's enterprises only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.errors import status_of
from app.web.templating import render
from services.bootstrap import Services
from services.errors import InvalidInput, SmeflowError
from services.pool import catalogue
from services.pool.batches import import_list, require_importer
from services.pool.offers import after_import
from services.pool.views import PoolFilter, batches, export_csv, export_xlsx, pool_rows, scope_unit, tier_counts
from services.uow import UnitOfWork

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(tier: str, unit: str, q: str) -> PoolFilter:
    return PoolFilter(tier=tier or None, unit=unit or None, q=q or None)


def _page(
    request: Request,
    uow: UnitOfWork,
    services: Services,
    principal: Principal,
    filters: PoolFilter,
    *,
    report: object = None,
    error: SmeflowError | None = None,
) -> Response:
    rows, total = pool_rows(uow.session, services, user=principal.user, filters=filters)
    may_import = principal.user.role in {"bureau", "admin"}
    return render(
        request,
        "pool/index.html",
        {
            "rows": rows,
            "total": total,
            "counts": tier_counts(rows),
            "tiers": catalogue.load().tiers,
            "filters": filters,
            "may_import": may_import,
            "report": report,
            "batches": batches(uow.session) if may_import else [],
            "units": services.units if scope_unit(principal.user, None) is None else [],
            "error": error.message if error else None,
        },
        status_code=status_of(error) if error else 200,
    )


@router.get("/pool")
def pool_page(
    request: Request,
    tier: str = Query("", max_length=20),
    unit: str = Query("", max_length=40),
    q: str = Query("", max_length=60),
    principal: Principal = Depends(current_principal),
    uow: UnitOfWork = Depends(get_uow),
    services: Services = Depends(get_services),
) -> Response:
    """The pool, by tier, as the user may see it."""
    return _page(request, uow, services, principal, _filters(tier, unit, q))


@router.get("/pool/export.{fmt}")
def pool_export(
    fmt: str,
    tier: str = Query("", max_length=20),
    unit: str = Query("", max_length=40),
    q: str = Query("", max_length=60),
    principal: Principal = Depends(current_principal),
    uow: UnitOfWork = Depends(get_uow),
    services: Services = Depends(get_services),
) -> Response:
    """The filtered pool as CSV or XLSX (cells that would start a formula are neutralised)."""
    if fmt not in {"csv", "xlsx"}:
        raise InvalidInput("format", "只能导出 csv 或 xlsx")
    rows, _ = pool_rows(uow.session, services, user=principal.user, filters=_filters(tier, unit, q), limit=200_000)
    if fmt == "csv":
        return Response(
            export_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="pool.csv"'},
        )
    return Response(
        export_xlsx(rows), media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="pool.xlsx"'}
    )


@router.post("/pool/import")
def pool_import(
    request: Request,
    file: Annotated[UploadFile, File()],
    partial: Annotated[str, Form(max_length=5)] = "",
    principal: Principal = Depends(csrf_form),
    uow: UnitOfWork = Depends(get_uow),
    services: Services = Depends(get_services),
) -> Response:
    """Import a recognition list (bureau, admin): all or nothing, or the valid rows with `partial`."""
    require_importer(principal.user.role)
    limit = services.settings.pool_import_max_bytes
    content = file.file.read(limit + 1)
    report = None
    try:
        report = import_list(
            uow,
            services,
            content=content,
            filename=file.filename or "list.csv",
            actor=principal.user.username,
            now=services.clock.now(),
            partial=bool(partial),
            after=after_import,
        )
        uow.commit()
    except SmeflowError as exc:
        uow.session.rollback()
        return _page(request, uow, services, principal, PoolFilter(), error=exc)
    return _page(request, uow, services, principal, PoolFilter(), report=report)
