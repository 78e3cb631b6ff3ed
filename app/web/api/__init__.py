"""The JSON API under /api/v1. Each module holds the routes of one area."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.api import admin, applicant, arrears, arrears_confirm, audit, auth, funds, manager, officer, rounds

router = APIRouter(prefix="/api/v1")
for module in (auth, applicant, officer, manager, audit, admin, arrears, arrears_confirm, funds, rounds):
    router.include_router(module.router)
