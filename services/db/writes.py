"""The writes of a step, sent together: statements built once with SQLAlchemy Core, compiled once per
dialect, run on the session's own connection (so inside its transaction) by the dialect module's
`run_writes` (services.db.sql_postgresql sends them in one flight in psycopg's pipeline mode;
services.db.sql_sqlite runs them one after another on the sqlite3 cursor).

A step knows every write it will make once the engine has run, and needs nothing back from them but
whether the guarded ones (the work item still open, the state at the version read) changed exactly
one row. Sent this way they cost one round trip on PostgreSQL instead of one each, and skip the
per-statement work of SQLAlchemy's execution context (a cached compiled statement still builds
one); the SQL and the stored values are the ones SQLAlchemy's own execution gives: the bind
processors of the compiled statement convert each parameter (tests/integration/test_writes.py).

Event listeners on the engine (`before_cursor_execute`, `after_cursor_execute`) see these
statements as they see any other. A DBAPI error is raised as SQLAlchemy's exception of its kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable, Insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.db.compiled import Notify, Prepared, announcer, compiled
from services.db.dialect import sql


@dataclass(frozen=True)
class Write:
    """One statement with its parameters (a list: executemany); `one`: it must change exactly one row."""

    statement: Executable
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    one: bool = False


@dataclass(frozen=True)
class Batch:
    """Writes prepared for one session's connection, and who to tell about them (None: no listener)."""

    writes: list[Prepared]
    notify: Notify | None


def prepare(session: Session, writes: Sequence[Write]) -> Batch:
    """Compile (once per statement and dialect) and convert the parameters of `writes`."""
    conn: Connection = session.connection()
    dialect = conn.dialect
    prepared = []
    for w in writes:
        if isinstance(w.params, Mapping):
            keys = tuple(sorted(w.params)) if isinstance(w.statement, Insert) else ()
            c = compiled(w.statement, dialect, keys)
            prepared.append(Prepared(c.sql, c.args(w.params), False, w.one))
        else:
            rows = list(w.params)
            keys = tuple(sorted(rows[0])) if isinstance(w.statement, Insert) else ()
            c = compiled(w.statement, dialect, keys)
            prepared.append(Prepared(c.sql, [c.args(r) for r in rows], True, w.one))
    return Batch(prepared, announcer(conn))


def run(session: Session, writes: Sequence[Write]) -> int | None:
    """Run `writes` in order in the session's transaction; the index of the first `one` write that
    did not change exactly one row (the caller rolls back and refuses), or None."""
    if not writes:
        return None
    batch = prepare(session, writes)
    conn = session.connection()
    dialect = conn.dialect
    try:
        counts = sql(session).run_writes(conn.connection.driver_connection, batch.writes, batch.notify)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(batch.writes[0].sql, None, exc, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from exc
    return next((i for i, (p, n) in enumerate(zip(batch.writes, counts, strict=True)) if p.one and n != 1), None)


# -- writes sent with the COMMIT -----------------------------------------------------------
# A write nothing in the transaction reads back (the notice a step queues for the applicant: an
# INSERT ... ON CONFLICT DO NOTHING) may wait for the COMMIT: the session's before_commit sends it
# with the audit chain's append (services.audit.chain), on PostgreSQL in the same flight, so it
# costs no round trip of its own. An ORM read of its table in the same transaction sends it first.
_AT_COMMIT = "smeflow_writes_at_commit"


def at_commit(session: Session, write: Write) -> None:
    """Queue `write` to be sent with the transaction's COMMIT (dropped if it rolls back)."""
    session.info.setdefault(_AT_COMMIT, []).append(write)


def take_at_commit(session: Session) -> list[Write]:
    """The writes queued for the COMMIT, now the caller's to send."""
    queued: list[Write] = session.info.pop(_AT_COMMIT, [])
    return queued


def pending_tables(session: Session) -> set[str]:
    """The tables the writes queued for the COMMIT go to."""
    return {str(getattr(w.statement, "table", "")) for w in session.info.get(_AT_COMMIT, [])}


def drop_at_commit(session: Session) -> None:
    session.info.pop(_AT_COMMIT, None)
