"""Request bodies: bounded in size, sent by a signed-in user, and received in time.

An ASGI middleware, because FastAPI reads (and spools) the whole body before any dependency runs, so
a route cannot refuse a body it has not yet read. Before a byte of the body is read:

- the declared length is checked against the route's limit: uploads at their documented limit
  (UPLOADS below), every other body at the setting `request_max_body_bytes`; too long is 413;
- the sender must be signed in (session cookie or bearer token, checked as the routes check it),
  except on the two routes that sign in (PUBLIC); otherwise 401 (API) or the login page (pages).

While the body arrives, a chunked or lying sender is cut off at the same limit (413), and the whole
body must arrive within `request_body_timeout_seconds` plus the time its size needs at
`request_body_min_bytes_per_second` (408). Every refusal is a JSON `detail` under /api/ and the error
page elsewhere.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.policy_check import MAX_FILE_BYTES as POLICY_FILE_BYTES
from config.settings import Settings
from services.awards.diagrams import MAX_DIAGRAM_BYTES
from services.sandbox.drafts import MAX_DRAFT_BYTES

#: Room for the multipart framing and the form's small fields around the files of an upload.
MULTIPART_SLACK = 64 * 1024
#: Routes that take files, with the documented limit of what they take (README, "Configuration").
UPLOADS: tuple[tuple[re.Pattern[str], Callable[[Settings], int]], ...] = (
    (re.compile(r"/api/v1/applications/\d+/documents|/calls/[^/]+/apply|/my/applications/\d+/(documents|resubmit)"),
     lambda s: s.upload_max_files * s.upload_max_bytes),
    (re.compile(r"(/api/v1)?/admin/diagrams"), lambda s: MAX_DIAGRAM_BYTES),
    (re.compile(r"/admin/policy|/api/v1/policy/editions(/check)?"), lambda s: POLICY_FILE_BYTES),
    (re.compile(r"/policy/simulate"), lambda s: MAX_DRAFT_BYTES),
    (re.compile(r"/pool/import|/api/v1/pool/imports"), lambda s: s.pool_import_max_bytes),
    (re.compile(r"/arrears/import"), lambda s: s.arrears_import_max_bytes),
)
#: The routes that sign a user in: the only bodies accepted without a session or token.
PUBLIC = frozenset({("POST", "/login"), ("POST", "/api/v1/tokens")})

#: the 401 of the JSON API (the pages send the browser to the login page instead)
NOT_SIGNED_IN = "未登录：请先登录，或在请求头 Authorization 中附上有效的 API 令牌"


class BodyRefused(HTTPException):
    """The body is too long (413), too slow (408) or malformed in its framing (400).

    An HTTPException so that FastAPI passes it through its body parsing unchanged; app.web.errors
    answers it like every other refusal."""


def body_limit(settings: Settings, path: str) -> int:
    """The largest body the route at `path` accepts, in bytes."""
    for pattern, limit in UPLOADS:
        if pattern.fullmatch(path):
            return limit(settings) + MULTIPART_SLACK
    return settings.request_max_body_bytes


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def too_long(limit: int) -> BodyRefused:
    return BodyRefused(413, f"请求体过大：本接口最多接受 {_mib(limit)}（request body limit）")


def refusal(scope: Scope, exc: HTTPException) -> Response:
    """The answer to a refused body: JSON under /api/, the error page elsewhere."""
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers={"Connection": "close"})
    from app.web.templating import render

    page = render(Request(scope), "error.html", {"status": exc.status_code, "message": exc.detail},
                  status_code=exc.status_code)
    page.headers["Connection"] = "close"
    return page


NUL_RULE = "不能包含空字符（NUL）"


def nul_field(scope: Scope) -> str | None:
    """The first query parameter (or the path) that carries a NUL character, else None."""
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" not in query.lower() and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "")[:40] or "query"
    return "query"


def nul_refusal(scope: Scope, field: str) -> Response:
    """422 naming the field: JSON `{detail, field, rule}` under /api/, the error page elsewhere."""
    from services.errors import field_label

    message = f"{field_label(field)}：{NUL_RULE}"
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": message, "field": field, "rule": NUL_RULE}, status_code=422)
    return refusal(scope, HTTPException(422, message))


def _signed_in(request: Request) -> bool:
    """Whether the request carries a valid session or token, checked as the routes check it (nothing
    is written: the unit of work is not committed)."""
    from app.web.deps import NotAuthenticated, _principal

    services = request.app.state.services
    with services.uow() as uow:
        try:
            _principal(request, uow, services)
        except NotAuthenticated:
            return False
    return True


class RequestBodyLimits:
    """The ASGI middleware; `settings` is read per request from the app's wired services."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nul = nul_field(scope)
        if nul is not None:  # PostgreSQL text cannot hold NUL: refused here, for every route at once
            await nul_refusal(scope, nul)(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if declared is None and not chunked:
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.services.settings
        limit = body_limit(settings, scope["path"])
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await refusal(scope, BodyRefused(400, "Content-Length 不是整数"))(scope, receive, send)
            return
        if length == 0:
            await self.app(scope, receive, send)
            return
        if length is not None and (length < 0 or length > limit):
            await refusal(scope, too_long(limit))(scope, receive, send)
            return
        if (scope["method"], scope["path"]) not in PUBLIC and not await run_in_threadpool(_signed_in, Request(scope)):
            await self._not_signed_in(scope, receive, send)
            return
        budget = settings.request_body_timeout_seconds + (length or limit) / settings.request_body_min_bytes_per_second
        await self._guarded(scope, receive, send, limit, time.monotonic() + budget)

    async def _not_signed_in(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"detail": NOT_SIGNED_IN}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer", "Connection": "close"})
        else:
            response = RedirectResponse(f"/login?next={scope['path']}", status_code=303,
                                        headers={"Connection": "close"})
        await response(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: int, deadline: float) -> None:
        received = 0
        complete = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(deadline - time.monotonic(), 0.001))
            except TimeoutError:
                raise BodyRefused(408, "请求体发送超时：请在网络通畅时重试（request body timeout）") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_long(limit)
                complete = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyRefused as exc:
            if started:
                raise
            await refusal(scope, exc)(scope, receive, send)


def install(app: Any) -> None:
    app.add_middleware(RequestBodyLimits)
