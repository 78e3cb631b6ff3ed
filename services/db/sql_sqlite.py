"""SQLite SQL of the hot path, with the same interface as services.db.sql_postgresql (chosen per
session by services.db.dialect; the tests run on both).

SQLite runs every writing transaction under BEGIN IMMEDIATE (services.db.session), so writers are
already serialised and nothing needs a row lock: the chain head is read, the events hashed here (the
same bytes as the PostgreSQL statement hashes) and written with two statements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.dialects.sqlite import Insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.db.compiled import Prepared, announcer, compiled
from services.db.models import AuditEvent, AuditHead

_EVENT: Table = AuditEvent.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]


# SQLite runs every writing transaction under BEGIN IMMEDIATE: nothing else writes meanwhile, so the
# head is read without a lock, on the DBAPI cursor like the writes below (services.db.writes)
_HEAD_READ_SQL = "SELECT seq, hash FROM audit_head WHERE id = ?"
_HEAD_MOVE = _HEAD.update().where(_HEAD.c.id == bindparam("p_head")).values(seq=bindparam("p_seq"),
                                                                            hash=bindparam("p_hash"))
_EVENTS = insert(_EVENT)


def insert_ignoring(entity: Any, *keys: str) -> Insert:
    """INSERT that stores nothing (and raises nothing) when a row with the same `keys` exists."""
    return sqlite_insert(entity).on_conflict_do_nothing(index_elements=list(keys))


def append_chain(session: Session, head_id: int, bodies: Sequence[bytes], rows: Sequence[dict[str, Any]], *,
                 commit: bool = False, first: Any = None) -> None:
    """Append events (canonical JSON up to `"seq":`, and their columns) after the chain head, in order,
    after the prepared writes `first` (services.db.writes.Batch). (`commit` is for the PostgreSQL
    module's sake: here the caller's COMMIT follows as usual.)"""
    if first is not None:
        run_writes(session.connection().connection.driver_connection, first.writes, first.notify)
    conn = session.connection()
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        seq, prev = cursor.execute(_HEAD_READ_SQL, (head_id,)).fetchone()
    finally:
        cursor.close()
    out = []
    for body, row in zip(bodies, rows, strict=True):
        seq += 1
        digest = hashlib.sha256(prev.encode() + body + str(seq).encode() + b"}").hexdigest()
        out.append({**row, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    insert = compiled(_EVENTS, conn.dialect, tuple(sorted(out[0])))
    move = compiled(_HEAD_MOVE, conn.dialect)
    notify = announcer(conn)
    run_writes(driver, [Prepared(insert.sql, [insert.args(r) for r in out], True, False),
                        Prepared(move.sql, move.args({"p_head": head_id, "p_seq": seq, "p_hash": prev}), False, True)],
               notify)


def run_writes(driver: Any, writes: Sequence[Any], notify: Any) -> list[int]:
    """Run prepared writes (services.db.writes) one after another on the sqlite3 connection; the
    rows each changed. `notify(cursor, write, after)` tells the engine's listeners, if given."""
    cursor = driver.cursor()
    counts = []
    try:
        for w in writes:
            if notify is not None:
                notify(cursor, w, False)
            w.send(cursor)
            counts.append(cursor.rowcount)
            if notify is not None:
                notify(cursor, w, True)
    finally:
        cursor.close()
    return counts
