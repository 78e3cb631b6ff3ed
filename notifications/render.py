"""Notification mail rendering (zh-CN): one Jinja2 environment over ``notifications/templates``.

Each mail ``<name>`` has three files: ``<name>.subject.txt``, ``<name>.txt`` (plain text) and
``<name>.html`` (HTML, autoescaped: every value from users is escaped). A missing context value
raises ``jinja2.UndefinedError`` instead of rendering blank. The context each mail expects is
written at the top of its ``.txt`` file.

Filters: ``yuan`` (integer fen -> ``300,000.00``, exact, no float) and ``local_dt`` (aware datetime
-> ``YYYY-MM-DD HH:MM`` in Asia/Shanghai), ``local_date`` (-> ``YYYY-MM-DD``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from services.money import yuan
from services.time.due import due_text

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_TIMEZONE = "Asia/Shanghai"
_PARTS = (".subject.txt", ".txt", ".html")


@dataclass(frozen=True)
class RenderedMail:
    """A rendered mail: one-line subject, plain-text body and HTML body."""

    subject: str
    text: str
    html: str


def _local(value: datetime, tz: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is required")
    return value.astimezone(ZoneInfo(tz))


def local_dt(value: datetime, tz: str = DEFAULT_TIMEZONE) -> str:
    """Format an aware datetime as local time 'YYYY-MM-DD HH:MM' (default Asia/Shanghai)."""
    return _local(value, tz).strftime("%Y-%m-%d %H:%M")


def local_date(value: datetime | date, tz: str = DEFAULT_TIMEZONE) -> str:
    """Format an aware datetime (as a local date) or a date as 'YYYY-MM-DD'."""
    if isinstance(value, datetime):
        return _local(value, tz).strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"expected a date or datetime, got {type(value).__name__}")


def due(value: datetime, tz: str = DEFAULT_TIMEZONE) -> str:
    """A deadline the one way it reads everywhere (`2024年7月4日（周四）前`; services.time.due)."""
    _local(value, tz)  # the same checks: aware datetimes only
    return due_text(value, tz)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja2 environment of the notification mail (created on first use)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters.update(yuan=yuan, local_dt=local_dt, local_date=local_date, due=due)
    return env


def template_names() -> list[str]:
    """The names of the mails that have all three parts."""
    files = {p.name for p in TEMPLATE_DIR.iterdir() if not p.name.startswith("_")}
    names = {f.removesuffix(".subject.txt") for f in files if f.endswith(".subject.txt")}
    return sorted(n for n in names if all(n + part in files for part in _PARTS))


def render(template: str, context: Mapping[str, Any]) -> RenderedMail:
    """Render mail `template` with `context`; ValueError for an unknown template name.

    The subject is collapsed to one line (no header injection through a value with a line break).
    """
    env = environment()
    try:
        subject, text, html = (env.get_template(template + part).render(context) for part in _PARTS)
    except TemplateNotFound as exc:
        if template in template_names():
            raise
        raise ValueError(f"unknown mail template {template!r}; known: {template_names()}") from exc
    return RenderedMail(subject=" ".join(subject.split()), text=text.strip() + "\n", html=html)
