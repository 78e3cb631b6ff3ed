"""Service errors become HTTP answers here, and only here: 404 for what the user may not see,
403 for what they may see but not do, 409 for a conflict, 422 with the field and rule for bad input."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.web.deps import CsrfFailed, NotAuthenticated
from app.web.templating import render
from services.errors import Conflict, EngineFailure, Forbidden, InvalidInput, NotFound, SmeflowError

STATUS: list[tuple[type[SmeflowError], int]] = [
    (InvalidInput, 422), (NotFound, 404), (Forbidden, 403), (Conflict, 409), (EngineFailure, 409),
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
            return JSONResponse({"detail": "not authenticated"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "CSRF 校验失败：请刷新页面后重试"
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=403)
        return render(request, "error.html", {"status": 403, "message": message}, status_code=403)
