"""Login, logout and the home page that sends each role to its own start page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.security import COOKIE, MAX_AGE, SessionCodec
from app.web.signin import cookie_secure, sign_in
from app.web.templating import render
from services.bootstrap import Services
from services.errors import InvalidInput
from services.uow import UnitOfWork

router = APIRouter()
START = {"applicant": "/my", "district": "/inbox", "bureau": "/inbox", "finance": "/inbox",
         "manager": "/dashboard", "auditor": "/audit", "admin": "/admin"}


def _safe_next(target: str | None) -> str | None:
    return target if target and target.startswith("/") and not target.startswith("//") else None


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next) or "", "error": None, "username": ""})


@router.post("/login")
def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form(""),
          uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Check the password (argon2) and set the signed session cookie."""
    try:
        user = sign_in(request, uow, services, username=username, password=password)
    except InvalidInput as exc:
        return render(request, "login.html", {"next": _safe_next(next) or "", "error": exc.rule,
                                              "username": username[:80]}, status_code=401)
    codec: SessionCodec = request.app.state.sessions
    cookie, _csrf = codec.new(user.id)
    response = RedirectResponse(_safe_next(next) or START.get(user.role, "/"), status_code=303)
    response.set_cookie(COOKIE, cookie, max_age=MAX_AGE, httponly=True, samesite="lax",
                        secure=cookie_secure(request, services))
    return response


@router.post("/logout")
def logout(principal: Principal = Depends(csrf_form)) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(principal: Principal = Depends(current_principal)) -> Response:
    return RedirectResponse(START.get(principal.user.role, "/login"), status_code=303)


@router.get("/account")
def account(request: Request, principal: Principal = Depends(current_principal)) -> Response:
    """The signed-in user's own page."""
    return render(request, "account.html", {})
