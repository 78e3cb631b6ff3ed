"""Who may see what. Every query for cases goes through `scope_applications`; a case outside the
user's scope is NotFound (404), never Forbidden, so ids cannot be probed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from services.accounts.users import ROLE_NAMES
from services.db.models import Application, User
from services.errors import Forbidden, NotFound

CITY_ROLES = frozenset({"bureau", "finance", "manager", "auditor", "admin"})
OFFICER_ROLES = frozenset({"district", "bureau", "finance"})


def scope_applications(query: Select[Any], user: User) -> Select[Any]:
    """Limit an Application query to the user's scope: unit, enterprise, or the whole city."""
    if user.role == "district":
        return query.where(Application.review_unit_code == user.review_unit_code)
    if user.role == "applicant":
        return query.where(Application.enterprise_id == user.enterprise_id)
    if user.role in CITY_ROLES:
        return query
    return query.where(false())


def visible_application(session: Session, user: User, application_id: int) -> Application:
    """The application if the user may see it; NotFound otherwise."""
    app = session.scalars(scope_applications(select(Application).where(Application.id == application_id),
                                             user)).first()
    if app is None:
        raise NotFound(f"案件 #{application_id} 不存在")
    return app


def require_role(user: User, *roles: str) -> None:
    """Forbidden unless the user has one of `roles` (auditors are read-only everywhere)."""
    if user.role not in roles:
        raise Forbidden(f"此操作只有{'、'.join(ROLE_NAMES.get(r, r) for r in roles)}可以进行")
