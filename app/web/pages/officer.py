"""Pages: the officer's inbox and task page (district, bureau and finance officers).

Usable without JavaScript: the inbox sorts and filters through query parameters, claim, release and
the decision are plain form posts. A decision that fails (bad input, someone else was faster, a
claim by someone else) re-renders the task page with the message and the values typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.errors import status_of
from app.web.templating import render
from services.accounts.access import OFFICER_ROLES, require_role
from services.awards import inbox, tasks
from services.bootstrap import Services
from services.db.models import Application, User
from services.errors import InvalidInput, NotFound, SmeflowError
from services.time import due
from services.uow import UnitOfWork

router = APIRouter()
MAX_ID = 2**63 - 1
SORT_LABELS = {"due": "截止时间", "created": "到达时间", "enterprise": "申报单位"}
EMPTY_FORM = {"decision": "", "reason": "", "amount_yuan": "", "payment_reference": ""}
ONLY_LABELS = {"": "全部", "mine": "我认领的", "unclaimed": "未认领", "overdue": "已逾期"}


def _officer(principal: Principal) -> User:
    require_role(principal.user, *sorted(OFFICER_ROLES))
    return principal.user


def _inbox_url(want: inbox.InboxQuery, **change: str) -> str:
    params = {"sort": want.sort, "q": want.q, "only": want.only} | change
    query = urlencode({k: v for k, v in params.items() if v and not (k == "sort" and v == "due")})
    return f"/inbox?{query}" if query else "/inbox"


def _done_notice(uow: UnitOfWork, user: User, item_id: int | None) -> str | None:
    """After a decision: what happened to the case ('案件 #3 现处于：公示')."""
    if item_id is None:
        return None
    try:
        item = tasks.visible_item(uow.session, user, item_id)
    except NotFound:
        return None
    app = uow.session.get_one(Application, item.application_id)
    return f"已办结“{item.name}”（案件 #{app.id}），案件现处于：{app.stage_name}"


def _period_days(services: Services) -> dict[str, Callable[[datetime | None], str]]:
    """`first_day` / `last_day`: a period's first and last day as `2024年7月4日（周四）` (local time)."""
    tz = services.settings.timezone

    def first(at: datetime | None) -> str:
        return due.day_text(at.astimezone(ZoneInfo(tz)).date()) if at else "—"

    def last(at: datetime | None) -> str:
        return due.day_text(due.last_day(at, tz)) if at else "—"

    return {"first_day": first, "last_day": last}


@router.get("/inbox")
def inbox_page(request: Request, sort: str = Query("due", max_length=20), q: str = Query("", max_length=100),
               only: str = Query("", max_length=20), done: int | None = Query(None, ge=1, le=MAX_ID),
               principal: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> Response:
    """The work items for the user's role and unit: oldest deadline first, sortable and filterable."""
    user = _officer(principal)
    want = inbox.InboxQuery(sort, q, only).normalised()
    now = services.clock.now()
    rows = inbox.inbox_rows(uow.session, user, now=now, want=want, soon_before=inbox.soon_cutoff(services, now))
    periods = [r for r in rows if r.stage in inbox.PERIODS]  # running by themselves: shown apart, not as work
    return render(request, "officer/inbox.html", {
        "rows": [r for r in rows if r.stage not in inbox.PERIODS], "periods": periods,
        "period_texts": inbox.PERIODS, **_period_days(services), "limit_hit": len(rows) >= 200,
        "notice": _done_notice(uow, user, done),
        "want": want,
        "sort_links": {key: (label, _inbox_url(want, sort=key)) for key, label in SORT_LABELS.items()},
        "only_links": [(key, label, _inbox_url(want, only=key), key == want.only)
                       for key, label in ONLY_LABELS.items()],
        "here": _inbox_url(want),
    })


def _task_page(request: Request, uow: UnitOfWork, services: Services, user: User, item_id: int, *,
               form: dict[str, str] | None = None, error: SmeflowError | None = None,
               status_code: int = 200) -> Response:
    view = inbox.task_view(uow.session, services, user, item_id, now=services.clock.now())
    return render(request, "officer/task.html", {
        "t": view, "case": view.case, "form": EMPTY_FORM | (form or {}), "error": error.message if error else None,
        "error_field": error.field if isinstance(error, InvalidInput) else None,
        "error_rule": error.rule if isinstance(error, InvalidInput) else None,
        "needs_reason": sorted(tasks.NEEDS_REASON), "reason_max": tasks.REASON_MAX,
        "period": inbox.PERIODS.get(view.stage), "period_days": services.settings.stage_limits.get(view.stage),
        **_period_days(services),
    }, status_code=status_code)


@router.get("/tasks/{item_id}")
def task_page(request: Request, item_id: int = Path(ge=1, le=MAX_ID),
              principal: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow),
              services: Services = Depends(get_services)) -> Response:
    """The application, its files, its history so far and the decision form."""
    return _task_page(request, uow, services, _officer(principal), item_id)


def _failed(request: Request, uow: UnitOfWork, services: Services, user: User, item_id: int, exc: SmeflowError,
            form: dict[str, str] | None = None) -> Response:
    """Nothing was changed: show the task page again with the message (and the typed values)."""
    if isinstance(exc, NotFound):
        raise exc
    uow.session.rollback()
    return _task_page(request, uow, services, user, item_id, form=form, error=exc, status_code=status_of(exc))


def _back(target: str, item_id: int) -> str:
    allowed = target.startswith(("/inbox", "/tasks/")) and "//" not in target and "\\" not in target
    return target if allowed else f"/tasks/{item_id}"


@router.post("/tasks/{item_id}/claim")
def claim(request: Request, item_id: int = Path(ge=1, le=MAX_ID), next: str = Form(""),
          principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
          services: Services = Depends(get_services)) -> Response:
    """Take the item (it becomes yours until you complete or release it)."""
    user = _officer(principal)
    try:
        tasks.claim(uow, item_id=item_id, username=user.username, now=services.clock.now())
        uow.commit()
    except SmeflowError as exc:
        return _failed(request, uow, services, user, item_id, exc)
    return RedirectResponse(_back(next, item_id), status_code=303)


@router.post("/tasks/{item_id}/release")
def release(request: Request, item_id: int = Path(ge=1, le=MAX_ID), next: str = Form(""),
            principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
            services: Services = Depends(get_services)) -> Response:
    """Give the item back to the unit's pool."""
    user = _officer(principal)
    try:
        tasks.release(uow, item_id=item_id, username=user.username, now=services.clock.now())
        uow.commit()
    except SmeflowError as exc:
        return _failed(request, uow, services, user, item_id, exc)
    return RedirectResponse(_back(next, item_id), status_code=303)


@router.post("/tasks/{item_id}/complete")
def complete(request: Request, item_id: int = Path(ge=1, le=MAX_ID), decision: str = Form(""),
             reason: str = Form(""), amount_yuan: str = Form(""), payment_reference: str = Form(""),
             principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
             services: Services = Depends(get_services)) -> Response:
    """Decide the task; on success back to the inbox, which says where the case went."""
    user = _officer(principal)
    form = {"decision": decision, "reason": reason, "amount_yuan": amount_yuan,
            "payment_reference": payment_reference}
    try:
        chosen = tasks.decision_from_input(decision=decision, reason=reason, amount_yuan=amount_yuan,
                                           payment_reference=payment_reference)
        tasks.complete(uow, services, item_id=item_id, username=user.username, decision=chosen,
                       now=services.clock.now())
        uow.commit()
    except SmeflowError as exc:
        return _failed(request, uow, services, user, item_id, exc, form)
    return RedirectResponse(f"/inbox?done={item_id}", status_code=303)

