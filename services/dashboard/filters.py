"""Dashboard filters: checked against the known calls, award types, review units and statuses before
they reach SQL, and applied together with the user's scope (`services.accounts.access.scope_applications`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select

from services.accounts.access import scope_applications
from services.db.models import Application, User
from services.errors import InvalidInput
from services.labels import APPLICATION_STATUS, one_of

if TYPE_CHECKING:
    from services.bootstrap import Services

STATUSES = ("running", "paid", "rejected")
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")
MAX_ID = 2**53  # ids above this cannot exist; refusing them keeps huge numbers away from the database


@dataclass(frozen=True)
class Filters:
    """What the dashboard and the case list are narrowed to; None means all."""

    call_id: int | None = None
    award_type: str | None = None
    unit: str | None = None
    status: str | None = None

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        pairs = {"call": self.call_id, "award": self.award_type, "unit": self.unit, "status": self.status}
        return {k: str(v) for k, v in pairs.items() if v is not None}


def parse_filters(services: Services, *, call: str | None = None, award: str | None = None,
                  unit: str | None = None, status: str | None = None) -> Filters:
    """Check filter values from a query string (blank means all); InvalidInput names a bad one."""
    call_id = None
    if call and call.strip():
        digits = call.strip()
        if not (digits.isascii() and digits.isdigit() and len(digits) < 17 and 0 < int(digits) < MAX_ID):
            raise InvalidInput("call", "申报批次编号须为正整数")
        call_id = int(digits)
    award = (award or "").strip() or None
    if award is not None and award not in {a.code for e in services.editions for a in e.award_types}:
        raise InvalidInput("award", "未知的奖励类型")
    unit = (unit or "").strip() or None
    if unit is not None and unit not in {u.code for u in services.units}:
        raise InvalidInput("unit", "未知的审核单位")
    status = (status or "").strip() or None
    if status is not None and status not in STATUSES:
        raise InvalidInput("status", f"状态须为 {one_of(APPLICATION_STATUS, STATUSES)} 之一")
    return Filters(call_id, award, unit, status)


def narrow(query: Q, user: User, filters: Filters) -> Q:
    """Limit a query that involves Application to the user's scope and the filters."""
    query = scope_applications(query, user)  # type: ignore[assignment]
    if filters.call_id is not None:
        query = query.where(Application.call_id == filters.call_id)
    if filters.award_type is not None:
        query = query.where(Application.award_type_code == filters.award_type)
    if filters.unit is not None:
        query = query.where(Application.review_unit_code == filters.unit)
    if filters.status is not None:
        query = query.where(Application.status == filters.status)
    return query


