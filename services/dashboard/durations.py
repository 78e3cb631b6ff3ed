"""How long each stage takes: median and 90th percentile of finished work items, computed exactly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.dashboard.filters import Filters, narrow
from services.db.models import Application, User, WorkItem


@dataclass(frozen=True)
class StageDuration:
    stage: str
    name: str
    count: int
    median: timedelta
    p90: timedelta


def percentile(values: Sequence[int], q: Fraction) -> Fraction:
    """The q-quantile (0 <= q <= 1) by linear interpolation between closest ranks, exactly.

    The method of numpy's default and PostgreSQL's percentile_cont: position q*(n-1) in the sorted values.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 1:
        raise ValueError("q must lie in [0, 1]")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def stage_durations(session: Session, *, user: User, filters: Filters,
                    order: Sequence[str] = ()) -> list[StageDuration]:
    """Median and 90th percentile of completed_at - created_at per stage, over finished work items."""
    query = narrow(select(WorkItem.task_spec, WorkItem.name, WorkItem.created_at, WorkItem.completed_at)
                   .join(Application, Application.id == WorkItem.application_id)
                   .where(WorkItem.status.in_(("completed", "closed")), WorkItem.completed_at.is_not(None)),
                   user, filters)
    micros: dict[str, list[int]] = defaultdict(list)
    names: dict[str, str] = {}
    for spec, name, created, completed in session.execute(query):
        if completed is not None:  # the query asks for it; this only narrows the type
            micros[spec].append((completed - created) // timedelta(microseconds=1))
        names.setdefault(spec, name)
    rank = {s: i for i, s in enumerate(order)}

    def td(value: Fraction) -> timedelta:
        return timedelta(microseconds=round(value))

    return [StageDuration(s, names[s], len(v), td(percentile(v, Fraction(1, 2))), td(percentile(v, Fraction(9, 10))))
            for s, v in sorted(micros.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))]


def duration_zh(value: timedelta) -> str:
    """A duration for people: '3 天 4 小时', '5 小时 20 分钟', '12 分钟'."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {mins} 分钟" if mins else f"{hours} 小时"
    return f"{mins} 分钟"


