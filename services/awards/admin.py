"""Admin commands: open and close calls, create users and change their role, unit and standing.

Every command checks that the acting user is an admin, works inside the caller's transaction and
appends its audit event there; bad input raises InvalidInput and changes nothing. Diagram uploads
are in services.awards.diagrams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.policy import Edition
from services.accounts import sessions, users
from services.accounts.access import require_role
from services.audit import chain as audit
from services.awards import calls, enterprises
from services.db.models import ApiToken, Call, Enterprise, Fund, ReviewUnit, User, WorkItem
from services.errors import Conflict, InvalidInput, NotFound
from services.labels import one_of

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,79}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CODE = re.compile(r"[A-Za-z0-9_.-]{1,60}")
LOOKUP = re.compile(r"[\w.@+-]{1,80}")


def require_admin(user: User) -> None:
    """Forbidden unless the user is an admin."""
    require_role(user, "admin")


# -- calls ------------------------------------------------------------------------------------
def open_call(session: Session, *, user: User, editions: list[Edition], edition_code: str, title: str,
              opens_on: date, closes_on: date, award_types: list[str], fund_code: str, now: datetime) -> Call:
    """Open a call (申报批次) under a loaded policy edition, for some of its award types."""
    require_admin(user)
    edition = next((e for e in editions if e.code == edition_code), None)
    if edition is None:
        raise InvalidInput("edition", f"未加载的政策版本：{edition_code}")
    title = clean_text("title", title, 200)
    if not CODE.fullmatch(fund_code):
        raise InvalidInput("fund", f"未知的资金：{fund_code[:60]}")
    return calls.open_call(session, edition=edition, title=title, opens_on=opens_on, closes_on=closes_on,
                           award_types=list(dict.fromkeys(award_types)), fund_code=fund_code,
                           actor=user.username, now=now)


def close_call(session: Session, *, user: User, call_id: int, now: datetime, today: date) -> Call:
    """Close a call early: from now on it accepts no application (逾期不予受理)."""
    require_admin(user)
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"申报批次 #{call_id} 不存在")
    if call.closed_early:
        raise Conflict(f"申报批次“{call.title}”已提前截止")
    if call.closes_on < today:
        raise Conflict(f"申报批次“{call.title}”已于 {call.closes_on} 截止，无需提前截止")
    call.closed_early = True
    session.flush()
    audit.append(session, kind="call.close", actor=user.username, at=now,
                 payload={"call": call.id, "closed_on": today.isoformat(), "closes_on": call.closes_on.isoformat()})
    return call


# -- users ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserChanges:
    """What to change on a user; None leaves a field as it is."""

    role: str | None = None
    review_unit_code: str | None = None
    enterprise_id: int | None = None
    display_name: str | None = None
    email: str | None = None
    active: bool | None = None
    unit_head: bool | None = None


def clean_text(field: str, value: str, limit: int) -> str:
    """The text stripped; InvalidInput if empty, longer than `limit` or holding control characters."""
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(field, f"不能为空，最多 {limit} 个字符")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(field, "不能包含控制字符")
    return value


def _check_unit(session: Session, code: str | None, today: date) -> None:
    if not code:
        raise InvalidInput("review_unit", "区县经办人必须绑定一个审核单位")
    unit = session.get(ReviewUnit, code) if CODE.fullmatch(code) else None
    if unit is None:
        raise InvalidInput("review_unit", f"审核单位 {code} 不存在")
    if unit.code not in {u.code for u in enterprises.active_units(session, today=today)}:
        successor = f"，请改用继任单位 {unit.successor}" if unit.successor else ""
        raise InvalidInput("review_unit", f"审核单位“{unit.name_zh}”已撤并{successor}")


def _check_enterprise(session: Session, enterprise_id: int | None) -> None:
    if enterprise_id is None or session.get(Enterprise, enterprise_id) is None:
        raise InvalidInput("enterprise", "申报人必须绑定一家已登记的企业")


def _check_text(display_name: str, email: str | None) -> None:
    clean_text("display_name", display_name, 120)
    if email is not None and (len(email) > 200 or not EMAIL.fullmatch(email) or not email.isprintable()):
        raise InvalidInput("email", "电子邮箱格式无效")


def create_user(session: Session, *, user: User, hasher: PasswordHasher, username: str, display_name: str,
                role: str, password: str, review_unit_code: str | None = None, enterprise_id: int | None = None,
                email: str | None = None, unit_head: bool = False, now: datetime, today: date) -> User:
    """Create a user with a role: a district officer is bound to a current review unit, an applicant to
    a registered enterprise; other roles are city-wide."""
    require_admin(user)
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise InvalidInput("username", "用户名为 3-80 位小写字母、数字、点、下划线或连字符，以字母或数字开头")
    email = (email or "").strip() or None
    _check_text(display_name, email)
    if role not in users.ROLES:
        raise InvalidInput("role", f"角色须为 {one_of(users.ROLE_NAMES, users.ROLES)} 之一")
    review_unit_code = review_unit_code if role == "district" else None
    enterprise_id = enterprise_id if role == "applicant" else None
    if role == "district":
        _check_unit(session, review_unit_code, today)
    if role == "applicant":
        _check_enterprise(session, enterprise_id)
    created = users.create_user(session, hasher=hasher, username=username, display_name=display_name.strip(),
                                role=role, password=password, review_unit_code=review_unit_code,
                                enterprise_id=enterprise_id, email=email,
                                unit_head=bool(unit_head and role == "district"))
    audit.append(session, kind="user.create", actor=user.username, at=now,
                 payload={"user": created.id, "username": created.username, "role": role,
                          "review_unit": created.review_unit_code, "enterprise": created.enterprise_id,
                          "unit_head": created.unit_head})
    return created


def update_user(session: Session, *, user: User, username: str, changes: UserChanges, now: datetime,
                today: date) -> User:
    """Change a user's role, unit, enterprise, name, e-mail, unit-head flag or standing (active).

    An admin cannot change their own role or deactivate themselves, so an admin always remains.
    Deactivating revokes the user's API tokens; a change of role, unit or standing releases the
    work items they had claimed, so nothing stays stuck with someone who can no longer act on it.
    """
    require_admin(user)
    target = _find(session, username)
    if target.id == user.id and changes.active is False:
        raise InvalidInput("active", "不能停用自己的账户")
    if target.id == user.id and (changes.role or user.role) != user.role:
        raise InvalidInput("role", "不能更改自己的角色")
    before = _state(target)
    role = changes.role or target.role
    if role not in users.ROLES:
        raise InvalidInput("role", f"角色须为 {one_of(users.ROLE_NAMES, users.ROLES)} 之一")
    unit = changes.review_unit_code or (target.review_unit_code if role == "district" else None)
    enterprise_id = changes.enterprise_id or (target.enterprise_id if role == "applicant" else None)
    display_name = target.display_name if changes.display_name is None else changes.display_name
    email = target.email if changes.email is None else (changes.email.strip() or None)
    _check_text(display_name, email)
    if role == "district" and (unit != target.review_unit_code or role != target.role):
        _check_unit(session, unit, today)
    if role == "applicant":
        _check_enterprise(session, enterprise_id)
    target.role = role
    target.review_unit_code = unit if role == "district" else None
    target.enterprise_id = enterprise_id if role == "applicant" else None
    target.display_name, target.email = display_name.strip(), email
    target.unit_head = bool((target.unit_head if changes.unit_head is None else changes.unit_head)
                            and role == "district")
    target.active = target.active if changes.active is None else changes.active
    after = _state(target)
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not diff:
        return target
    released = _release(session, target, before, after)
    session.flush()
    audit.append(session, kind="user.update", actor=user.username, at=now,
                 payload={"user": target.id, "username": target.username, "changes": diff, "released": released})
    return target


def set_password(session: Session, *, user: User, hasher: PasswordHasher, username: str, password: str,
                 now: datetime) -> User:
    """An admin gives a user a new password (checked as any new password); every session of that user
    ends at once. Audited (`user.password`, without the password)."""
    require_admin(user)
    target = _find(session, username)
    users.set_password(target, hasher=hasher, password=password)
    ended = sessions.end_all(session, target.id)
    audit.append(session, kind="user.password", actor=user.username, at=now,
                 payload={"user": target.id, "username": target.username, "by": "admin", "sessions_ended": ended})
    return target


def _state(u: User) -> dict[str, object]:
    return {"role": u.role, "review_unit": u.review_unit_code, "enterprise": u.enterprise_id,
            "display_name": u.display_name, "email": u.email, "active": u.active, "unit_head": u.unit_head}


def _release(session: Session, target: User, before: dict[str, object], after: dict[str, object]) -> list[int]:
    """Revoke tokens and end sessions of a deactivated user (reactivating revives neither); release
    claims when role, unit or standing changed."""
    if not after["active"]:
        session.execute(update(ApiToken).where(ApiToken.user_id == target.id).values(revoked=True))
        sessions.end_all(session, target.id)
    if all(before[k] == after[k] for k in ("role", "review_unit", "enterprise", "active")):
        return []
    claimed = list(session.scalars(select(WorkItem.id).where(WorkItem.assignee == target.username,
                                                             WorkItem.status == "open")))
    if claimed:
        session.execute(update(WorkItem).where(WorkItem.id.in_(claimed)).values(assignee=None))
    return claimed


# -- listings ---------------------------------------------------------------------------------
def list_users(session: Session, *, user: User) -> list[User]:
    """Every user, by role then name."""
    require_admin(user)
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def get_user(session: Session, *, user: User, username: str) -> User:
    """One user (active or not) by name."""
    require_admin(user)
    return _find(session, username)


def _find(session: Session, username: str) -> User:
    target = session.scalar(select(User).where(User.username == username)) if LOOKUP.fullmatch(username) else None
    if target is None:
        raise NotFound(f"没有用户名为 {username[:80]!r} 的用户")
    return target


def list_calls(session: Session, *, user: User) -> list[Call]:
    """Every call, newest first."""
    require_admin(user)
    return list(session.scalars(select(Call).order_by(Call.id.desc())))


def list_funds(session: Session, *, user: User) -> list[Fund]:
    """Every fund a call can draw on."""
    require_admin(user)
    return list(session.scalars(select(Fund).order_by(Fund.year.desc(), Fund.code)))


def list_enterprises(session: Session, *, user: User, limit: int = 2000) -> list[Enterprise]:
    """Registered enterprises (to bind an applicant account to one)."""
    require_admin(user)
    return list(session.scalars(select(Enterprise).order_by(Enterprise.name).limit(limit)))
