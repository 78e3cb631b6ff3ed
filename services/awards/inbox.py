"""Read models for the officer's inbox and task page. Every query goes through `tasks.scope`, so a
work item outside the user's role and unit is NotFound; commands live in services/awards/tasks.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from services.awards import eligibility
from services.awards.tasks import scope, visible_item
from services.db.models import (
    Application,
    AwardType,
    Call,
    Document,
    Enterprise,
    Fund,
    ProcessInstance,
    ReviewUnit,
    User,
    WorkItem,
)

if TYPE_CHECKING:
    from services.bootstrap import Services

SORTS = ("due", "created", "enterprise")
FILTERS = ("mine", "unclaimed", "overdue")
HISTORY_STATUSES = ("completed", "closed")


@dataclass(frozen=True)
class InboxRow:
    item_id: int
    application_id: int
    stage: str
    stage_name: str
    enterprise: str
    award: str
    requested_fen: int
    created_at: datetime
    due_at: datetime | None
    due_provisional: bool
    overdue: bool
    escalated: bool
    due_soon: bool
    assignee: str | None
    blocked: str | None = None  # why this user may not decide it (segregation of duties): shown greyed
    routed: str | None = None  # where the step went when no ordinary officer may take it


#: Steps that end by themselves when their period runs out (the diagram's timer moves the case on):
#: not work to do, shown apart in the inbox with their period and what happens at its end. An officer
#: acts on one only if something happens within the period.
PERIODS = {
    "public_notice": ("公示中", "公示期满无异议的，案件自动转入市财政局拨付，无需办理；公示期内收到书面异议的，"
                                "在此登记异议，案件退回市中小企业局复审。"),
}


@dataclass(frozen=True)
class InboxQuery:
    """What the user asked for: sort key, text filter, and one of the quick filters."""

    sort: str = "due"
    q: str = ""
    only: str = ""

    def normalised(self) -> InboxQuery:
        return InboxQuery(self.sort if self.sort in SORTS else "due", self.q.replace("\x00", "").strip()[:100],
                          self.only if self.only in FILTERS else "")


def soon_cutoff(services: Services, now: datetime) -> datetime:
    """Deadlines before this instant are 'due soon' (the reminder lead, in working days)."""
    lead = services.settings.reminder_lead_working_days
    return services.calendar.deadline(now, lead, services.settings.timezone).at


def _overdue(item: WorkItem, now: datetime) -> bool:
    return item.overdue or (item.due_at is not None and item.due_at <= now)


def _filtered(query: Select[Any], user: User, want: InboxQuery, now: datetime) -> Select[Any]:
    if want.only == "mine":
        query = query.where(WorkItem.assignee == user.username)
    elif want.only == "unclaimed":
        query = query.where(WorkItem.assignee.is_(None))
    elif want.only == "overdue":
        query = query.where(or_(WorkItem.overdue.is_(True), WorkItem.due_at <= now))
    if want.q:
        conditions = [Enterprise.name.icontains(want.q, autoescape=True),
                      Enterprise.uscc.icontains(want.q, autoescape=True),
                      AwardType.name_zh.icontains(want.q, autoescape=True),
                      WorkItem.name.icontains(want.q, autoescape=True)]
        if want.q.lstrip("#").isascii() and want.q.lstrip("#").isdigit() and len(want.q) < 12:
            conditions.append(WorkItem.application_id == int(want.q.lstrip("#")))
        query = query.where(or_(*conditions))
    return query


def _ordered(query: Select[Any], sort: str) -> Select[Any]:
    # NULLS LAST rather than a `due_at IS NULL` key: the order of ix_work_item_inbox, so PostgreSQL reads
    # one page of the index instead of sorting every open item of the unit (benchmarks/http_load.py)
    by_due = (WorkItem.due_at.asc().nulls_last(), WorkItem.id)
    if sort == "created":
        return query.order_by(WorkItem.created_at, WorkItem.id)
    if sort == "enterprise":
        return query.order_by(Enterprise.name, *by_due)
    return query.order_by(*by_due)


def inbox_rows(session: Session, user: User, *, now: datetime, want: InboxQuery = InboxQuery(),
               soon_before: datetime | None = None, limit: int = 200) -> list[InboxRow]:
    """The user's open work items (role and unit scoped), sorted and filtered as asked; oldest
    deadline first by default."""
    want = want.normalised()
    query: Any = (select(WorkItem, Enterprise.name, AwardType.name_zh, Application.requested_fen)
             .join(Application, Application.id == WorkItem.application_id)
             .join(Enterprise, Enterprise.id == Application.enterprise_id)
             .join(AwardType, AwardType.code == Application.award_type_code)
             .where(WorkItem.status == "open"))
    query = _ordered(_filtered(scope(query, user), user, want, now), want.sort).limit(limit)
    found = list(session.execute(query))
    blocked = eligibility.blocked_for(session, user.username,
                                      ((i.id, i.application_id, i.task_spec) for i, *_ in found))
    rows = []
    for item, enterprise, award, requested in found:
        overdue = _overdue(item, now)
        soon = (not overdue and soon_before is not None and item.due_at is not None and item.due_at <= soon_before)
        rows.append(InboxRow(item.id, item.application_id, item.task_spec, item.name, enterprise, award, requested,
                             item.created_at, item.due_at, item.due_provisional, overdue,
                             item.escalation_level >= 2, soon, item.assignee, blocked.get(item.id),
                             item.blocked_reason))
    return rows


@dataclass(frozen=True)
class CaseView:
    application_id: int
    enterprise: str
    uscc: str
    review_unit: str
    award: str
    award_code: str
    cap_fen: int
    requested_fen: int
    awarded_fen: int | None
    description: str
    status: str
    stage_name: str
    applied_at: datetime


@dataclass(frozen=True)
class FileView:
    id: int
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    stage_name: str
    actor: str
    at: datetime | None
    decision: str | None
    reason: str | None
    username: str | None = None  # who acted (the page shows it in <code> beside the name)


@dataclass(frozen=True)
class FundView:
    name: str
    budget_fen: int
    paid_fen: int

    @property
    def remaining_fen(self) -> int:
        return self.budget_fen - self.paid_fen


@dataclass(frozen=True)
class TaskView:
    """Everything the task page shows: the item, its case, files, history and what may be decided."""

    item_id: int
    name: str
    stage: str
    status: str  # open | completed | closed | cancelled
    assignee: str | None
    assignee_name: str | None
    due_at: datetime | None
    due_provisional: bool
    overdue: bool
    escalated: bool
    completed_by: str | None
    completed_by_name: str | None
    completed_at: datetime | None
    outcome: str | None
    decisions: tuple[str, ...]
    fields: tuple[str, ...]
    action: str | None
    case: CaseView
    files: list[FileView]
    history: list[HistoryEntry]
    fund: FundView | None
    blocked: str | None = None  # why this user may not decide it
    routed: str | None = None  # the step went to the unit head, or no one of the unit may take it
    opened_at: datetime | None = None  # when the step began (a period's first day)

    @property
    def is_open(self) -> bool:
        return self.status == "open" and bool(self.decisions)


def _case(session: Session, app: Application) -> CaseView:
    ent = session.get_one(Enterprise, app.enterprise_id)
    award = session.get_one(AwardType, app.award_type_code)
    unit = session.get(ReviewUnit, app.review_unit_code)
    return CaseView(app.id, ent.name, ent.uscc, unit.name_zh if unit else app.review_unit_code, award.name_zh,
                    award.code, award.cap_fen,
                    app.requested_fen, app.awarded_fen, app.description, app.status, app.stage_name, app.created_at)


def files_of(session: Session, application_id: int) -> list[FileView]:
    """The application's supporting files, oldest first (the caller has checked the scope)."""
    rows = session.scalars(select(Document).where(Document.application_id == application_id)
                           .order_by(Document.uploaded_at, Document.id))
    return [FileView(d.id, d.filename, d.content_type, d.size, d.uploaded_at) for d in rows]


def history_of(session: Session, application_id: int) -> list[HistoryEntry]:
    """The case's finished steps so far, oldest first: stage, who, when, decision and reason."""
    items = session.scalars(select(WorkItem).where(WorkItem.application_id == application_id,
                                                   WorkItem.status.in_(HISTORY_STATUSES))
                            .order_by(WorkItem.completed_at, WorkItem.id))
    rows = list(items)
    names = _names(session, {i.completed_by for i in rows if i.completed_by})
    return [HistoryEntry(i.name, _who(i.completed_by, names), i.completed_at, i.outcome, i.reason,
                         i.completed_by if i.completed_by in names else None) for i in rows]


def _names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    query = select(User.username, User.display_name).where(User.username.in_(usernames))
    return {username: name for username, name in session.execute(query)}


def _who(username: str | None, names: dict[str, str]) -> str:
    """'东湖区经办人' (the page puts the username in a <code> beside it), '系统' for the route itself,
    '—' for nobody."""
    if username is None:
        return "—"
    if username == "system":
        return "系统"
    return names.get(username, "其他用户")


def _fund(session: Session, app: Application) -> FundView:
    fund = session.scalars(select(Fund).join(Call, Call.fund_id == Fund.id).where(Call.id == app.call_id)).one()
    return FundView(fund.name, fund.budget_fen, fund.paid_fen)


def task_view(session: Session, services: Services, user: User, item_id: int, *, now: datetime) -> TaskView:
    """The task page's read model; NotFound when the item is outside the user's scope."""
    item = visible_item(session, user, item_id)
    app = session.get_one(Application, item.application_id)
    decisions: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    action: str | None = None
    if item.status == "open":
        inst = session.get_one(ProcessInstance, item.instance_id)
        task = next((t for t in services.runtime.open_tasks(inst) if t.task_id == item.task_id), None)
        if task is not None:
            decisions, fields, action = task.decisions, task.fields, task.action
    fund = _fund(session, app) if action == "payout" or user.role == "finance" else None
    earlier = eligibility.earlier_stage(session, user.username, item) if item.status == "open" else None
    blocked = f"职责分离：您已办理本案“{earlier}”环节，不能再办理此环节" if earlier else None
    names = _names(session, {u for u in (item.assignee, item.completed_by) if u})
    return TaskView(item.id, item.name, item.task_spec, item.status, item.assignee,
                    _who(item.assignee, names) if item.assignee else None, item.due_at, item.due_provisional,
                    item.status == "open" and _overdue(item, now), item.escalation_level >= 2,
                    item.completed_by, _who(item.completed_by, names) if item.completed_by else None, item.completed_at,
                    item.outcome, decisions, fields, action, _case(session, app),
                    files_of(session, app.id), history_of(session, app.id), fund, blocked, item.blocked_reason,
                    item.created_at)

