"""The ASGI entry point for uvicorn: `uvicorn app.web.asgi:app` (settings from SMEFLOW_* env)."""

from app.web import create_app

app = create_app()
