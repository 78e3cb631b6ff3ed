"""How a deadline reads, everywhere a person reads one (pages, CLI, CSV/XLSX, mail): in local time, as
the last day it still allows, with what is left or how late it is, said once.

A stage deadline is stored as the instant its last day ends (local midnight after it), so
`2024-07-05 00:00` Shanghai is shown as `2024年7月4日（周四）前`; an officer reading "07-05 00:00" took it
as "by 5 July". A deadline that is not a midnight keeps its time: `2024年7月5日（周五）15:30 前`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

WEEKDAYS = "一二三四五六日"


class CountsWorkingDays(Protocol):
    def working_days_between(self, a: date, b: date) -> int: ...


def last_day(due_at: datetime, tz: str) -> date:
    """The last day a deadline allows (the day that ends at `due_at`, local time)."""
    return (due_at.astimezone(ZoneInfo(tz)) - timedelta(microseconds=1)).date()


def day_text(d: date) -> str:
    """`2024年7月4日（周四）`."""
    return f"{d.year}年{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）"


def due_text(due_at: datetime | None, tz: str) -> str:
    """`2024年7月4日（周四）前`; a deadline that is not at midnight keeps its time; `—` for none."""
    if due_at is None:
        return "—"
    local = due_at.astimezone(ZoneInfo(tz))
    if local.time() == time(0, 0):
        return f"{day_text(last_day(due_at, tz))}前"
    return f"{day_text(local.date())}{local:%H:%M} 前"


def left_text(due_at: datetime | None, now: datetime, tz: str, calendar: CountsWorkingDays) -> str:
    """`剩余 3 个工作日`, `今日到期`, or `已逾期 2 个工作日（4 天）`; empty for no deadline."""
    if due_at is None:
        return ""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    end = last_day(due_at, tz)
    if due_at <= now:
        late = max(0, calendar.working_days_between(end, today))
        days = max(1, (today - end).days)
        return f"已逾期 {late} 个工作日（{days} 天）"
    left = calendar.working_days_between(today, end)
    return "今日到期" if left <= 0 else f"剩余 {left} 个工作日"


def deadline_text(due_at: datetime | None, now: datetime, tz: str, calendar: CountsWorkingDays) -> str:
    """`2024年7月4日（周四）前，剩余 3 个工作日`: the one way a deadline reads."""
    if due_at is None:
        return "—"
    return f"{due_text(due_at, tz)}，{left_text(due_at, now, tz, calendar)}"
