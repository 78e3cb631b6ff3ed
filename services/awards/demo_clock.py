"""The demo's clock: `smeflow demo` sets it inside the 2022 edition's term, an admin moves it forward
from a page (for example to the end of a public notice). It exists only in demo mode: in development
or test, once the demo stored it (see services.bootstrap.build); every process reads the same row.

Moving it is forward only (the audit chain and the deadlines assume time does not run backwards) and
writes an audit event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.access import require_role
from services.audit import chain as audit
from services.db.models import Timer, User
from services.db.models_round import DemoClockRow
from services.errors import InvalidInput

MAX_JUMP = timedelta(days=3 * 366)  # a demo never needs to leap further than the edition's term


def store(session: Session, *, demo_at: datetime, wall: datetime, actor: str) -> None:
    """Store the demo time (``demo_at`` holds from the wall-clock moment ``wall`` on)."""
    row = session.get(DemoClockRow, 1)
    if row is None:
        session.add(DemoClockRow(id=1, demo_at=demo_at, set_at=wall, set_by=actor))
    else:
        row.demo_at, row.set_at, row.set_by = demo_at, wall, actor
    session.flush()


def move(session: Session, *, user: User, to: datetime, current: datetime, wall: datetime) -> datetime:
    """Move the demo clock forward to ``to``; refused backwards or more than three years ahead."""
    require_role(user, "admin")
    if session.get(DemoClockRow, 1) is None:
        raise InvalidInput("demo_clock", "演示时钟只在演示环境中存在（先运行 smeflow demo）")
    if to.tzinfo is None:
        raise InvalidInput("to", "须带时区的时间")
    if to <= current:
        raise InvalidInput("to", "演示时钟只能向前拨，不能回拨")
    if to - current > MAX_JUMP:
        raise InvalidInput("to", "一次最多向前拨三年")
    store(session, demo_at=to, wall=wall, actor=user.username)
    audit.append(session, kind="demo_clock.move", actor=user.username, at=to,
                 payload={"from": current.isoformat(), "to": to.isoformat()})
    return to


def next_due(session: Session, after: datetime) -> datetime | None:
    """The next time a timer of a case fires (a public notice ends, a deadline passes), if any."""
    return session.scalar(select(func.min(Timer.due_at)).where(Timer.due_at > after))
