"""Users, roles and password hashing (argon2)."""

from __future__ import annotations

import contextlib
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.passwords import check_new_password
from services.db.models import Enterprise, ReviewUnit, User
from services.errors import Conflict, InvalidInput, NotFound

ROLES = ("applicant", "district", "bureau", "finance", "manager", "auditor", "admin")
#: what each role is called where a person reads it
ROLE_NAMES = {"applicant": "申报单位", "district": "区县经办人", "bureau": "市中小企业局", "finance": "市财政局",
              "manager": "管理人员", "auditor": "审计员", "admin": "系统管理员"}


def make_hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    """argon2id with the given cost; verification reads the cost from each stored hash."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def create_user(session: Session, *, hasher: PasswordHasher, username: str, display_name: str, role: str,
                password: str,
                review_unit_code: str | None = None, enterprise_id: int | None = None,
                email: str | None = None, unit_head: bool = False, allow_unbound: bool = False) -> User:
    """Create a user; a district officer needs a review unit, an applicant an enterprise
    (unless `allow_unbound`: then the applicant registers their enterprise after signing in)."""
    if role not in ROLES:
        raise InvalidInput("role", f"须为 {'、'.join(ROLE_NAMES.get(r, r) for r in ROLES)} 之一")
    if role == "district" and (not review_unit_code or session.get(ReviewUnit, review_unit_code) is None):
        raise InvalidInput("review_unit", "区县经办人必须绑定一个有效的审核单位")
    if role == "applicant" and (
            (enterprise_id is None and not allow_unbound)
            or (enterprise_id is not None and session.get(Enterprise, enterprise_id) is None)):
        raise InvalidInput("enterprise", "申报人必须绑定一家已登记的企业")
    check_new_password(password, username=username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username!r} 已被使用")
    user = User(username=username, display_name=display_name, role=role, email=email,
                password_hash=hasher.hash(password), review_unit_code=review_unit_code,
                enterprise_id=enterprise_id, active=True, unit_head=unit_head)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, *, hasher: PasswordHasher, password: str) -> None:
    """Give `user` a new password (checked as any new password). The caller ends the user's sessions
    (services.accounts.sessions.end_all) in the same transaction."""
    check_new_password(password, username=user.username)
    user.password_hash = hasher.hash(password)


def find_user(session: Session, username: str) -> User:
    """A user by name, active or not, or NotFound."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有用户名为 {username[:80]!r} 的账号")
    return user


#: accounts that are not people, as a message names them
NOT_PEOPLE = {"system": "系统"}


def person_name(session: Session, username: str | None) -> str:
    """Who an account is, as a message names them: the display name (`东湖区经办人`), never the username,
    which only the pages show, in a <code> beside the name; 系统 for the route itself."""
    if not username:
        return "—"
    if username in NOT_PEOPLE:
        return NOT_PEOPLE[username]
    name = session.scalar(select(User.display_name).where(User.username == username))
    return name or "其他用户"


def get_user(session: Session, username: str) -> User:
    """An active user by name, or NotFound."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise NotFound(f"没有用户名为 {username!r} 的在用账号")
    return user


def authenticate(session: Session, *, hasher: PasswordHasher, username: str, password: str) -> User | None:
    """The active user with this name and password, or None.

    An unknown or inactive username costs the same argon2 verification as a wrong password (against a
    dummy hash of the configured cost), so the answer's timing does not tell which usernames exist.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        with contextlib.suppress(VerifyMismatchError):
            hasher.verify(_dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism), password)
        return None
    return user if check_password(user, password) else None


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism).hash(
        "no such user: the dummy password of a timing-safe refusal")


def check_password(user: User, password: str) -> bool:
    try:
        return PasswordHasher().verify(user.password_hash, password)
    except VerifyMismatchError:
        return False
