"""Dashboard figures: cases per stage and unit, open cases per diagram node, overdue work and by how
much, and the fund (budget, committed, paid)."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.awards.funds import split
from services.dashboard.filters import STATUSES, Filters, narrow
from services.db.models import (
    Application,
    Call,
    Enterprise,
    Fund,
    Payout,
    ProcessDefinition,
    ProcessInstance,
    ReviewUnit,
    User,
    WorkItem,
)

if TYPE_CHECKING:
    from services.bootstrap import Services


@dataclass(frozen=True)
class StageCount:
    status: str
    stage: str
    stage_name: str
    count: int


@dataclass(frozen=True)
class UnitCount:
    unit: str
    name: str
    running: int
    paid: int
    rejected: int
    overdue: int  # open work items past their deadline

    @property
    def total(self) -> int:
        return self.running + self.paid + self.rejected


def stage_counts(session: Session, *, user: User, filters: Filters) -> list[StageCount]:
    """Cases per status and stage (the open step, or the outcome of a finished case)."""
    query = narrow(select(Application.status, Application.stage, Application.stage_name, func.count())
                   .group_by(Application.status, Application.stage, Application.stage_name), user, filters)
    rank = {s: i for i, s in enumerate(STATUSES)}
    rows = [StageCount(*r) for r in session.execute(query)]
    return sorted(rows, key=lambda r: (rank.get(r.status, 9), -r.count, r.stage))


def unit_counts(session: Session, *, user: User, filters: Filters, now: datetime) -> list[UnitCount]:
    """Cases per review unit and status, with the unit's open work past its deadline."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    query = narrow(select(Application.review_unit_code, Application.status, func.count())
                   .group_by(Application.review_unit_code, Application.status), user, filters)
    for unit, status, n in session.execute(query):
        counts[unit][status] = n
    late = narrow(select(Application.review_unit_code, func.count(WorkItem.id))
                  .join(WorkItem, WorkItem.application_id == Application.id)
                  .where(_is_late(now)).group_by(Application.review_unit_code), user, filters)
    overdue = _pairs(session.execute(late))
    names = _pairs(session.execute(select(ReviewUnit.code, ReviewUnit.name_zh)))
    return [UnitCount(u, names.get(u, u), c["running"], c["paid"], c["rejected"], overdue.get(u, 0))
            for u, c in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))]


def _pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """Two-column rows as a dict."""
    return {key: value for key, value in rows}


def _is_late(now: datetime) -> Any:
    return (WorkItem.status == "open") & (WorkItem.overdue.is_(True) | (WorkItem.due_at < now))


# -- the diagram -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RouteOption:
    process_id: str
    hash: str
    label: str


Counts = dict[str, int]
_PROCESS_NAME = re.compile(rb'<(?:[\w.-]+:)?process\b[^>]*?\bname="([^"]*)"')


def route_options(session: Session, *, measures: Mapping[str, int] | None = None) -> list[RouteOption]:
    """The current diagram of each route, labelled with its process name. With `measures` (route ->
    policy measure): only those routes (not, say, the arrears route), by measure, labelled "措施N：name"."""
    query = (select(ProcessDefinition.process_id, ProcessDefinition.hash, ProcessDefinition.bpmn_xml)
             .where(ProcessDefinition.current.is_(True)))
    if measures is not None:
        query = query.where(ProcessDefinition.process_id.in_(list(measures)))
    measures = measures or {}
    rows = session.execute(query)
    options = []
    for process_id, digest, xml in rows:
        match = _PROCESS_NAME.search(xml)
        name = html.unescape(match.group(1).decode("utf-8", "replace")) if match else process_id
        measure = measures.get(process_id)
        options.append(RouteOption(process_id, digest, f"措施{measure}：{name}" if measure else name))
    return sorted(options, key=lambda o: (measures.get(o.process_id, 1_000), o.process_id))


def node_counts(session: Session, *, user: User, filters: Filters, process_id: str) -> tuple[Counts, Counts]:
    """Per node of a route: (open cases on each task, finished cases at each end event)."""
    by_route = ((ProcessInstance.definition_hash == ProcessDefinition.hash)
                & (ProcessDefinition.process_id == process_id))
    open_q = narrow(select(WorkItem.task_spec, func.count(func.distinct(WorkItem.application_id)))
                    .join(Application, Application.id == WorkItem.application_id)
                    .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
                    .join(ProcessDefinition, by_route)
                    .where(WorkItem.status == "open").group_by(WorkItem.task_spec), user, filters)
    ended_q = narrow(select(Application.stage, func.count())
                     .join(ProcessInstance, ProcessInstance.id == Application.instance_id)
                     .join(ProcessDefinition, by_route)
                     .where(Application.status != "running").group_by(Application.stage), user, filters)
    return _pairs(session.execute(open_q)), _pairs(session.execute(ended_q))


# -- overdue work ------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverdueItem:
    work_item_id: int
    application_id: int
    enterprise: str
    unit_name: str
    stage_name: str
    role: str
    assignee: str | None
    due_at: datetime
    due_on: date  # the last allowed day (due_at is the local midnight that ends it)
    days_late: int  # calendar days since the last allowed day ("已逾期 N 天")
    working_days_late: int  # working days, as escalation counts them
    escalation_level: int  # 0 none, 1 notified, 2 escalated (督办)


def overdue_items(session: Session, services: Services, *, user: User, filters: Filters, now: datetime,
                  limit: int = 200) -> list[OverdueItem]:
    """Open work past its deadline, the most overdue first, with how late it is."""
    tz = ZoneInfo(services.settings.timezone)
    today = now.astimezone(tz).date()
    query = narrow(select(WorkItem, Enterprise.name, ReviewUnit.name_zh)
                   .join(Application, Application.id == WorkItem.application_id)
                   .join(Enterprise, Enterprise.id == Application.enterprise_id)
                   .join(ReviewUnit, ReviewUnit.code == Application.review_unit_code)
                   .where(_is_late(now), WorkItem.due_at.is_not(None))
                   .order_by(WorkItem.due_at, WorkItem.id).limit(limit), user, filters)
    items = []
    for w, ent, unit_name in session.execute(query):
        due = w.due_at or now  # the query asks for a deadline; this only narrows the type
        last_day = (due.astimezone(tz) - timedelta(seconds=1)).date()  # due_at is the midnight after it
        items.append(OverdueItem(w.id, w.application_id, ent, unit_name, w.name, w.role, w.assignee, due, last_day,
                                 max(1, (today - last_day).days),
                                 max(0, services.calendar.working_days_between(last_day, today)),
                                 w.escalation_level))
    return items


# -- the fund ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FundFigures:
    id: int
    code: str
    name: str
    year: int
    budget_fen: int
    committed_fen: int  # amounts decided at bureau review, not paid yet (cases still running)
    paid_fen: int
    line: str = "city"  # the city's special fund, or the review unit whose matching fund this is

    @property
    def remaining_fen(self) -> int:
        """Budget minus what was paid: what payouts may still draw."""
        return self.budget_fen - self.paid_fen

    @property
    def available_fen(self) -> int:
        """Remaining minus committed; negative when more was promised than is left."""
        return self.remaining_fen - self.committed_fen


def fund_figures(session: Session, *, call_id: int | None = None, district_percent: int = 0) -> list[FundFigures]:
    """Budget, committed, paid per budget line: the city's fund and every district's matching fund
    (only the call's year when `call_id` is given). A decided, unpaid amount is committed to the lines
    it will draw on, split as the payout will split it (setting district_matching_percent)."""
    funds = list(session.scalars(select(Fund).order_by(Fund.year.desc(), (Fund.line != "city"), Fund.line, Fund.id)))
    year_of = {f.id: f.year for f in funds}
    committed: dict[tuple[int, str] | int, int] = {}
    for fund_id, unit, amount, n in session.execute(
        select(Call.fund_id, Application.review_unit_code, Application.awarded_fen, func.count(Application.id))
        .join(Application, Application.call_id == Call.id)
        .outerjoin(Payout, Payout.application_id == Application.id)
        .where(Application.status == "running", Application.awarded_fen.is_not(None), Payout.id.is_(None))
        .group_by(Call.fund_id, Application.review_unit_code, Application.awarded_fen)):
        city_part, district_part = split(int(amount or 0), district_percent)
        committed[fund_id] = committed.get(fund_id, 0) + city_part * n
        if district_part:
            key = (year_of[fund_id], unit)
            committed[key] = committed.get(key, 0) + district_part * n
    if call_id is not None:
        call = session.get(Call, call_id)
        year = year_of.get(call.fund_id) if call else None
        funds = [f for f in funds
                 if (call is not None and f.id == call.fund_id) or (f.line != "city" and f.year == year)]
    return [FundFigures(f.id, f.code, f.name, f.year, f.budget_fen,
                        committed.get(f.id if f.line == "city" else (f.year, f.line), 0), f.paid_fen, f.line)
            for f in funds]


