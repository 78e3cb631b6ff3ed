"""zh-CN labels for values the service stores in English."""

from __future__ import annotations

STATUS = {"running": "办理中", "paid": "已拨付", "rejected": "不予通过", "completed": "已办结",
          "lapsed": "逾期失效", "declined": "企业放弃"}
DECISION = {"approve": "通过", "return": "退回补正", "reject": "不予通过", "objection": "异议",
            "pay": "拨付", "resubmit": "重新提交", "timer": "期满",
            "defer": "暂缓拨付", "return_review": "退回复审", "confirm": "确认", "decline": "放弃"}


OFFICE = {"bureau": "市中小企业局", "finance": "市财政局", "applicant": "申报单位"}


def office(role: str) -> str:
    """The office that a city-level role works in."""
    return OFFICE.get(role, role)


def status(value: str) -> str:
    return STATUS.get(value, value)


def decision(value: str) -> str:
    return DECISION.get(value, value)
