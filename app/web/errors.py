"""Service errors become HTTP answers here, and only here: 404 for what the user may not see,
403 for what they may see but not do, 409 for a conflict, 422 with the field and rule for bad input."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from app.web.deps import CsrfFailed, NotAuthenticated
from app.web.limits import NOT_SIGNED_IN, BodyRefused, refusal
from app.web.templating import render
from services.errors import (
    Conflict,
    EngineFailure,
    Forbidden,
    InvalidInput,
    NotFound,
    SmeflowError,
    TooManyAttempts,
)

STATUS: list[tuple[type[SmeflowError], int]] = [
    (InvalidInput, 422), (NotFound, 404), (Forbidden, 403), (Conflict, 409), (EngineFailure, 409),
    (TooManyAttempts, 429),
]


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def status_of(exc: SmeflowError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def install(app: FastAPI) -> None:
    """Register the one mapping from the service's exception tree to HTTP."""

    @app.exception_handler(SmeflowError)
    async def service_error(request: Request, exc: SmeflowError) -> Response:
        code = status_of(exc)
        if _wants_json(request):
            body: dict[str, str] = {"detail": exc.message}
            if isinstance(exc, InvalidInput):
                body |= {"field": exc.field, "rule": exc.rule}
            return JSONResponse(body, status_code=code)
        return render(request, "error.html", {"status": code, "message": exc.message}, status_code=code)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": NOT_SIGNED_IN}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "CSRF 校验失败：请刷新页面后重试"
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=403)
        return render(request, "error.html", {"status": 403, "message": message}, status_code=403)

    @app.exception_handler(BodyRefused)
    async def body_refused(request: Request, exc: BodyRefused) -> Response:
        return refusal(request.scope, exc)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        """FastAPI's JSON answer under /api/ (unknown path, wrong method); the error page elsewhere."""
        if _wants_json(request):
            return await http_exception_handler(request, exc)
        message = {404: "页面不存在", 405: "不支持该请求方法"}.get(exc.status_code, str(exc.detail))
        return render(request, "error.html", {"status": exc.status_code, "message": message},
                      status_code=exc.status_code, headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        """Bad input the routes' declarations refuse: FastAPI's 422 with each field and rule under /api/;
        on pages the error page naming the first field and rule."""
        if _wants_json(request):
            return await request_validation_exception_handler(request, exc)
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "请求"
        message = f"{field}：{first.get('msg', '输入无效')}"
        return render(request, "error.html", {"status": 422, "message": message}, status_code=422)
