"""Work items: the inbox of a user (scoped to role and review unit) and completing a task."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from services.accounts.users import get_user
from services.audit import chain as audit
from services.awards import eligibility, notices
from services.awards.payouts import pay
from services.db.models import Application, Call, ProcessInstance, User, WorkItem
from services.engine.runtime import HumanTask
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.money import parse_yuan, yuan
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

NEEDS_REASON = {"return", "reject", "objection", "defer", "return_review"}
# Decisions after which the amount is decided again (a deferral keeps it: the payout only waits).
REDECIDE = {"return", "reject", "objection", "return_review"}
#: a work item that is no longer open: how it ended, as a person reads it
ITEM_STATUS = {"completed": "办理", "closed": "关闭"}


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


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str | None = None
    amount_fen: int | None = None
    payment_reference: str | None = None


def check_award_amount(amount_fen: int | None, *, cap_fen: int, requested_fen: int) -> int:
    """The rule for the amount the bureau awards, in this one place: more than 0, never above the
    award's cap (最高不超过, the notice) and never above what the enterprise asked for (the bureau
    decides how much of the request to grant; it does not grant more than was applied for)."""
    if amount_fen is None or amount_fen <= 0:
        raise InvalidInput("amount", "复审通过须确定奖励金额（大于 0）")
    if amount_fen > cap_fen:
        raise InvalidInput("amount", f"奖励金额 {yuan(amount_fen)} 元超过上限 {yuan(cap_fen)} 元")
    if amount_fen > requested_fen:
        raise InvalidInput("amount", f"奖励金额 {yuan(amount_fen)} 元超过申请金额 {yuan(requested_fen)} 元："
                                     "核定金额不得高于申请金额")
    return amount_fen


def _task_data(task: HumanTask, d: Decision, cap_fen: int, requested_fen: int) -> dict[str, Any]:
    if d.decision not in task.decisions:
        raise InvalidInput("decision", f"“{task.name}”只能选择：{', '.join(task.decisions)}")
    reason = (d.reason or "").strip() or None
    if d.decision in NEEDS_REASON and reason is None:
        raise InvalidInput("reason", "退回、不予通过、异议、暂缓拨付或退回复审必须填写理由")
    data: dict[str, Any] = {"decision": d.decision, "reason": reason}
    if "award_amount_fen" in task.fields and d.decision == "approve":
        data["award_amount_fen"] = check_award_amount(d.amount_fen, cap_fen=cap_fen, requested_fen=requested_fen)
    if "payment_reference" in task.fields and d.decision == "pay":
        ref = (d.payment_reference or "").strip()
        if not ref:
            raise InvalidInput("payment_reference", "拨付须填写支付凭证号")
        data["payment_reference"] = ref
    return data


def _check_segregation(session: Session, user: User, item: WorkItem) -> None:
    """Whoever decided a case at one stage may not decide it at another stage, nor pay it."""
    earlier = eligibility.earlier_stage(session, user.username, item)
    if earlier is not None:
        raise Forbidden(f"职责分离：您已办理本案“{earlier}”环节，不能再办理“{item.name}”")


def _cap(services: Services, session: Session, application: Application) -> int:
    """The award's cap in the policy revision the case runs under (a later correction of the edition
    applies to new cases only)."""
    edition_code = session.get_one(Call, application.call_id).edition_code
    try:
        edition = services.edition_revision(application.policy_revision_id, edition_code)
        return edition.award(application.award_type_code).cap_fen
    except KeyError as exc:
        raise NotFound(f"奖励类型 {application.award_type_code} 不在本案的政策版本中") from exc


def complete(uow: UnitOfWork, services: Services, *, item_id: int, username: str, decision: Decision,
             now: datetime) -> WorkItem:
    """Complete a work item with a decision, as one transaction (caller commits)."""
    session = uow.session
    user = get_user(session, username)
    item = visible_item(session, user, item_id)
    if item.status != "open":
        raise Conflict(f"待办 #{item_id} 已由 {item.completed_by} {ITEM_STATUS.get(item.status, item.status)}，"
                       "本次未作任何更改")
    application = session.get_one(Application, item.application_id)
    _check_segregation(session, user, item)
    check_holder(session, user, item)
    inst = session.get_one(ProcessInstance, item.instance_id)
    task = next((t for t in services.runtime.open_tasks(inst) if t.task_id == item.task_id), None)
    if task is None:  # someone completed it since we read it: say who
        session.expire(item)
        if item.status != "open":
            raise Conflict(f"待办 #{item_id} 已由 {item.completed_by} {ITEM_STATUS.get(item.status, item.status)}，"
                           "本次未作任何更改")
        raise Conflict(f"待办 #{item_id} 在本案中已不是待办，本次未作任何更改")
    cap = _cap(services, session, application)
    case_cap = services.runtime.case_data(inst).get("cap_fen")  # less, after a lower award was paid (就高不重复)
    if isinstance(case_cap, int) and 0 < case_cap < cap:
        cap = case_cap
    data = _task_data(task, decision, cap, application.requested_fen)
    if "award_amount_fen" in data:
        application.awarded_fen = data["award_amount_fen"]
    elif decision.decision in REDECIDE:
        application.awarded_fen = None  # the amount is decided again after a return or an objection
    if task.action == "payout" and decision.decision == "pay":
        call = session.get_one(Call, application.call_id)
        pay(session, application=application, fund_id=call.fund_id, reference=data["payment_reference"],
            actor=user.username, now=now, district_percent=services.settings.district_matching_percent)
    services.runtime.complete(uow, item=item, application=application, data=data, actor=user.username,
                              now=now, outcome=decision.decision, reason=data.get("reason"))
    notices.after_decision(session, application=application, item=item, decision=decision.decision,
                           reason=data.get("reason"), now=now)
    eligibility.route_blocked_steps(session, application=application, actor="system", now=now)
    return item


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
def _holder_name(session: Session, username: str) -> str:
    holder = session.scalars(select(User).where(User.username == username)).first()
    return f"{holder.display_name}（{username}）" if holder else username


def _require_open(session: Session, item: WorkItem) -> None:
    if item.status != "open":
        who = _holder_name(session, item.completed_by or "?")
        raise Conflict(f"该事项已由 {who} 办结（work item {item.id} was already {item.status} by "
                       f"{item.completed_by}）；未做任何更改")


def check_holder(session: Session, user: User, item: WorkItem) -> None:
    """Conflict if someone else holds (has claimed) the item. Locks the row (PostgreSQL), so a claim
    and a completion of one item are serialised."""
    holder = session.scalar(select(WorkItem.assignee).where(WorkItem.id == item.id).with_for_update())
    if holder is not None and holder != user.username:
        raise Conflict(f"该事项已由 {_holder_name(session, holder)} 认领，只有认领人可以办理；未做任何更改")


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
        raise Conflict(f"该事项已由 {_holder_name(session, item.assignee or '?')} 认领；未做任何更改")
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
        raise Forbidden(f"该事项由 {_holder_name(session, item.assignee)} 认领，只有认领人可以释放")
    freed = session.execute(update(WorkItem).where(
        WorkItem.id == item.id, WorkItem.status == "open", WorkItem.assignee == username).values(assignee=None))
    if freed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该事项刚刚被他人更改；未做任何更改")
    session.refresh(item)
    audit.append(session, kind="task.release", actor=username, at=now, instance_id=item.instance_id,
                 application_id=item.application_id, payload={"work_item": item.id, "task": item.task_spec})
    return item
