"""Deciding a step of an arrears case: who may, what each decision needs, and what it records.

`act()` is the one command: it checks the user's scope and lane, validates the decision and its
fields for that step (InvalidInput names the field and the rule, and nothing is stored), records
the domain rows (amounts, the repayment plan, repayments), computes the calendar-day deadlines the
route's timers read (handling_due, handling_ceiling, debtor_due), and completes the step through
the runtime, all in the caller's transaction.

Fields arrive as text (CLI, forms, JSON alike): amounts in yuan, dates as YYYY-MM-DD, a repayment
plan as `YYYY-MM-DD=amount; ...`. What each step needs is in steps.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.users import get_user, person_name
from services.arrears.cases import ArrearsRuntime
from services.arrears.registry import Desk, officer_departments, scope_tasks
from services.arrears.rules import load_rules
from services.arrears.steps import STEPS, Step, StepContext, parse_plan
from services.db.models import ProcessInstance, User
from services.db.models_arrears import ArrearsCase, ArrearsTask
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["DECISION_NAMES", "FORM_FIELDS", "NEEDS_REASON", "Step", "act", "inbox", "may_decide", "parse_plan",
           "visible_task"]

NEEDS_REASON = {"refuse", "request_material", "unfounded", "extend", "non_cooperation", "deny", "choose_summons",
                "choose_notice", "no_further"}
DECISION_NAMES = {
    "accept": "受理", "refuse": "不予受理", "request_material": "通知补充材料", "supplied": "已补充材料",
    "withdraw": "撤回投诉", "transfer": "转交", "result": "出具处理结果", "unfounded": "不存在欠款",
    "extend": "申请延期", "non_cooperation": "债务人不配合", "approve": "批准", "deny": "不予批准",
    "confirm": "全部确认", "partial": "部分确认", "dispute": "全部异议", "negotiation": "转协商",
    "court": "转诉讼（仲裁）", "plan": "提交还款计划", "repaid": "登记还款", "issued": "已发出",
    "held": "已约谈", "published": "已通报", "close": "核实销号", "timer": "期满",
    "choose_summons": "约谈", "choose_notice": "通报", "no_further": "暂不采取",
}
# The form fields of each step: (field, label, the decisions that use it)
FORM_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "transfer": [("department", "改派处理部门（代码，留空则按债务人名录）", "transfer")],
    "handle": [("amount", "核实欠款金额（元，出具处理结果时必填）", "result"),
               ("extension_until", "延期至（YYYY-MM-DD，申请延期时必填）", "extend")],
    "debtor_confirmation": [("amount", "确认金额（元，部分确认时必填）", "partial")],
    "repayment_plan": [("instalments", "分期计划（每行一期：YYYY-MM-DD=金额）", "plan")],
    "record_repayment": [("amount", "还款金额（元）", "repaid"), ("paid_on", "还款日期（YYYY-MM-DD）", "repaid"),
                         ("reference", "凭证号", "repaid")],
    "supervision_letter": [("document_no", "督办书文号", "issued")],
    "summons": [("document_no", "约谈记录编号", "held")],
    "public_notice": [("document_no", "通报文号", "published")],
}


def inbox(session: Session, user: User, *, limit: int = 200) -> list[ArrearsTask]:
    """The user's open arrears steps, oldest deadline first."""
    desk = officer_departments(session, user)
    query = scope_tasks(select(ArrearsTask).where(ArrearsTask.status == "open"), user, desk)
    query = query.order_by(ArrearsTask.due_at.is_(None), ArrearsTask.due_at, ArrearsTask.id).limit(limit)
    return list(session.scalars(query))


def visible_task(session: Session, user: User, task_id: int) -> ArrearsTask:
    """The step if it is in the user's inbox scope (open or done); NotFound otherwise."""
    desk = officer_departments(session, user)
    task = session.scalars(scope_tasks(select(ArrearsTask).where(ArrearsTask.id == task_id), user, desk)).first()
    if task is None:
        raise NotFound(f"清欠办理环节 #{task_id} 不存在")
    return task


def may_decide(session: Session, user: User, task: ArrearsTask) -> bool:
    """Whether `user` may decide the open step `task` (for showing its form)."""
    if task.status != "open":
        return False
    try:
        visible_task(session, user, task.id)
        _may_act(user, officer_departments(session, user), task)
    except (NotFound, Forbidden):
        return False
    return True


def _may_act(user: User, desk: Desk, task: ArrearsTask) -> None:
    if user.role == "auditor":
        raise Forbidden("审计员只读，不能办理")
    lane = task.role
    if lane in ("handler", "debtor") and task.department_code in desk.departments:
        if task.task_spec == "approve_extension" and task.department_code not in desk.heads:
            raise Forbidden("延期须由处理部门负责人审批")
        return
    # acceptance: the 受理投诉部门's steps, which the bureau takes only for a complaint registered under the
    # local arrangement (registration checks the setting) or for a ledger row (services.arrears.transfer)
    if lane in ("bureau", "complainant", "acceptance") and user.role == "bureau":
        return
    if lane == "complainant" and desk.creditor_uscc is not None:
        return
    raise Forbidden(f"“{task.name}”不由您办理")


def act(uow: UnitOfWork, services: Services, *, task_id: int, username: str, step: Step,
        now: datetime) -> ArrearsTask:
    """Decide an open step of an arrears case as `username` (one transaction; the caller commits)."""
    session = uow.session
    user = get_user(session, username)
    desk = officer_departments(session, user)
    task = visible_task(session, user, task_id)
    if task.status != "open":
        raise Conflict(f"“{task.name}”已由 {person_name(session, task.completed_by)} 办理，本次未作任何更改")
    _may_act(user, desk, task)
    case = session.get_one(ArrearsCase, task.case_id)
    arrangement = services.settings.arrears_acceptance_arrangement
    if task.role == "acceptance" and case.source == "complaint" and not arrangement:
        raise Forbidden("本市已无代省级受理投诉部门受理投诉的安排（设置 arrears_acceptance_arrangement 为空）："
                        "此投诉的受理审查和转交须由省级受理投诉部门办理")
    runtime = ArrearsRuntime(services)
    if case.instance_id is None:
        runtime.start(uow, case=case, actor=username, now=now)  # adopts `task`, the placeholder
        session.flush()
    inst = session.get_one(ProcessInstance, case.instance_id)
    human, flow = runtime.peek(inst, str(task.task_id))
    if human is None:
        raise Conflict(f"“{task.name}”已不在办理中，本次未作任何更改")
    if step.decision not in human.decisions:
        raise InvalidInput("decision", f"“{human.name}”只能选择：{', '.join(human.decisions)}")
    reason = (step.reason or "").strip() or None
    if step.decision in NEEDS_REASON and reason is None:
        raise InvalidInput("reason", f"“{DECISION_NAMES.get(step.decision, step.decision)}”须填写理由")
    if reason is not None and len(reason) > 2000:
        raise InvalidInput("reason", "理由最多 2000 个字符")
    ctx = StepContext(services, session, load_rules(), user, case, task, step, flow, now,
               ZoneInfo(services.settings.timezone))
    data = {"decision": step.decision, "reason": reason} | STEPS[task.task_spec](ctx)
    runtime.complete(uow, case=case, task=task, data=data, actor=username, now=now, outcome=step.decision,
                     reason=reason)
    return task
