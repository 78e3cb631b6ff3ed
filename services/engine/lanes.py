"""The role that works in a diagram lane. A lane is drawn with its Chinese name (市中小企业局); the service
routes its tasks by role code (bureau). Diagrams drawn before the lanes had Chinese names (and the
running cases that started on them) name the lane by its role code, which is taken as it is."""

from __future__ import annotations

LANE_ROLES = {
    "申报单位": "applicant", "区县": "district", "市中小企业局": "bureau", "市财政局": "finance",
    "投诉企业": "complainant", "受理投诉部门": "acceptance", "处理部门": "handler", "债务人": "debtor",
}


def role_of_lane(lane: str | None) -> str | None:
    """`区县` → `district`; a role code stays itself; None for a task drawn in no lane."""
    if lane is None:
        return None
    return LANE_ROLES.get(lane.strip(), lane)
