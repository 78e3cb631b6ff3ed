"""Sign-in records: server-side sessions and the failed sign-in counters (issue 12)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

__all__ = ["LoginThrottle", "UserSession"]

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
_Id = BigInteger().with_variant(Integer(), "sqlite")


class UserSession(Base):
    """One signed-in browser. The cookie carries a random token (signed); only its SHA-256 is stored.
    Deleting the row ends the session at once (logout, password change, deactivation)."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed sign-ins of one key (``user:<name>`` or ``addr:<ip>``) in the current window, and the lock."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
