"""Pages: the demo clock (/admin/demo-clock), only in demo mode: where the demo's time stands, and
moving it forward (a day, to the next deadline of a case such as the end of a public notice, or to a
chosen time); then the deadline sweep runs at once on the new time, as the worker would."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.web.deps import Principal, csrf_form, current_user, get_services, get_uow
from app.web.errors import status_of
from app.web.pages.admin import admin_only
from app.web.templating import render
from services.awards import demo_clock
from services.awards.deadlines import sweep
from services.bootstrap import Services
from services.db.models import User
from services.errors import InvalidInput, NotFound, SmeflowError
from services.time.clock import DemoClock
from services.uow import UnitOfWork

router = APIRouter(dependencies=[Depends(admin_only)])


def _demo(services: Services) -> DemoClock:
    clock = services.clock
    if not isinstance(clock, DemoClock) or not clock.active:
        raise NotFound("演示时钟只在演示环境中存在")
    return clock


def _page(request: Request, uow: UnitOfWork, services: Services, extra: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    now = _demo(services).now()
    ctx = {"now": now, "next_due": demo_clock.next_due(uow.session, now), "error": None, "moved": None,
           "fired": 0, **(extra or {})}
    return render(request, "admin/demo_clock.html", ctx, status_code=status_code)


@router.get("/admin/demo-clock")
def clock_page(request: Request, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> Response:
    return _page(request, uow, services)


def _target(services: Services, uow: UnitOfWork, jump: str, to: str, now: datetime) -> datetime:
    if jump == "day":
        return now + timedelta(days=1)
    if jump == "next_due":
        due = demo_clock.next_due(uow.session, now)
        if due is None:
            raise InvalidInput("jump", "没有尚未到期的期限")
        return due + timedelta(minutes=1)
    try:
        local = datetime.strptime(to.strip()[:16], "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise InvalidInput("to", "时间格式应为 YYYY-MM-DD HH:MM（北京时间）") from exc
    return local.replace(tzinfo=ZoneInfo(services.settings.timezone))


@router.post("/admin/demo-clock")
def move_clock(request: Request, principal: Principal = Depends(csrf_form), jump: str = Form(""),
               to: str = Form(""), uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> Response:
    """Move the demo clock forward, then run the deadline sweep on the new time."""
    clock = _demo(services)
    now = clock.now()
    try:
        target = _target(services, uow, jump, to, now)
        demo_clock.move(uow.session, user=principal.user, to=target, current=now, wall=clock.wall_now())
    except SmeflowError as exc:
        uow.session.rollback()
        return _page(request, uow, services, {"error": exc.message}, status_of(exc))
    uow.commit()
    clock.invalidate()
    report = sweep(services, clock.now())
    return _page(request, uow, services, {"moved": target, "fired": len(report.fired)})
