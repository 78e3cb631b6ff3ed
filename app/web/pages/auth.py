"""Login, logout, the user's own account page (password, API tokens) and the home page that sends
each role to its own start page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.errors import status_of
from app.web.security import COOKIE, SessionCodec, wall_now
from app.web.signin import cookie_secure, same_origin, sign_in
from app.web.templating import render
from services.accounts import sessions, tokens, users
from services.audit import chain as audit
from services.bootstrap import Services
from services.db.models import ReviewUnit
from services.errors import InvalidInput, SmeflowError
from services.uow import UnitOfWork

router = APIRouter()
START = {"applicant": "/my", "district": "/inbox", "bureau": "/inbox", "finance": "/inbox",
         "manager": "/dashboard", "auditor": "/audit", "admin": "/admin"}
CROSS_SITE = "登录请求来自其他网站，已拒绝。请直接打开本站的登录页登录。"
MAX_ID = 2**31 - 1


def _safe_next(target: str | None) -> str | None:
    return target if target and target.startswith("/") and not target.startswith("//") else None


def _set_session(response: Response, request: Request, services: Services, started: sessions.Started) -> None:
    codec: SessionCodec = request.app.state.sessions
    response.set_cookie(COOKIE, codec.seal(started.token), max_age=codec.max_age, httponly=True, samesite="lax",
                        secure=cookie_secure(request, services))


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next) or "", "error": None, "username": ""})


@router.post("/login")
def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form(""),
          uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Check the password (argon2) and start a server-side session. A post from another site's page
    (login CSRF: Origin or Referer of another host) is refused before anything is checked."""
    ctx = {"next": _safe_next(next) or "", "username": username[:80]}
    if not same_origin(request):
        return render(request, "login.html", {**ctx, "error": CROSS_SITE}, status_code=403)
    try:
        user = sign_in(request, uow, services, username=username, password=password)
    except InvalidInput as exc:
        return render(request, "login.html", {**ctx, "error": exc.rule}, status_code=401)
    except SmeflowError as exc:  # locked for a while (429)
        return render(request, "login.html", {**ctx, "error": exc.message}, status_code=status_of(exc))
    codec: SessionCodec = request.app.state.sessions
    previous = codec.token(request.cookies.get(COOKIE))
    if previous:
        sessions.end(uow.session, previous)  # this browser's earlier session, whoever it was
    started = sessions.start(uow.session, user=user, now=wall_now(), hours=services.settings.session_hours)
    uow.commit()
    response = RedirectResponse(_safe_next(next) or START.get(user.role, "/"), status_code=303)
    _set_session(response, request, services, started)
    return response


@router.post("/logout")
def logout(principal: Principal = Depends(csrf_form), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """End the session on the server (the cookie is dead from now on, wherever a copy of it is)."""
    if principal.session_token:
        sessions.end(uow.session, principal.session_token)
        uow.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(principal: Principal = Depends(current_principal)) -> Response:
    return RedirectResponse(START.get(principal.user.role, "/login"), status_code=303)


def _account(request: Request, uow: UnitOfWork, principal: Principal, extra: dict[str, Any] | None = None,
             status_code: int = 200) -> Response:
    own = tokens.listed(uow.session, user=principal.user, owner=principal.user)
    unit = principal.user.review_unit_code
    name = uow.session.scalar(select(ReviewUnit.name_zh).where(ReviewUnit.code == unit)) if unit else None
    return render(request, "account.html", {"tokens": own, "now": wall_now(), "error": None, "done": None,
                                            "unit_name": name, **(extra or {})}, status_code=status_code)


@router.get("/account")
def account(request: Request, principal: Principal = Depends(current_principal),
            uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The signed-in user's own page: change the password, see and revoke API tokens."""
    return _account(request, uow, principal)


@router.post("/account/password")
def change_password(request: Request, principal: Principal = Depends(csrf_form),
                    current_password: str = Form(""), new_password: str = Form(""), new_password_again: str = Form(""),
                    uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Change one's own password: every session of the user ends (other browsers are signed out at
    once); this browser gets a new session. The current password is checked as a sign-in is, throttle
    included: a wrong one counts against the username and the client address (so a stolen session
    cannot guess it without limit), and while either is locked even the right one is refused (429)."""
    user = principal.user
    try:
        try:
            sign_in(request, uow, services, username=user.username, password=current_password)
        except InvalidInput as exc:
            raise InvalidInput("current_password", "当前密码不正确") from exc
        if new_password != new_password_again:
            raise InvalidInput("new_password_again", "两次输入的新密码不一致")
        users.set_password(user, hasher=services.password_hasher, password=new_password)
    except InvalidInput as exc:
        return _account(request, uow, principal, {"error": exc.rule}, 422)
    except SmeflowError as exc:  # locked for a while (429)
        return _account(request, uow, principal, {"error": exc.message}, status_of(exc))
    ended = sessions.end_all(uow.session, user.id)
    audit.append(uow.session, kind="user.password", actor=user.username, at=services.clock.now(),
                 payload={"user": user.id, "username": user.username, "by": "self", "sessions_ended": ended})
    started = sessions.start(uow.session, user=user, now=wall_now(), hours=services.settings.session_hours)
    uow.commit()
    principal.csrf = started.csrf
    response = _account(request, uow, principal, {"done": "密码已更改；此前的所有登录（包括其他设备上的）均已退出。"})
    _set_session(response, request, services, started)
    return response


@router.post("/account/tokens/{token_id:int}/revoke")
def revoke_token(request: Request, token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                 principal: Principal = Depends(csrf_form), next: str = Form(""),
                 uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Revoke an API token: one's own, or (admins) anyone's; back to the page it was revoked from."""
    tokens.revoke(uow.session, user=principal.user, token_id=token_id)
    uow.commit()
    return RedirectResponse(_safe_next(next) or "/account", status_code=303)
