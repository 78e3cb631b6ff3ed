"""Server-side sessions: a sign-in is a row, so ending it is deleting the row.

The browser's cookie carries a random token (signed by the web layer); only its SHA-256 is stored,
with the session's CSRF token and its expiry. Logout ends one session; a password change, a new
password set by an admin and deactivation end all of a user's sessions, so an old cookie is dead at
once and reactivating the user does not bring it back. Times are wall-clock (the caller passes the
real time, not a demo or test clock), so moving the demo clock neither ends nor prolongs a session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.db.models import User, UserSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    token: str  # for the cookie; never stored
    csrf: str
    expires_at: datetime


def start(session: Session, *, user: User, now: datetime, hours: int) -> Started:
    """A new session for `user`; expired sessions are removed on the way (those another transaction
    holds are skipped: PostgreSQL SKIP LOCKED, so this never waits), so the table holds live ones."""
    expired = select(UserSession.id).where(UserSession.expires_at <= now).limit(500)
    if session.get_bind().dialect.name == "postgresql":
        expired = expired.with_for_update(skip_locked=True)
    held = list(session.scalars(expired))  # first lock them (skipping held ones), then delete only these
    if held:
        session.execute(delete(UserSession).where(UserSession.id.in_(held)))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = now + timedelta(hours=hours)
    session.add(UserSession(user_id=user.id, token_sha256=_digest(token), csrf=csrf, created_at=now,
                            expires_at=expires))
    session.flush()
    return Started(token, csrf, expires)


def resolve(session: Session, token: str, now: datetime) -> tuple[User, str] | None:
    """The active user and the CSRF token of a live session, or None."""
    row = session.execute(select(User, UserSession.csrf).join(UserSession, UserSession.user_id == User.id)
                          .where(UserSession.token_sha256 == _digest(token), UserSession.expires_at > now)).first()
    if row is None or not row[0].active:
        return None
    return row[0], row[1]


def end(session: Session, token: str) -> None:
    """End one session (logout)."""
    session.execute(delete(UserSession).where(UserSession.token_sha256 == _digest(token)))


def end_all(session: Session, user_id: int) -> int:
    """End every session of a user; returns how many were live or expired."""
    return session.execute(delete(UserSession).where(UserSession.user_id == user_id)).rowcount or 0  # type: ignore[attr-defined]
