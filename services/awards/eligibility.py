"""Who may decide an open step, given segregation of duties, and what happens when no one of the unit may.

Segregation of duties (`tasks.check_segregation`) bars whoever decided a case at one stage from deciding
it at another. In a district with one ordinary officer, that officer approves the district check and then
may not do the on-site check of the same case: without help the case would wait for ever. So after every
step the case's new open steps are checked: when no ordinary officer of the unit may take a step but the
unit head may, the step is assigned to the head, who is told by mail; when no one of the unit may take it
at all, the step is marked with the reason, the bureau, managers and admins are told, and the dashboard
lists it until an admin adds an officer or names a head. Either way the work item carries the reason
(`blocked_reason`), an audit event records it, and the inbox shows the step greyed to those who may not
decide it, with why.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, literal, or_, select
from sqlalchemy.orm import Session

from services.audit import chain as audit
from services.awards import labels
from services.db.models import Enterprise, ReviewUnit, User, WorkItem
from services.mail import outbox

# Steps where the same person may act again on a case: recording a public objection is not a
# decision on the merits, and the applicant corrects their own application.
SOD_EXEMPT = {"public_notice", "correct_application"}
# Steps that are one stage for segregation of duties: finance pays after deferring its own payout.
SAME_STAGE = {"finance_deferred": "finance_payout"}


def stage_specs(task_spec: str) -> set[str]:
    """The task specs that count as the same stage as `task_spec` (itself included)."""
    stage = SAME_STAGE.get(task_spec, task_spec)
    return {stage, *(spec for spec, same in SAME_STAGE.items() if same == stage)}


def earlier_stage(session: Session, username: str, item: WorkItem) -> str | None:
    """The name of another stage of this case that `username` decided (which bars them), or None."""
    if item.task_spec in SOD_EXEMPT:
        return None
    return session.scalars(select(WorkItem.name).where(
        WorkItem.application_id == item.application_id, WorkItem.completed_by == username,
        WorkItem.task_spec.not_in(stage_specs(item.task_spec) | SOD_EXEMPT))).first()


def blocked_for(session: Session, username: str, items: Iterable[tuple[int, int, str]]) -> dict[int, str]:
    """For inbox rows `(item id, application id, task spec)`: item id -> why `username` may not decide it.

    One query for the whole page: the stages of these cases that the user decided."""
    rows = list(items)
    if not rows:
        return {}
    decided: dict[int, list[tuple[str, str]]] = {}
    query = select(WorkItem.application_id, WorkItem.task_spec, WorkItem.name).where(
        WorkItem.application_id.in_({r[1] for r in rows}), WorkItem.completed_by == username,
        WorkItem.task_spec.not_in(SOD_EXEMPT))
    for app_id, spec, name in session.execute(query):
        decided.setdefault(app_id, []).append((spec, name))
    out: dict[int, str] = {}
    for item_id, app_id, spec in rows:
        if spec in SOD_EXEMPT:
            continue
        other = next((name for s, name in decided.get(app_id, []) if s not in stage_specs(spec)), None)
        if other is not None:
            out[item_id] = f"职责分离：您已办理本案“{other}”环节，不能再办理此环节"
    return out


def _eligible(session: Session, item: WorkItem) -> list[User]:
    """Active users of the step's role (and unit) whom segregation of duties does not bar."""
    query = select(User).where(User.active.is_(True), User.role == item.role)
    if item.review_unit_code:
        query = query.where(User.review_unit_code == item.review_unit_code)
    return [u for u in session.scalars(query.order_by(User.username))
            if earlier_stage(session, u.username, item) is None]


def _needs_routing_query() -> Any:
    """Plain Core on the tables (no ORM entities): neither its execution nor its rows cost ORM work."""
    items: Any = WorkItem.__table__
    users: Any = User.__table__
    item, user, decided = items.alias("item"), users.alias("officer"), items.alias("decided")

    def stage(spec: Any) -> Any:
        return case(*((spec == k, literal(v)) for k, v in SAME_STAGE.items()), else_=spec)

    barred = select(decided.c.id).where(
        decided.c.application_id == item.c.application_id, decided.c.completed_by == user.c.username,
        *not_exempt(decided.c.task_spec), stage(decided.c.task_spec) != stage(item.c.task_spec)).exists()
    officer = select(user.c.id).where(
        user.c.active.is_(True), user.c.role == item.c.role, user.c.unit_head.is_(False),
        or_(item.c.review_unit_code.is_(None), user.c.review_unit_code == item.c.review_unit_code), ~barred).exists()
    return select(item.c.id).where(
        item.c.application_id == bindparam("p_app"), item.c.status == "open", item.c.blocked_reason.is_(None),
        item.c.role != "applicant", *not_exempt(item.c.task_spec), ~officer).order_by(item.c.id)


def not_exempt(spec: Any) -> list[Any]:
    """`spec NOT IN (SOD_EXEMPT)` as plain comparisons: an expanding IN would be rendered again on
    every execution of a statement that is otherwise compiled once."""
    return [spec != exempt for exempt in sorted(SOD_EXEMPT)]


_NEEDS_ROUTING = _needs_routing_query()  # built once; SQLAlchemy caches its compiled form


def needs_routing(session: Session, application_id: int) -> list[int]:
    """The case's open steps (not the applicant's, not exempt, not yet flagged) that no active ordinary
    officer of the step's role and unit may take: one query."""
    return list(session.connection().execute(_NEEDS_ROUTING, {"p_app": application_id}).scalars())


def route_blocked_steps(session: Session, *, application_id: int, enterprise_id: int, actor: str,
                        now: datetime) -> list[WorkItem]:
    """Check the case's open steps; send those no ordinary officer may take to the unit head, and flag
    those no one may take. Runs in the caller's transaction; returns the items it changed."""
    changed = []
    ids = needs_routing(session, application_id)
    items = session.scalars(select(WorkItem).where(WorkItem.id.in_(ids)).order_by(WorkItem.id)).all() if ids else []
    for item in items:
        eligible = _eligible(session, item)
        if any(not u.unit_head for u in eligible):
            continue
        unit = session.get(ReviewUnit, item.review_unit_code) if item.review_unit_code else None
        unit_name = unit.name_zh if unit else labels.office(item.role)
        head = eligible[0] if eligible else None
        if head is not None:
            item.blocked_reason = (f"{unit_name}其他经办人已办理本案前一环节（职责分离），"
                                   f"已转单位负责人 {head.display_name} 办理")
            if item.assignee is None:
                item.assignee = head.username
            to = [head.email] if head.email else []
        else:
            item.blocked_reason = (f"{unit_name}没有可办理此环节的人员（职责分离：本单位人员均已办理本案前一环节）。"
                                   "请管理员为该单位增设经办人或指定单位负责人")
            to = _city_recipients(session)
        audit.append(session, kind="task.escalate", actor=actor, at=now, instance_id=item.instance_id,
                     application_id=application_id,
                     payload={"work_item": item.id, "task": item.task_spec, "why": "segregation_of_duties",
                              "to": head.username if head else None})
        if to:
            enterprise = session.get_one(Enterprise, enterprise_id)
            outbox.enqueue(session, to=sorted(set(to)), template="task_blocked", now=now,
                           dedupe_key=f"blocked:{item.id}", application_id=application_id,
                           context={"application_id": application_id, "enterprise_name": enterprise.name,
                                    "task_name": item.name, "unit_name": unit_name,
                                    "head_name": head.display_name if head else None,
                                    "reason": item.blocked_reason})
        changed.append(item)
    return changed


def _city_recipients(session: Session) -> list[str]:
    """The bureau, managers and admins: who can see the whole city and fix the unit's staffing."""
    query = select(User.email).where(User.active.is_(True), User.email.is_not(None),
                                     User.role.in_(("bureau", "manager", "admin")))
    return [e for e in session.scalars(query) if e]
