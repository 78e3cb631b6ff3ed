"""Server-rendered pages (zh-CN). Each module holds the pages of one kind of user."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.pages import admin, applicant, arrears, audit, auth, manager, offers, officer, pool, sandbox

router = APIRouter(include_in_schema=False)
for module in (auth, applicant, officer, manager, audit, admin, arrears, pool, sandbox, offers):
    router.include_router(module.router)
