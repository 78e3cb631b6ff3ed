"""Database engines and sessions. Nothing connects at import time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so a transaction really starts
        # at the first statement (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html).
        # A read-only transaction (execution option ``smeflow_read_only``) begins deferred: it takes
        # no write lock, so it never blocks a writer.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping (a round trip before every transaction): a connection found dropped by the first
    # statement of a transaction is replaced and the statement retried once (RetryingSession).
    return create_engine(url, **kwargs)


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get("smeflow_read_only")
    # on the sqlite3 connection itself: the statement needs none of SQLAlchemy's execution work
    conn.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")  # type: ignore[union-attr]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


_T = TypeVar("_T")


class RetryingSession(Session):
    """A session whose transaction survives a pooled connection that the server dropped meanwhile
    (restart, idle timeout): when the statement that begins a transaction fails because the
    connection is gone, nothing of the transaction has happened yet, so the session rolls back
    (SQLAlchemy has already discarded the dead connection and the pool's older ones) and runs the
    statement once more on a fresh connection. A connection lost later in a transaction is an error
    as before: what was done is rolled back and not repeated behind the caller's back."""

    def _execute_internal(self, *args: Any, **kwargs: Any) -> Any:
        return _retried(self, lambda: super(RetryingSession, self)._execute_internal(*args, **kwargs))


def core_execute(session: Session, statement: Executable, params: Mapping[str, Any]) -> CursorResult[Any]:
    """A Core statement on the session's connection, without the ORM's execution work (the hot path's
    reads), retried once like RetryingSession's when it begins the transaction on a dropped connection.
    What the caller changed in the session is flushed first, so the statement sees it (as the ORM's
    autoflush would)."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return _retried(session, lambda: session.connection().execute(statement, params))


def _retried(session: Session, run: Callable[[], _T]) -> _T:
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        return run()
    try:
        return run()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        session.rollback()
        return run()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=RetryingSession, expire_on_commit=False)
