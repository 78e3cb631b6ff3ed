"""What each step of the arrears route needs and records: the per-step half of actions.act().

Each function takes the step's context, validates the fields of the decision (InvalidInput names the
field and the rule), records the domain rows (amounts, the repayment plan, repayments) and returns
the data to complete the step with, including the calendar-day deadlines the route's timers read:
`handling_due` / `handling_ceiling` (30 days from receiving the materials, never beyond 90, rolled
past rest days) and `debtor_due` (the debtor's next deadline).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.arrears.intake import parse_date, parse_fen
from services.arrears.registry import department_names
from services.arrears.rules import ArrearsRules
from services.arrears.statute import period_end
from services.arrears.transfer import end_of, handling_clock
from services.db.models import User
from services.db.models_arrears import ArrearsCase, ArrearsInstalment, ArrearsRepayment, ArrearsTask
from services.errors import Forbidden, InvalidInput
from services.money import yuan

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["STEPS", "Step", "StepContext", "parse_plan"]


@dataclass(frozen=True)
class Step:
    """A decision on a step, with its fields as text: amounts in yuan, dates YYYY-MM-DD, a plan as
    `YYYY-MM-DD=amount; ...`."""

    decision: str
    reason: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass
class StepContext:
    services: Services
    session: Session
    rules: ArrearsRules
    user: User
    case: ArrearsCase
    task: ArrearsTask
    step: Step
    flow: dict[str, Any]  # the case data as the route has it now
    now: datetime
    tz: ZoneInfo

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def end_of(self, day: date) -> str:
        """The end of a local day (00:00 of the next day), as the UTC ISO string a timer reads."""
        return end_of(day, self.tz)

    def text(self, name: str, *, required: bool = True, limit: int = 120) -> str:
        value = (self.step.fields.get(name) or "").strip()
        if required and not value:
            raise InvalidInput(name, f"“{self.task.name}”须填写 {name}")
        if len(value) > limit:
            raise InvalidInput(name, f"最多 {limit} 个字符")
        return value


def _acceptance(ctx: StepContext) -> dict[str, Any]:
    if ctx.step.decision == "accept":  # the edition in force today governs the handling period
        return {"complaint_accepted_on": ctx.today.isoformat()}
    return {}


def _nothing(ctx: StepContext) -> dict[str, Any]:
    return {}


def _transfer(ctx: StepContext) -> dict[str, Any]:
    code = ctx.text("department", required=False, limit=40)
    if code and code != ctx.case.department_code:
        if code not in department_names(ctx.session):
            raise InvalidInput("department", f"处理部门 {code!r} 不存在")
        ctx.case.department_code = code
    received = ctx.today  # transferred now: the handling department receives the materials today
    accepted = date.fromisoformat(ctx.flow.get("complaint_accepted_on") or received.isoformat())
    clock = handling_clock(ctx.services, ctx.rules, received=received, accepted=accepted)
    return clock | {"department_code": ctx.case.department_code}


def _handle(ctx: StepContext) -> dict[str, Any]:
    d = ctx.step.decision
    if d == "result":
        found = parse_fen(ctx.text("amount"), "amount")
        if found > ctx.case.claimed_fen:
            raise InvalidInput("amount", "核实欠款金额不能超过登记金额")
        ctx.case.found_fen = found
        # the debtor's reply: a setting (the regulation fixes no period; 确权 is a separate request)
        reply_by, _ = period_end(ctx.services.calendar, ctx.today, ctx.services.settings.arrears_debtor_reply_days,
                                 roll=ctx.rules.roll_past_rest_days)
        return {"found_fen": found, "debtor_due": ctx.end_of(reply_by), "debtor_due_on": reply_by.isoformat()}
    if d == "extend":
        until = parse_date(ctx.text("extension_until"), "extension_until")
        current = date.fromisoformat(ctx.flow["handling_due_on"])
        ceiling = date.fromisoformat(ctx.flow["handling_ceiling_on"])
        if until <= current:
            raise InvalidInput("extension_until", f"延期日期须晚于当前处理期限 {current}")
        if until > ceiling:
            longest = ctx.flow.get("handling_max_days") or ctx.rules.handling_max_days
            basis = ctx.flow.get("handling_basis") or ctx.rules.handling_article
            raise InvalidInput("extension_until", f"处理期限自收到材料起最长不得超过 {longest} 日"
                                                  f"（不得晚于 {ceiling}；{basis}）")
        return {"extension_until": until.isoformat(), "extension_requested_by": ctx.user.username}
    return {}


def _approve_extension(ctx: StepContext) -> dict[str, Any]:
    if ctx.flow.get("extension_requested_by") == ctx.user.username:
        raise Forbidden("职责分离：申请延期的人不能审批自己的申请")
    if ctx.step.decision == "approve":
        until = date.fromisoformat(ctx.flow["extension_until"])
        if until < ctx.today:
            raise InvalidInput("decision", f"申请延期至 {until}，该日期已过，不能批准（请选择不予批准）")
        return {"handling_due_on": until.isoformat(), "handling_due": ctx.end_of(until)}
    return {}


def _confirmation(ctx: StepContext) -> dict[str, Any]:
    found = int(ctx.case.found_fen or 0)
    if ctx.step.decision == "confirm":
        confirmed = found
    elif ctx.step.decision == "dispute":
        confirmed = 0
    else:
        confirmed = parse_fen(ctx.text("amount"), "amount")
        if confirmed >= found:
            raise InvalidInput("amount", "部分确认的金额须小于核实欠款金额（全部确认请选 confirm）")
    ctx.case.confirmed_fen, ctx.case.disputed_fen = confirmed, found - confirmed
    return {"confirmed_fen": confirmed, "disputed_fen": found - confirmed,
            "outstanding_fen": confirmed - ctx.case.repaid_fen}


def _dispute(ctx: StepContext) -> dict[str, Any]:
    ctx.case.dispute_status = ctx.step.decision
    return {}


def parse_plan(text: str, *, outstanding_fen: int, today: date, max_instalments: int) -> list[tuple[date, int]]:
    """`YYYY-MM-DD=amount; ...` (yuan) into instalments; they must cover exactly what is outstanding."""
    parts = [p.strip() for p in text.replace("；", ";").replace("\n", ";").split(";") if p.strip()]
    if not parts:
        raise InvalidInput("instalments", "还款计划不能为空（格式：YYYY-MM-DD=金额; ...）")
    if len(parts) > max_instalments:
        raise InvalidInput("instalments", f"最多 {max_instalments} 期")
    plan: list[tuple[date, int]] = []
    for i, part in enumerate(parts, start=1):
        day_text, sep, amount_text = part.partition("=")
        if not sep:
            raise InvalidInput("instalments", f"第 {i} 期格式应为 YYYY-MM-DD=金额")
        day = parse_date(day_text.strip(), "instalments")
        if day < today:
            raise InvalidInput("instalments", f"第 {i} 期还款日期 {day} 早于今天")
        if plan and day <= plan[-1][0]:
            raise InvalidInput("instalments", "各期还款日期须逐期递增")
        plan.append((day, parse_fen(amount_text.strip(), "instalments")))
    total = sum(a for _, a in plan)
    if total != outstanding_fen:
        raise InvalidInput("instalments", f"各期合计 {yuan(total)} 元，须等于待还金额 {yuan(outstanding_fen)} 元")
    return plan


def _plan(ctx: StepContext) -> dict[str, Any]:
    outstanding = int(ctx.case.confirmed_fen or 0) - ctx.case.repaid_fen
    plan = parse_plan(ctx.text("instalments", limit=4000), outstanding_fen=outstanding, today=ctx.today,
                      max_instalments=ctx.rules.max_instalments)
    session = ctx.session
    session.execute(delete(ArrearsInstalment).where(ArrearsInstalment.case_id == ctx.case.id))
    session.add_all(ArrearsInstalment(case_id=ctx.case.id, seq=i, due_on=d, amount_fen=a)
                    for i, (d, a) in enumerate(plan, start=1))
    instalments: list[list[Any]] = [[d.isoformat(), a] for d, a in plan]
    data = {"instalments": instalments, "plan_base_fen": ctx.case.repaid_fen, "outstanding_fen": outstanding}
    return data | _next_due(ctx, instalments, ctx.case.repaid_fen, ctx.case.repaid_fen)


def _next_due(ctx: StepContext, instalments: list[list[Any]], base: int, repaid: int) -> dict[str, Any]:
    """The end of the first instalment not yet covered by what was repaid since the plan."""
    cumulative = base
    for day_text, amount in instalments:
        cumulative += int(amount)
        if repaid < cumulative:
            return {"debtor_due": ctx.end_of(date.fromisoformat(day_text)), "debtor_due_on": day_text}
    return {}


def _repayment(ctx: StepContext) -> dict[str, Any]:
    outstanding = int(ctx.case.confirmed_fen or 0) - ctx.case.repaid_fen
    amount = parse_fen(ctx.text("amount"), "amount")
    if amount > outstanding:
        raise InvalidInput("amount", f"还款金额超过待还金额 {yuan(outstanding)} 元")
    paid_on = parse_date(ctx.text("paid_on"), "paid_on")
    if paid_on > ctx.today:
        raise InvalidInput("paid_on", "还款日期不能晚于今天")
    reference = ctx.text("reference")
    ctx.session.add(ArrearsRepayment(case_id=ctx.case.id, paid_on=paid_on, amount_fen=amount, reference=reference,
                                 recorded_at=ctx.now, recorded_by=ctx.user.username))
    ctx.case.repaid_fen += amount
    data = {"amount_fen": amount, "paid_on": paid_on.isoformat(), "reference": reference,
            "outstanding_fen": outstanding - amount}
    if outstanding - amount > 0:
        data |= _next_due(ctx, ctx.flow.get("instalments") or [], int(ctx.flow.get("plan_base_fen") or 0),
                          ctx.case.repaid_fen)
    return data


def _escalation_due(ctx: StepContext) -> str:
    """The debtor's next deadline after a non-cooperation step (the stage limit, or a later instalment)."""
    due = ctx.services.stage_deadline("arrears_debtor_response", ctx.now).astimezone(ZoneInfo("UTC"))
    if ctx.flow.get("resume_at") == "record_repayment":
        nxt = _next_due(ctx, ctx.flow.get("instalments") or [], int(ctx.flow.get("plan_base_fen") or 0),
                        ctx.case.repaid_fen)
        if nxt:
            due = max(due, datetime.fromisoformat(nxt["debtor_due"]))
    return due.isoformat()


def _escalation(ctx: StepContext) -> dict[str, Any]:
    document = ctx.text("document_no")
    return {"document_no": document, "issued_on": ctx.today.isoformat(), "debtor_due": _escalation_due(ctx)}


def _measures(ctx: StepContext) -> dict[str, Any]:
    """约谈 or 通报 chosen: their own step follows; neither: the stalled step resumes with a fresh deadline."""
    if ctx.step.decision != "no_further":
        return {}
    data = _escalation_due(ctx)
    return {"debtor_due": data}


STEPS: dict[str, Callable[[StepContext], dict[str, Any]]] = {
    "acceptance_review": _acceptance, "supply_material": _nothing, "transfer": _transfer, "handle": _handle,
    "approve_extension": _approve_extension, "debtor_confirmation": _confirmation, "dispute_route": _dispute,
    "repayment_plan": _plan, "record_repayment": _repayment, "supervision_letter": _escalation,
    "summons": _escalation, "public_notice": _escalation, "verify_clearance": _nothing,
    "further_measures": _measures,
}
