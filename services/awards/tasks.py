"""Work items: the inbox of a user (scoped to role and review unit) and completing a task."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from services.accounts.users import get_user, person_name
from services.audit import chain as audit
from services.awards import eligibility, step
from services.awards.rules import ITEM_STATUS, NEEDS_REASON, REDECIDE, Decision, check_award_amount
from services.db.models import User, WorkItem
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.money import parse_yuan
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["NEEDS_REASON", "REDECIDE", "Completed", "Decision", "check_award_amount", "check_holder", "claim",
           "complete", "decision_from_input", "inbox", "release", "scope", "visible_item"]


def scope(query: Select[Any], user: User) -> Select[Any]:
    """Limit a work-item query to what `user` may see: their role, and their unit or enterprise."""
    query = query.where(WorkItem.role == user.role)
    if user.role == "district":
        query = query.where(WorkItem.review_unit_code == user.review_unit_code)
    elif user.role == "applicant":
        query = query.where(WorkItem.enterprise_id == user.enterprise_id)
    return query


def inbox(session: Session, user: User, *, limit: int = 200) -> list[WorkItem]:
    """Open work items for the user, oldest deadline first."""
    query = scope(select(WorkItem).where(WorkItem.status == "open"), user)
    query = query.order_by(WorkItem.due_at.asc().nulls_last(), WorkItem.id).limit(limit)
    return list(session.scalars(query))


def visible_item(session: Session, user: User, item_id: int) -> WorkItem:
    """The work item if the user may see it; NotFound otherwise (no hint that it exists)."""
    item = session.scalars(scope(select(WorkItem).where(WorkItem.id == item_id), user)).first()
    if item is None:
        raise NotFound(f"待办 #{item_id} 不存在")
    return item


def _check_segregation(session: Session, user: User, item: WorkItem) -> None:
    """Whoever decided a case at one stage may not decide it at another stage, nor pay it."""
    earlier = eligibility.earlier_stage(session, user.username, item)
    if earlier is not None:
        raise Forbidden(f"职责分离：您已办理本案“{earlier}”环节，不能再办理“{item.name}”")


@dataclass(frozen=True)
class Completed:
    """The work item a completion closed."""

    id: int
    name: str
    application_id: int


def complete(uow: UnitOfWork, services: Services, *, item_id: int, username: str, decision: Decision,
             now: datetime) -> Completed:
    """Complete a work item with a decision, as one transaction (caller commits).

    Checked in this order, nothing written on any refusal: the user may see the item (NotFound), it is
    open (Conflict naming who completed it), segregation of duties (Forbidden), nobody else holds it
    (Conflict), it is open in its case, the decision and its fields (InvalidInput), the fund (for a
    payout). Then the step: engine, state (version-checked), mirror rows, payout, notice, audit event."""
    row = step.read(uow.session, username, item_id)
    step.complete(uow, services, row=row, username=username, decision=decision, now=now)
    return Completed(row.id, row.name, row.application_id)


# -- input from the ways in (web form, JSON API) -------------------------------------------
REASON_MAX = 2000
REFERENCE_MAX = 120  # the payout.reference column
_YUAN = re.compile(r"[0-9][0-9,]{0,18}(\.[0-9]{1,2})?")  # no exponent: '1e9999999' must not reach Decimal


def _clean_text(value: str | None, field: str, limit: int) -> str | None:
    text = (value or "").strip()
    try:
        text.encode("utf-8")  # a lone surrogate from JSON cannot be stored
    except UnicodeEncodeError as exc:
        raise InvalidInput(field, "含有不可用的字符") from exc
    if "\x00" in text:
        raise InvalidInput(field, "含有不可用的字符")
    if len(text) > limit:
        raise InvalidInput(field, f"不超过 {limit} 个字")
    return text or None


def decision_from_input(*, decision: str, reason: str | None = None, amount_fen: int | None = None,
                        amount_yuan: str | None = None, payment_reference: str | None = None) -> Decision:
    """Build a Decision from what a user typed: the amount in fen or as yuan text (exactly parsed),
    text fields bounded. Whether the decision fits the task is checked by `complete`."""
    yuan_text = (amount_yuan or "").strip()
    if amount_fen is not None and yuan_text:
        raise InvalidInput("amount", "金额只能以分（amount_fen）或元（amount_yuan）之一给出")
    if yuan_text:
        if not _YUAN.fullmatch(yuan_text):
            raise InvalidInput("amount", "金额格式无效（单位：元，最多两位小数）")
        amount_fen = parse_yuan(yuan_text, "amount")
    return Decision(decision=(decision or "").strip(), reason=_clean_text(reason, "reason", REASON_MAX),
                    amount_fen=amount_fen,
                    payment_reference=_clean_text(payment_reference, "payment_reference", REFERENCE_MAX))


# -- claims ---------------------------------------------------------------------------------
def _require_open(session: Session, item: WorkItem) -> None:
    if item.status != "open":
        who = person_name(session, item.completed_by or "?")
        raise Conflict(f"待办 #{item.id} 已由 {who} {ITEM_STATUS.get(item.status, '办结')}；未做任何更改")


def check_holder(session: Session, user: User, item: WorkItem) -> None:
    """Conflict if someone else holds (has claimed) the item. Locks the row (PostgreSQL), so a claim
    and a completion of one item are serialised."""
    holder = session.scalar(select(WorkItem.assignee).where(WorkItem.id == item.id).with_for_update())
    if holder is not None and holder != user.username:
        raise Conflict(f"该事项已由 {person_name(session, holder)} 认领，只有认领人可以办理；未做任何更改")


def claim(uow: UnitOfWork, *, item_id: int, username: str, now: datetime) -> WorkItem:
    """Take an open work item: assignee becomes the user, if it is unassigned (or already theirs).

    Conflict naming the holder if someone else has it; Forbidden if segregation of duties would stop
    the user from deciding it. One transaction with its audit event (caller commits)."""
    session = uow.session
    user = get_user(session, username)
    item = visible_item(session, user, item_id)
    _require_open(session, item)
    if item.assignee == user.username:
        return item
    check_holder(session, user, item)
    _check_segregation(session, user, item)
    taken = session.execute(update(WorkItem).where(
        WorkItem.id == item.id, WorkItem.status == "open", WorkItem.assignee.is_(None)).values(assignee=username))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(item)
        _require_open(session, item)
        raise Conflict(f"该事项已由 {person_name(session, item.assignee or '?')} 认领；未做任何更改")
    session.refresh(item)
    audit.append(session, kind="task.claim", actor=username, at=now, instance_id=item.instance_id,
                 application_id=item.application_id, payload={"work_item": item.id, "task": item.task_spec})
    return item


def release(uow: UnitOfWork, *, item_id: int, username: str, now: datetime) -> WorkItem:
    """Give a claimed work item back to the pool; only its holder may (caller commits)."""
    session = uow.session
    user = get_user(session, username)
    item = visible_item(session, user, item_id)
    _require_open(session, item)
    if item.assignee is None:
        raise Conflict("该事项当前无人认领，无需释放")
    if item.assignee != user.username:
        raise Forbidden(f"该事项由 {person_name(session, item.assignee)} 认领，只有认领人可以释放")
    freed = session.execute(update(WorkItem).where(
        WorkItem.id == item.id, WorkItem.status == "open", WorkItem.assignee == username).values(assignee=None))
    if freed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该事项刚刚被他人更改；未做任何更改")
    session.refresh(item)
    audit.append(session, kind="task.release", actor=username, at=now, instance_id=item.instance_id,
                 application_id=item.application_id, payload={"work_item": item.id, "task": item.task_spec})
    return item
