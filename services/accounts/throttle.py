"""Failed sign-ins counted per username and per client address, in the database (so every web
process of an install counts together); reaching the limit within the window locks that key.

A key is ``user:<name>`` or ``addr:<ip>``. The caller checks `locked_until` before verifying a
password (a locked key is refused even with the right password), records each failure on both keys,
and clears the username's count on success (not the address's: one good account must not reset an
address that is guessing others). Times are wall-clock (see services.accounts.sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.db.models import LoginThrottle


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    window: timedelta
    lockout: timedelta


def account_key(username: str) -> str:
    return "user:" + username.strip().lower()[:80]


def address_key(address: str | None) -> str:
    return "addr:" + (address or "unknown")[:100]


def locked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    """The end of the latest lock on any of `keys` that is still running, or None."""
    return session.scalar(select(LoginThrottle.locked_until).where(LoginThrottle.key.in_(keys),
                                                                   LoginThrottle.locked_until > now)
                          .order_by(LoginThrottle.locked_until.desc()).limit(1))


def record_failure(session: Session, key: str, *, limit: int, now: datetime, window: timedelta,
                   lockout: timedelta) -> datetime | None:
    """Count one failure of `key`; when it reaches `limit` within the window, lock the key and return
    the lock's end (a new lock, for the caller's audit event), else None. The key's row is locked for
    the count, so concurrent failures are all counted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(LoginThrottle).values(key=key, failures=0, window_started_at=now)
                    .on_conflict_do_nothing(index_elements=["key"]))
    row = session.scalars(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
                          .execution_options(populate_existing=True)).one()
    if row.window_started_at + window <= now:
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    if row.failures < limit:
        return None
    row.failures, row.window_started_at, row.locked_until = 0, now, now + lockout
    return row.locked_until


def prune(session: Session, *, now: datetime, window: timedelta, keep: list[str], batch: int = 500) -> None:
    """Forget keys whose window ran out and that are not locked, so the table holds about one window's
    failures. Called last in the failing sign-in's transaction; rows another transaction holds are
    skipped (PostgreSQL SKIP LOCKED), so pruning never waits and cannot deadlock with a count."""
    stale = (select(LoginThrottle.key)
             .where(LoginThrottle.key.not_in(keep), LoginThrottle.window_started_at <= now - window,
                    or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now))
             .limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    held = list(session.scalars(stale))  # first lock them (skipping held ones), then delete only these
    if held:
        session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(held)))


def clear(session: Session, key: str) -> None:
    """Forget a key's failures (a successful sign-in of that username)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
