"""Request dependencies: the wired service, a unit of work per request, the current user, CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, Request

from app.web.security import COOKIE, SessionCodec, same_token, wall_now
from services.accounts import sessions, tokens
from services.bootstrap import Services
from services.db.models import User
from services.errors import Forbidden
from services.uow import UnitOfWork

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
READ_ONLY_ROLES = frozenset({"auditor"})
#: What a read-only user may still post: their own sign-out, password and API tokens.
READ_ONLY_EXEMPT = frozenset({"/logout", "/account/password"})
READ_ONLY_EXEMPT_PREFIXES = ("/account/tokens/", "/api/v1/tokens/")


class NotAuthenticated(Exception):
    """No valid session or token: pages redirect to the login, the API answers 401."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token."""


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_uow(request: Request, services: Services = Depends(get_services)) -> Iterator[UnitOfWork]:
    """One unit of work per request; handlers that change state call uow.commit(). The page templates
    read names through it too (request.state.uow): a second unit of work would wait for this one."""
    with services.uow() as uow:
        request.state.uow = uow
        try:
            yield uow
        finally:
            request.state.uow = None


@dataclass
class Principal:
    user: User
    csrf: str | None  # None for bearer-token clients (no cookie, so no CSRF exposure)
    session_token: str | None = None  # the server-side session's token (cookie clients)


def _principal(request: Request, uow: UnitOfWork, services: Services) -> Principal:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = tokens.resolve(uow.session, header[7:].strip(), wall_now(), record_use=request.method in UNSAFE)
        if user is None:
            raise NotAuthenticated()
        return Principal(user, None)
    codec: SessionCodec = request.app.state.sessions
    token = codec.token(request.cookies.get(COOKIE))
    found = sessions.resolve(uow.session, token, wall_now()) if token else None
    if found is None:
        raise NotAuthenticated()
    return Principal(found[0], found[1], token)


def current_principal(request: Request, uow: UnitOfWork = Depends(get_uow),
                      services: Services = Depends(get_services)) -> Principal:
    """The signed-in user. Cookie-authenticated API writes need the X-CSRF-Token header."""
    principal = _principal(request, uow, services)
    request.state.principal = principal
    if (principal.user.role in READ_ONLY_ROLES and request.method in UNSAFE
            and request.url.path not in READ_ONLY_EXEMPT
            and not request.url.path.startswith(READ_ONLY_EXEMPT_PREFIXES)):
        raise Forbidden("审计员为只读角色，不能进行任何修改")
    if (principal.csrf is not None and request.method in UNSAFE and request.url.path.startswith("/api/")
            and not same_token(request.headers.get("x-csrf-token"), principal.csrf)):
        raise CsrfFailed()
    return principal


def current_user(principal: Principal = Depends(current_principal)) -> User:
    return principal.user


async def csrf_form(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
    """For HTML form posts: the form's csrf_token must match the session's."""
    form = await request.form()
    token = form.get("csrf_token")
    if principal.csrf is None or not same_token(token if isinstance(token, str) else None, principal.csrf):
        raise CsrfFailed()
    return principal
