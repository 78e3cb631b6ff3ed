"""Jinja2 for the pages (zh-CN): one environment, autoescaped, strict about missing values."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy import select

from services.accounts.users import ROLE_NAMES
from services.audit.kinds import kind_label
from services.awards import files, labels
from services.db.models import User
from services.mail.mailbox import sink_enabled
from services.money import yuan
from services.time import due
from services.time.clock import DemoClock

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters["yuan"] = yuan
_env.filters["day_text"] = due.day_text  # a last day (date): `2024年7月3日（周三）`
_env.filters["status_zh"] = labels.status
_env.filters["decision_zh"] = labels.decision
_env.filters["kind_zh"] = kind_label
_env.filters["file_kind"] = files.kind_name
_env.filters["file_size"] = files.size_text
_env.filters["role_zh"] = lambda role: ROLE_NAMES.get(role, "其他角色") if role else "—"


def deadline_text(request: Request, due_at: datetime | None) -> str:
    """'剩余 3 个工作日', '今日到期' or '已逾期 2 个工作日（4 天）', as the user's calendar counts it."""
    if due_at is None:
        return "—"
    services = request.app.state.services
    return due.left_text(due_at, services.clock.now(), services.settings.timezone, services.calendar)


def demo_banner(services: Any) -> str | None:
    """'演示环境 · 演示时钟 2025-06-16 10:00' in demo mode (the demo's stored clock), else None."""
    clock = services.clock
    if not isinstance(clock, DemoClock) or not clock.active:
        return None
    return f"演示环境 · 演示时钟 {clock.now().astimezone(ZoneInfo(services.settings.timezone)):%Y-%m-%d %H:%M}"


#: accounts that are not people: what they are called
NOT_PEOPLE = {"system": "系统（计时器与督办）", "demo": "演示数据", "smeflow demo": "演示数据"}
_CODE_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._-][A-Za-z0-9]+)+|[a-z]+")


def _people(request: Request) -> Callable[[str | None], Markup]:
    """`person(username)`: the account's name with its username in <code> beside it (looked up once per
    page, in the request's own unit of work)."""
    names: dict[str, str] = {}

    def person(username: str | None) -> Markup:
        if not username:
            return Markup("—")
        if username not in names:
            uow = getattr(request.state, "uow", None)
            found = uow.session.scalar(select(User.display_name).where(User.username == username)) if uow else None
            names[username] = found or NOT_PEOPLE.get(username, "用户")
        return Markup("{} <code>{}</code>").format(names[username], username)

    return person


def code_like(value: object) -> bool:
    """A stored code (`donghu`, `m2-srdi-sme-province`, `case.start`) rather than words: shown in <code>."""
    return isinstance(value, str) and _CODE_LIKE.fullmatch(value) is not None


_env.tests["code_like"] = code_like


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page; the layout gets the signed-in user and the CSRF token when there is one."""
    services = request.app.state.services
    tz = ZoneInfo(services.settings.timezone)
    principal = getattr(request.state, "principal", None)
    base = {
        "request": request, "user": principal.user if principal else None,
        "csrf_token": principal.csrf if principal else "",
        "local_dt": lambda d: d.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d else "—",
        "deadline": lambda d: deadline_text(request, d),
        "due_day": lambda d: due.due_text(d, services.settings.timezone),
        "first_day": lambda d: due.day_text(d.astimezone(tz).date()) if d else "—",
        "last_day": lambda d: due.day_text(due.last_day(d, services.settings.timezone)) if d else "—",
        "demo_clock": demo_banner(services),
        "mailbox_on": sink_enabled(services.settings),
        "person": _people(request),
    }
    html = _env.get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code=status_code, headers=headers)
