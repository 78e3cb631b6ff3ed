"""Server-rendered pages (zh-CN). Each module holds the pages of one kind of user."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.pages import (
    admin,
    admin_policy,
    applicant,
    arrears,
    arrears_confirm,
    arrears_register,
    audit,
    auth,
    demo_clock,
    funds,
    mailbox,
    manager,
    offers,
    officer,
    pool,
    sandbox,
)

router = APIRouter(include_in_schema=False)
for module in (auth, applicant, officer, manager, audit, admin, admin_policy, demo_clock, arrears, arrears_register,
               arrears_confirm, pool, sandbox, offers, funds, mailbox):
    router.include_router(module.router)
