"""Bearer tokens for API clients: issued per user, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models import ApiToken, User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, *, user: User, name: str, now: datetime) -> str:
    """Create a token for `user`; returns the plaintext (the only time it is seen)."""
    token = "smf_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name[:80] or "api", token_sha256=_digest(token), created_at=now,
                         revoked=False))
    session.flush()
    return token


def resolve(session: Session, token: str, now: datetime, *, record_use: bool = True) -> User | None:
    """The active user a token belongs to, or None.

    With `record_use` the token's `last_used_at` is set in the caller's transaction. The web layer
    asks for it on writes only: a read commits nothing, and the update would only hold a row lock on
    the token (serialising one client's concurrent reads) for nothing.
    """
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == _digest(token),
                                                 ApiToken.revoked.is_(False))).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if record_use:
        row.last_used_at = now
    return user
