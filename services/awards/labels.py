"""zh-CN labels for values the service stores in English."""

from __future__ import annotations

from services.labels import APPLICATION_STATUS

STATUS = APPLICATION_STATUS
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
