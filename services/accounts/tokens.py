"""Bearer tokens for API clients: issued per user, shown once, stored as SHA-256, each with an expiry;
listed and revoked by their owner or an admin. Times are wall-clock (see services.accounts.sessions)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models import ApiToken, User
from services.errors import InvalidInput, NotFound


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, *, user: User, name: str, now: datetime, days: int,
          max_days: int) -> tuple[str, ApiToken]:
    """Create a token for `user` valid `days` (at most `max_days`); returns the plaintext (the only time
    it is seen) and the stored row."""
    if not 1 <= days <= max_days:
        raise InvalidInput("days", f"令牌有效期为 1 至 {max_days} 天")
    token = "smf_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:80] or "api", token_sha256=_digest(token), created_at=now,
                   expires_at=now + timedelta(days=days), revoked=False)
    session.add(row)
    session.flush()
    return token, row


def resolve(session: Session, token: str, now: datetime, *, record_use: bool = True) -> User | None:
    """The active user a live (unrevoked, unexpired) token belongs to, or None.

    With `record_use` the token's `last_used_at` is set in the caller's transaction. The web layer
    asks for it on writes only: a read commits nothing, and the update would only hold a row lock on
    the token (serialising one client's concurrent reads) for nothing.
    """
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == _digest(token),
                                                 ApiToken.revoked.is_(False), ApiToken.expires_at > now)).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if record_use:
        row.last_used_at = now
    return user


def listed(session: Session, *, user: User, owner: User) -> list[ApiToken]:
    """`owner`'s tokens, newest first: for the owner themself or an admin (others: NotFound)."""
    if owner.id != user.id and user.role != "admin":
        raise NotFound(f"没有用户名为 {owner.username!r} 的账号")
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke(session: Session, *, user: User, token_id: int) -> ApiToken:
    """Revoke a token of `user`'s own, or any token when `user` is an admin; NotFound otherwise (ids
    of other users' tokens cannot be probed). Revoking a revoked token changes nothing."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role != "admin"):
        raise NotFound(f"token {token_id} not found")
    row.revoked = True
    session.flush()
    return row
