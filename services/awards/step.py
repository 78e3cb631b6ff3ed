"""Completing a work item as a lean transaction: everything the step needs is read in one statement,
the engine runs on the cached workflow, and each write is one that changes something.

The read (one round trip): the work item (locked on PostgreSQL, so a claim and a completion of one
item are serialised), the user, the application, its call, the instance's row version, the
enterprise's name and address, the award's name and the stage the user already decided in this
case (segregation of duties). The checks then run on that row in the order `tasks.complete`
documents; a missing row (no such user or item) is reported by the same functions as elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, and_, bindparam, case, literal, select
from sqlalchemy.orm import Session

from services.accounts.users import get_user, person_name
from services.awards import eligibility, notices
from services.awards.cases import Step
from services.awards.payouts import pay
from services.awards.rules import ITEM_STATUS, REDECIDE, Decision, cap_for, task_data
from services.db.models import Application, AwardType, Call, Enterprise, ProcessInstance, User, WorkItem
from services.db.session import core_execute
from services.engine.runtime import HumanTask
from services.errors import Conflict, Forbidden, NotFound
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

def _stage(spec: Any) -> Any:
    """SQL: the stage a task spec counts as for segregation of duties (eligibility.SAME_STAGE)."""
    return case(*((spec == k, literal(v)) for k, v in eligibility.SAME_STAGE.items()), else_=spec)


def _query(*, lock: bool) -> Any:
    """The read, with parameters `p_user` and `p_item` (built once per variant: see _QUERIES). Plain
    Core on the tables (no ORM entities), so neither its execution nor its row costs ORM work."""
    wi, u, a, c = (t.__table__ for t in (WorkItem, User, Application, Call))
    pi, e, at = (t.__table__ for t in (ProcessInstance, Enterprise, AwardType))
    decided = wi.alias("decided")
    username: Any = bindparam("p_user")
    earlier = (select(decided.c.name).where(
        decided.c.application_id == wi.c.application_id, decided.c.completed_by == username,
        *eligibility.not_exempt(decided.c.task_spec), _stage(decided.c.task_spec) != _stage(wi.c.task_spec))
        .order_by(decided.c.id).limit(1).scalar_subquery())
    query = (select(wi.c.id, wi.c.instance_id, wi.c.application_id, wi.c.task_id, wi.c.task_spec, wi.c.name,
                    wi.c.role, wi.c.review_unit_code, wi.c.enterprise_id, wi.c.status, wi.c.assignee,
                    wi.c.completed_by,
                    u.c.role.label("user_role"), u.c.review_unit_code.label("user_unit"),
                    u.c.enterprise_id.label("user_enterprise"),
                    a.c.call_id, a.c.enterprise_id.label("app_enterprise"), a.c.award_type_code,
                    a.c.policy_revision_id, a.c.review_unit_code.label("app_unit"), a.c.requested_fen,
                    a.c.awarded_fen, c.c.edition_code, c.c.fund_id, pi.c.version,
                    e.c.name.label("enterprise_name"), e.c.email, at.c.name_zh.label("award_name"),
                    earlier.label("earlier"))
             .select_from(wi)
             .join(u, and_(u.c.username == username, u.c.active.is_(True)))
             .join(a, a.c.id == wi.c.application_id)
             .join(c, c.c.id == a.c.call_id)
             .join(pi, pi.c.id == wi.c.instance_id)
             .join(e, e.c.id == a.c.enterprise_id)
             .join(at, at.c.code == a.c.award_type_code)
             .where(wi.c.id == bindparam("p_item")))
    return query.with_for_update(of=wi) if lock else query


_QUERIES = {lock: _query(lock=lock) for lock in (True, False)}


@dataclass(frozen=True)
class _Item:
    id: int
    instance_id: int
    task_id: str
    task_spec: str


@dataclass(frozen=True)
class _App:
    id: int
    enterprise_id: int
    review_unit_code: str


@dataclass(frozen=True)
class _Payable:
    """The application as a payout needs it (services.awards.payouts.Payable), from the row read."""

    id: int
    enterprise_id: int
    award_type_code: str
    awarded_fen: int | None
    instance_id: int
    review_unit_code: str


def _visible(row: Row[Any]) -> bool:
    """tasks.scope on the row read: the user's role, and their unit or enterprise."""
    if row.role != row.user_role:
        return False
    if row.user_role == "district":
        return bool(row.review_unit_code == row.user_unit)
    if row.user_role == "applicant":
        return bool(row.enterprise_id == row.user_enterprise)
    return True


def read(session: Session, username: str, item_id: int) -> Row[Any]:
    """The step's row, checked: visible to the user, still open, not barred, not held by another."""
    lock = session.get_bind().dialect.name == "postgresql"
    row = core_execute(session, _QUERIES[lock], {"p_user": username, "p_item": item_id}).first()
    if row is None:
        get_user(session, username)  # NotFound naming the user, if that is what is missing
        raise NotFound(f"待办 #{item_id} 不存在")
    if not _visible(row):
        raise NotFound(f"待办 #{item_id} 不存在")
    if row.status != "open":
        who = person_name(session, row.completed_by)
        raise Conflict(f"待办 #{item_id} 已由 {who} {ITEM_STATUS.get(row.status, row.status)}，"
                       "本次未作任何更改")
    if row.earlier is not None and row.task_spec not in eligibility.SOD_EXEMPT:
        raise Forbidden(f"职责分离：您已办理本案“{row.earlier}”环节，不能再办理“{row.name}”")
    if row.assignee is not None and row.assignee != username:
        raise Conflict(f"该事项已由 {person_name(session, row.assignee)} 认领，只有认领人可以办理；未做任何更改")
    return row


def complete(uow: UnitOfWork, services: Services, *, row: Row[Any], username: str, decision: Decision,
             now: datetime) -> Step:
    """Run the checked step: the engine, the amount, the payout, the notice and the staffing check."""
    session = uow.session
    wf, snap = services.runtime.peek(session, row.instance_id, row.version)
    task: HumanTask | None = next((t for t in snap.human if t.task_id == row.task_id), None)
    if task is None:
        raise Conflict(f"待办 #{row.id} 在本案中已不是待办，本次未作任何更改")
    cap = cap_for(services, row.policy_revision_id, row.edition_code, row.award_type_code)
    case_cap = services.engine.data(wf).get("cap_fen")  # less, after a lower award was paid (就高不重复)
    if isinstance(case_cap, int) and 0 < case_cap < cap:
        cap = case_cap
    data = task_data(task, decision, cap, row.requested_fen)
    values: dict[str, Any] = {}
    if "award_amount_fen" in data:
        values["awarded_fen"] = data["award_amount_fen"]
    elif decision.decision in REDECIDE:
        values["awarded_fen"] = None  # the amount is decided again after a return or an objection
    payout = None
    if task.action == "payout" and decision.decision == "pay":
        payable = _Payable(row.application_id, row.app_enterprise, row.award_type_code, row.awarded_fen,
                           row.instance_id, row.app_unit)
        payout = pay(session, application=payable, fund_id=row.fund_id, reference=data["payment_reference"],
                     actor=username, now=now, district_percent=services.settings.district_matching_percent)
    item = _Item(row.id, row.instance_id, row.task_id, row.task_spec)
    app = _App(row.application_id, row.app_enterprise, row.app_unit)
    step = services.runtime.complete(uow, item=item, application=app, data=data, actor=username, now=now,
                                     outcome=decision.decision, reason=data.get("reason"), version=row.version,
                                     application_values=values)
    if row.email:
        following = _following(session, row.application_id, step)
        notices.decision_mail(session, application_id=row.application_id, item_id=row.id, item_name=row.name,
                              item_spec=row.task_spec, enterprise_name=row.enterprise_name, email=row.email,
                              award_name=row.award_name, decision=decision.decision, reason=data.get("reason"),
                              following=following, awarded_fen=step.application.get("awarded_fen", row.awarded_fen),
                              payout=payout, now=now)
    if any(t.lane != "applicant" and t.spec not in eligibility.SOD_EXEMPT for t in step.after.human):
        eligibility.route_blocked_steps(session, application_id=row.application_id,
                                        enterprise_id=row.app_enterprise, actor="system", now=now)
    return step


def _following(session: Session, application_id: int, step: Step) -> notices.Following | None:
    """The case's first open work item after the step (lowest id): a new one unless one stayed open."""
    if step.left_open:
        item = notices.open_item(session, application_id)
        return notices.Following(item.name, item.task_spec, item.due_at) if item else None
    first = step.opened[0] if step.opened else None
    return notices.Following(first["name"], first["task_spec"], first["due_at"]) if first else None
