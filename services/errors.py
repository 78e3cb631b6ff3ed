"""One exception tree for the whole service; the ways in (CLI, web) turn it into answers in one place."""

from __future__ import annotations


class SmeflowError(Exception):
    """Base of every error the service reports to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


#: the Chinese name of every input field an error can name: a person reads `金额：…`, never `amount: …`
#: (the API keeps the field's code in `field`, beside the message)
FIELD_LABELS = {
    "account_name": "开户名", "account_no": "银行账号", "accepted_on": "验收日期", "active": "账号状态",
    "add_fen": "追加金额", "against": "比较版本", "agreed_days": "约定付款期限（天）", "agreed_rate": "约定利率",
    "amount": "金额", "answered_on": "答复日期", "as_of": "测算日期", "award": "奖励", "award_amount": "奖励金额",
    "award_type": "奖励类型", "award_types": "奖励类型", "bank_name": "开户银行", "budget": "预算",
    "budget_fen": "预算", "by": "办理人", "call": "申报批次", "call_id": "申报批次", "claim_code": "认领码",
    "closes_on": "截止日期", "commitments": "承诺事项", "confirmed_amount": "确认金额", "contract_no": "合同编号",
    "creditor_name": "债权企业名称", "creditor_uscc": "债权企业统一社会信用代码", "debtor_kind": "债务人类型",
    "debtor_uscc": "债务人统一社会信用代码", "decision": "决定", "delivered_on": "交付日期",
    "demo_clock": "演示时钟", "department": "处理部门", "description": "情况说明", "display_name": "姓名",
    "document_no": "认定文号", "draft": "草案", "edition": "政策版本", "email": "电子邮箱", "enterprise": "企业",
    "extension_until": "延长至", "file": "文件", "files": "附件", "financing": "融资情况", "format": "格式",
    "fund": "资金", "honour_id": "荣誉", "honour_type": "荣誉类型", "inspection_due_on": "检验期限",
    "instalments": "分期计划", "issuer": "认定机关", "jump": "跳转", "kind": "类型", "level": "认定级别",
    "line": "资金科目", "list": "名单", "month": "月份", "name": "名称", "opens_on": "开始日期",
    "out": "输出文件", "outcome": "处理结果", "paid_on": "付款日期", "password": "密码",
    "payment_reference": "支付凭证号", "q": "查询", "reason": "理由", "recognised_on": "认定日期",
    "reference": "凭证号", "requested_on": "申请日期", "review_unit": "审核单位", "role": "角色", "route": "流程",
    "settled_on": "结算日期", "signed_on": "签订日期", "sort": "排序", "special_term_basis": "特别约定依据",
    "special_term_days": "特别约定期限（天）", "status": "状态", "step": "步骤", "take_up": "申领比例",
    "tier": "档次", "title": "标题", "to": "收件人", "unit": "单位", "user": "用户", "username": "用户名",
    "uscc": "统一社会信用代码", "year": "年度",
    "intake": "投诉来源", "transfer_from": "转办单位", "transfer_document": "转办文书文号",
    "complaint_accepted_on": "受理投诉部门受理日期", "transferred_on": "转交日期", "received_on": "收到转办材料日期",
    "current_password": "当前密码", "new_password": "新密码", "new_password_again": "再次输入的新密码",
    "days": "有效天数", "requested_yuan": "申请金额", "requested_fen": "申请金额", "to_fen": "调整后的预算",
    "by_fen": "增减金额",
}


def field_label(field: str) -> str:
    """`金额`, `第 3 行 金额` (for `row 3: amount`); the code itself only for a field with no label."""
    row, sep, rest = field.partition(": ")
    if sep and row.startswith("row ") and row[4:].isdigit():
        return f"第 {row[4:]} 行 {field_label(rest)}"
    return FIELD_LABELS.get(field, field)


class InvalidInput(SmeflowError):
    """Bad input: names the field and the rule it broke. `message` (what a person reads) names the field
    in Chinese (`金额：…`); `str()` (logs, tracebacks) keeps its code (`amount: …`)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field_label(field)}：{rule}")
        self.args = (f"{field}: {rule}",)
        self.field = field
        self.rule = rule


class NotFound(SmeflowError):
    """Does not exist, or the user may not see it (the two are not told apart)."""


class Forbidden(SmeflowError):
    """The user may see it but may not do this."""


class Conflict(SmeflowError):
    """Someone else changed it first, or it would break a uniqueness or budget rule."""


class TooManyAttempts(SmeflowError):
    """Too many failed sign-ins: the username or the client address is locked for a while (429)."""


class InsufficientFunds(Conflict):
    """A payout would exceed the fund's remaining budget."""


class EngineFailure(SmeflowError):
    """The workflow engine refused a step (a diagram error); nothing was stored."""
