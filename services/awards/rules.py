"""The rules of a decision on a work item: which decisions need a reason, the amount the bureau
may award, the data a decision gives the route, the award's cap, and how a holder is named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.engine.runtime import HumanTask
from services.errors import InvalidInput, NotFound
from services.money import yuan

if TYPE_CHECKING:
    from services.bootstrap import Services

NEEDS_REASON = {"return", "reject", "objection", "defer", "return_review"}
# Decisions after which the amount is decided again (a deferral keeps it: the payout only waits).
REDECIDE = {"return", "reject", "objection", "return_review"}
#: a work item that is no longer open: how it ended, as a person reads it
ITEM_STATUS = {"completed": "办理", "closed": "关闭"}


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


def task_data(task: HumanTask, d: Decision, cap_fen: int, requested_fen: int) -> dict[str, Any]:
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


def cap_for(services: Services, revision_id: int | None, edition_code: str, award_type_code: str) -> int:
    """The award's cap in the policy revision the case runs under (a later correction of the edition
    applies to new cases only)."""
    try:
        return services.edition_revision(revision_id, edition_code).award(award_type_code).cap_fen
    except KeyError as exc:
        raise NotFound(f"奖励类型 {award_type_code} 不在本案的政策版本中") from exc
