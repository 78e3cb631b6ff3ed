"""Pages: the budget lines of each year (/funds): the city's special fund and the districts' matching
funds with budget, committed, paid and available; the bureau and admins create a line and adjust a
budget (with a reason, audited). A refused form re-renders the page with the reason."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.web.deps import Principal, csrf_form, current_user, get_services, get_uow
from app.web.errors import status_of
from app.web.pages.admin import today
from app.web.templating import render
from services.awards import enterprises, funds
from services.bootstrap import Services
from services.dashboard import fund_figures
from services.db.models import User
from services.errors import InvalidInput, SmeflowError
from services.money import parse_yuan
from services.uow import UnitOfWork

router = APIRouter()
DONE = {"created": "已建立资金条线。", "adjusted": "已调整预算，并记入审计链。"}


def _page(request: Request, uow: UnitOfWork, services: Services, user: User, extra: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    funds.lines(uow.session, user=user)  # 403 for roles that may not see the budget
    figures = fund_figures(uow.session, district_percent=services.settings.district_matching_percent)
    units = enterprises.active_units(uow.session, today=today(services))
    ctx = {"lines": figures, "units": units, "can_edit": user.role in funds.FUND_ROLES,
           "percent": services.settings.district_matching_percent, "year": today(services).year,
           "error": None, "done": None, "form": {}, **(extra or {})}
    return render(request, "funds.html", ctx, status_code=status_code)


@router.get("/funds")
def funds_page(request: Request, done: str = "", user: User = Depends(current_user),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    return _page(request, uow, services, user, {"done": DONE.get(done)})


def _attempt(request: Request, uow: UnitOfWork, services: Services, principal: Principal, action: Any,
             done: str, form: dict[str, str]) -> Response:
    try:
        action()
    except SmeflowError as exc:
        uow.session.rollback()
        return _page(request, uow, services, principal.user, {"error": exc.message, "form": form}, status_of(exc))
    uow.commit()
    return RedirectResponse(f"/funds?done={done}", status_code=303)


def _year(value: str) -> int:
    if not (value.strip().isascii() and value.strip().isdigit()) or len(value.strip()) != 4:
        raise InvalidInput("year", "预算年度应为四位年份")
    return int(value)


@router.post("/funds")
def create_line(request: Request, principal: Principal = Depends(csrf_form), year: str = Form(""),
                line: str = Form("city"), budget: str = Form(""), name: str = Form(""),
                uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Create a budget line (budget in yuan)."""
    def action() -> None:
        funds.create(uow.session, user=principal.user, year=_year(year), line=line,
                     budget_fen=parse_yuan(budget, "budget"), name=name or None, now=services.clock.now())

    return _attempt(request, uow, services, principal, action, "created",
                    {"year": year, "line": line, "budget": budget, "name": name})


@router.post("/funds/{code}/adjust")
def adjust_line(request: Request, code: str, principal: Principal = Depends(csrf_form), to: str = Form(""),
                by: str = Form(""), reason: str = Form(""), uow: UnitOfWork = Depends(get_uow),
                services: Services = Depends(get_services)) -> Response:
    """Set or change a budget (yuan), with a reason."""
    def action() -> None:
        funds.adjust(uow.session, user=principal.user, code=code, reason=reason, now=services.clock.now(),
                     to_fen=parse_yuan(to, "to_fen") if to.strip() else None,
                     by_fen=parse_yuan(by, "by_fen") if by.strip() else None)

    return _attempt(request, uow, services, principal, action, "adjusted",
                    {"code": code, "to": to, "by": by, "reason": reason})
