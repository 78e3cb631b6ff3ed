"""The web service: a JSON API under /api/v1 (OpenAPI at /openapi.json) and server-rendered pages,
both calling the same services."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.bootstrap import Services, build

STATIC = Path(__file__).resolve().parent / "static"


def create_app(services: Services | None = None) -> FastAPI:
    """Build the ASGI app around a wired service (default: from the environment)."""
    from app.web import docs, errors, headers, json_text, limits, openapi
    from app.web.api import router as api_router
    from app.web.pages import router as pages_router
    from app.web.security import SessionCodec

    services = services or build()
    app = FastAPI(title="smeflow", version="0.1.0", openapi_url="/openapi.json", docs_url=None,
                  redoc_url=None, description="南昌市优质中小企业奖补与清欠工作流服务 API")
    app.state.services = services
    app.state.sessions = SessionCodec(services.settings.session_secret(), services.settings.session_hours * 3600)
    services.settings.audit_key()  # generated on first start, or a refused key stops the start here
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app)
    app.add_middleware(json_text.JsonTextCheck)  # innermost: reads a JSON body already bounded and timed
    app.add_middleware(limits.RequestBodyLimits)  # sees the body before the routes do
    app.add_middleware(headers.SecurityHeaders)  # outside: its headers are on every answer, refusals too
    app.include_router(api_router)
    app.include_router(pages_router)
    app.include_router(docs.router)  # /api/docs, Swagger UI served from /static
    openapi.install(app)
    return app
