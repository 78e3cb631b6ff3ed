"""Pages: the admin's console: calls, users, diagram versions.

Every form posts with the session's CSRF token; each action is one transaction with its audit
event. A refused action re-renders its page with the reason (and the HTTP status of the error).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.web.deps import Principal, csrf_form, current_user, get_services, get_uow
from app.web.errors import status_of
from app.web.security import wall_now
from app.web.templating import render
from app.web.uploads import diagram_response
from services.accounts import tokens
from services.accounts.users import ROLE_NAMES
from services.awards import admin, calls, enterprises
from services.awards import diagrams as admin_diagrams
from services.bootstrap import Services
from services.db.models import ReviewUnit, User
from services.engine.validate import DiagramInvalid
from services.errors import InvalidInput, SmeflowError
from services.uow import UnitOfWork


def admin_only(user: User = Depends(current_user)) -> User:
    """Every admin page and form: admins only (403 for anyone else, before anything is read)."""
    admin.require_admin(user)
    return user


router = APIRouter(dependencies=[Depends(admin_only)])
MAX_ID = 2**31 - 1
ROLE_LABELS = ROLE_NAMES
DONE = {"call-opened": "已开启申报批次。", "call-closed": "已提前截止申报批次，此后不再受理申报。",
        "user-created": "已创建用户。", "user-updated": "已保存用户信息。",
        "password-set": "已设置新密码；该用户此前的所有登录均已退出。"}


def today(services: Services) -> date:
    return services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).date()


def _date(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(field, "日期格式应为 YYYY-MM-DD") from exc


def _int_or_none(field: str, value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
        raise InvalidInput(field, "应为编号（正整数）")
    return int(value)


def _attempt(uow: UnitOfWork, action: Callable[[], str],
             page: Callable[[dict[str, Any], int], Response]) -> Response:
    """Run an admin action; commit and redirect on success, re-render the page with the reason if refused."""
    try:
        target = action()
    except SmeflowError as exc:
        uow.session.rollback()
        return page({"error": exc.message}, status_of(exc))
    uow.commit()
    return RedirectResponse(target, status_code=303)


@router.get("/admin")
def index(request: Request, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
          services: Services = Depends(get_services)) -> Response:
    """The console's start page: what is open, who is here, which diagram versions are current."""
    session = uow.session
    all_calls = admin.list_calls(session, user=user)
    open_calls = [c for c in all_calls if calls.is_open(c, today(services))]
    current = [v for v in admin_diagrams.versions(session, user=user) if v.current]
    people = admin.list_users(session, user=user)
    return render(request, "admin/index.html", {"open_calls": open_calls, "calls_total": len(all_calls),
                                                "users_total": len(people),
                                                "users_active": sum(1 for p in people if p.active),
                                                "current": current})


# -- calls ------------------------------------------------------------------------------------
def _calls_page(request: Request, uow: UnitOfWork, services: Services, user: User,
                extra: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    session = uow.session
    day = today(services)
    rows = [(c, "closed" if c.closed_early else "open" if calls.is_open(c, day)
             else "ended" if c.closes_on < day else "pending") for c in admin.list_calls(session, user=user)]
    ctx = {"rows": rows, "editions": services.editions, "funds": admin.list_funds(session, user=user),
           "today": day, "error": None, "done": None, "form": {}, **(extra or {})}
    return render(request, "admin/calls.html", ctx, status_code=status_code)


@router.get("/admin/calls")
def calls_page(request: Request, done: str = "", user: User = Depends(current_user),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    return _calls_page(request, uow, services, user, {"done": DONE.get(done)})


@router.post("/admin/calls")
def open_call(request: Request, principal: Principal = Depends(csrf_form), edition: str = Form(""),
              title: str = Form(""), opens_on: str = Form(""), closes_on: str = Form(""),
              award_types: list[str] = Form([]), fund: str = Form(""), uow: UnitOfWork = Depends(get_uow),
              services: Services = Depends(get_services)) -> Response:
    """Open a call for some award types of an edition, between two dates, drawing on a fund."""
    def action() -> str:
        admin.open_call(uow.session, user=principal.user, editions=services.editions, edition_code=edition,
                        title=title, opens_on=_date("opens_on", opens_on), closes_on=_date("closes_on", closes_on),
                        award_types=award_types, fund_code=fund, now=services.clock.now())
        return "/admin/calls?done=call-opened"

    form = {"edition": edition, "title": title, "opens_on": opens_on, "closes_on": closes_on,
            "award_types": award_types, "fund": fund}
    return _attempt(uow, action, lambda extra, code: _calls_page(
        request, uow, services, principal.user, {**extra, "form": form}, code))


@router.post("/admin/calls/{call_id:int}/close")
def close_call(request: Request, call_id: Annotated[int, Path(ge=1, le=MAX_ID)],
               principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> Response:
    """Close a call early."""
    def action() -> str:
        admin.close_call(uow.session, user=principal.user, call_id=call_id, now=services.clock.now(),
                         today=today(services))
        return "/admin/calls?done=call-closed"

    return _attempt(uow, action, lambda extra, code: _calls_page(
        request, uow, services, principal.user, extra, code))


# -- users ------------------------------------------------------------------------------------
def _users_context(uow: UnitOfWork, services: Services, user: User) -> dict[str, Any]:
    session = uow.session
    listed = admin.list_enterprises(session, user=user)
    return {"roles": ROLE_LABELS, "units": enterprises.active_units(session, today=today(services)),
            "unit_names": {u.code: u.name_zh for u in session.scalars(select(ReviewUnit))},
            "enterprise_names": {e.id: e.name for e in listed},
            "enterprises": listed, "error": None, "done": None, "form": {}}


def _users_page(request: Request, uow: UnitOfWork, services: Services, user: User,
                extra: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    ctx = {**_users_context(uow, services, user), "people": admin.list_users(uow.session, user=user), **(extra or {})}
    return render(request, "admin/users.html", ctx, status_code=status_code)


@router.get("/admin/users")
def users_page(request: Request, done: str = "", user: User = Depends(current_user),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    return _users_page(request, uow, services, user, {"done": DONE.get(done)})


@router.post("/admin/users")
def create_user(request: Request, principal: Principal = Depends(csrf_form), username: str = Form(""),
                display_name: str = Form(""), role: str = Form(""), password: str = Form(""),
                review_unit: str = Form(""), enterprise_id: str = Form(""), email: str = Form(""),
                unit_head: str = Form(""), uow: UnitOfWork = Depends(get_uow),
                services: Services = Depends(get_services)) -> Response:
    """Create a user with a role, and a review unit (district) or an enterprise (applicant)."""
    def action() -> str:
        admin.create_user(uow.session, user=principal.user, hasher=services.password_hasher, username=username,
                          display_name=display_name, role=role, password=password,
                          review_unit_code=review_unit or None,
                          enterprise_id=_int_or_none("enterprise", enterprise_id), email=email or None,
                          unit_head=bool(unit_head), now=services.clock.now(), today=today(services))
        return "/admin/users?done=user-created"

    form = {"username": username, "display_name": display_name, "role": role, "review_unit": review_unit,
            "enterprise_id": enterprise_id, "email": email, "unit_head": bool(unit_head)}
    return _attempt(uow, action, lambda extra, code: _users_page(
        request, uow, services, principal.user, {**extra, "form": form}, code))


def _user_page(request: Request, uow: UnitOfWork, services: Services, user: User, username: str,
               extra: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    target = admin.get_user(uow.session, user=user, username=username)
    ctx = {**_users_context(uow, services, user), "person": target, "now": wall_now(),
           "tokens": tokens.listed(uow.session, user=user, owner=target), **(extra or {})}
    return render(request, "admin/user.html", ctx, status_code=status_code)


@router.get("/admin/users/{username}")
def user_page(request: Request, username: str, user: User = Depends(current_user),
              uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    return _user_page(request, uow, services, user, username)


@router.post("/admin/users/{username}")
def update_user(request: Request, username: str, principal: Principal = Depends(csrf_form),
                role: str = Form(""), review_unit: str = Form(""), enterprise_id: str = Form(""),
                display_name: str = Form(""), email: str = Form(""), standing: str = Form(""),
                unit_head: str = Form(""), uow: UnitOfWork = Depends(get_uow),
                services: Services = Depends(get_services)) -> Response:
    """Change a user's role, unit or enterprise, name, e-mail, unit-head flag, or deactivate them."""
    def action() -> str:
        changes = admin.UserChanges(
            role=role or None, review_unit_code=review_unit or None,
            enterprise_id=_int_or_none("enterprise", enterprise_id), display_name=display_name or None,
            email=email, active={"active": True, "inactive": False}.get(standing), unit_head=bool(unit_head))
        admin.update_user(uow.session, user=principal.user, username=username, changes=changes,
                          now=services.clock.now(), today=today(services))
        return "/admin/users?done=user-updated"

    return _attempt(uow, action, lambda extra, code: _user_page(
        request, uow, services, principal.user, username, extra, code))


@router.post("/admin/users/{username}/password")
def set_password(request: Request, username: str, principal: Principal = Depends(csrf_form),
                 password: str = Form(""), uow: UnitOfWork = Depends(get_uow),
                 services: Services = Depends(get_services)) -> Response:
    """Give a user a new password; every session of theirs ends at once."""
    def action() -> str:
        admin.set_password(uow.session, user=principal.user, hasher=services.password_hasher, username=username,
                           password=password, now=services.clock.now())
        return "/admin/users?done=password-set"

    return _attempt(uow, action, lambda extra, code: _user_page(
        request, uow, services, principal.user, username, extra, code))


# -- diagrams ---------------------------------------------------------------------------------
def _diagrams_page(request: Request, uow: UnitOfWork, user: User, extra: dict[str, Any] | None = None,
                   status_code: int = 200) -> Response:
    ctx = {"versions": admin_diagrams.versions(uow.session, user=user), "error": None, "problems": [],
           "installed": None, "warnings": [], **(extra or {})}
    return render(request, "admin/diagrams.html", ctx, status_code=status_code)


@router.get("/admin/diagrams")
def diagrams_page(request: Request, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _diagrams_page(request, uow, user)


@router.get("/admin/diagrams/{digest}.bpmn")
def diagram_file(digest: str, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Download a stored diagram version."""
    row = admin_diagrams.definition(uow.session, user=user, digest=digest)
    return diagram_response(row.bpmn_xml, {
        "Content-Disposition": f'attachment; filename="{row.process_id}-{row.hash[:12]}.bpmn"'})


@router.post("/admin/diagrams")
def upload_diagram(request: Request, principal: Principal = Depends(csrf_form), file: UploadFile = File(...),
                   uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Upload a new diagram version: validated first; rejected uploads change nothing."""
    content = file.file.read(admin_diagrams.MAX_DIAGRAM_BYTES + 1)
    try:
        done = admin_diagrams.upload(uow.session, services.engine, user=principal.user, filename=file.filename or "",
                                     content=content, now=services.clock.now())
    except DiagramInvalid as exc:
        uow.session.rollback()
        message = f"“{file.filename}”未通过校验，未做任何更改。"
        return _diagrams_page(request, uow, principal.user, {"problems": exc.problems, "error": message}, 422)
    except SmeflowError as exc:
        uow.session.rollback()
        return _diagrams_page(request, uow, principal.user, {"error": exc.message}, status_of(exc))
    uow.commit()
    return _diagrams_page(request, uow, principal.user, {"installed": done.definition, "warnings": done.warnings})
