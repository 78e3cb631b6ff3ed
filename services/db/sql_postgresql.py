"""PostgreSQL-only SQL of the hot path, with the same interface as services.db.sql_sqlite (chosen per
session by services.db.dialect; the tests run on both).

- `insert_ignoring`: INSERT ... ON CONFLICT (key) DO NOTHING, so a duplicate is decided by the
  constraint in the one statement (no read before, no savepoint).
- `run_writes`: a step's writes (services.db.writes) sent in one flight in psycopg's pipeline mode.
- `append_chain`: the audit chain append of a step in one statement: lock the head row, hash each
  event onto the previous hash in the database (sha256 of the previous hash's text and the event's canonical
  JSON, whose last key is `seq`: the caller sends the JSON up to `"seq":` and the statement closes
  it with the sequence number and `}`), insert the events and move the head. A bulk transaction's
  many events (more than ONE_STATEMENT_MAX) are hashed in Python after locking the head instead.
  Sent with the COMMIT, the head is released before the WAL flush (see _EARLY_RELEASE below).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Executable,
    LargeBinary,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session

from services.db.compiled import Prepared, announcer, compiled
from services.db.models import AuditEvent, AuditHead

_EVENT: Table = AuditEvent.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_COLUMNS = ("at", "actor", "kind", "instance_id", "application_id", "payload")


def insert_ignoring(entity: Any, *keys: str) -> Insert:
    """INSERT that stores nothing (and raises nothing) when a row with the same `keys` exists."""
    return insert(entity).on_conflict_do_nothing(index_elements=list(keys))


# Up to this many events (a step writes one to three) go in the one statement; a bulk transaction's
# many events lock the head, are hashed here and inserted in one executemany.
ONE_STATEMENT_MAX = 4


def append_chain(session: Session, head_id: int, bodies: Sequence[bytes], rows: Sequence[dict[str, Any]], *,
                 commit: bool = False, first: Any = None) -> None:
    """Append events (canonical JSON up to `"seq":`, and their columns) after the chain head, in order.

    With `commit` (the transaction commits right after: the session's before_commit), the statement
    and the COMMIT are sent together in psycopg's pipeline mode (_commit_flight), so the head row is
    locked for the statement and the commit only, not for a round trip back to this process in
    between; the session's own COMMIT that follows finds the transaction already committed and does
    nothing. The prepared writes `first` (services.db.writes.Batch) go first, in the same flight."""
    driver: Any = session.connection().connection.driver_connection
    if first is not None and (not commit or len(rows) > ONE_STATEMENT_MAX):
        run_writes(driver, first.writes, first.notify)
        first = None
    if len(rows) > ONE_STATEMENT_MAX:
        _append_many(session, head_id, bodies, rows)
        return
    params: dict[str, Any] = {"close": b"}"}
    for i, (body, row) in enumerate(zip(bodies, rows, strict=True)):
        params[f"b{i}"] = body
        params.update({f"{name}{i}": row[name] for name in _COLUMNS})
    statement = _statement(head_id, len(rows))
    if not commit:
        session.connection().execute(statement, params)
        return
    _commit_flight(session, driver, statement, params, first)


def _commit_flight(session: Session, driver: Any, statement: Executable, params: dict[str, Any], first: Any) -> None:
    """One flight in psycopg's pipeline mode, nothing waiting in between: the early release, the
    prepared writes `first`, the append, the COMMIT and the durable barrier (below). Each on its own
    cursor; the engine's cursor listeners are told of the writes and the append. With HOLDS set (the
    benchmark) the append also returns the server's clock and the barrier reads it again."""
    holds = HOLDS
    if holds is not None:
        statement = _timed(statement)
    c = compiled(statement, session.get_bind().dialect)
    append = Prepared(c.sql, c.args(params), many=False, one=False)
    notify = first.notify if first is not None else announcer(session.connection())
    writes = [*(first.writes if first is not None else ()), append]
    cursors: list[Any] = []
    around: list[Any] = []
    try:
        with driver.pipeline():
            around.append(_command(driver, _EARLY_RELEASE))
            cursors = _send(driver, writes, notify)
            around.append(_command(driver, "COMMIT"))
            around.append(_command(driver, _CLOCKED_DURABLE if holds is not None else _DURABLE))
        _done(cursors, writes, notify)
        if holds is not None:
            (started, updated), (released, _) = cursors[-1].fetchone(), around[-1].fetchone()
            holds.append(((released - updated).total_seconds() * 1000, (released - started).total_seconds() * 1000))
    finally:
        for cursor in (*cursors, *around):
            cursor.close()


# Early lock release. The commit that ends an append releases the head row at once, without waiting
# for its WAL record to reach the disk (synchronous_commit off for this transaction only): that
# wait, a WAL flush shared with every concurrent committer, was most of the time the head was held.
# The same flight then runs one more tiny transaction at the session's own synchronous_commit, which
# writes a WAL record (a logical-decoding message, ignored unless a decoder asks for its prefix; a
# transaction that writes no WAL commits without a flush): its commit record lies after the step's,
# so when it returns the step is on disk (and on a synchronous standby, if one is configured) before
# the caller hears of it. A crash in between loses the step as a crash before its COMMIT would: the
# WAL is replayed in order, so nothing committed after it (the next append, the mail dispatcher's
# claim) survives without it. Another session may read the step in that window (well under a
# millisecond); the mail dispatcher's claim commits, and so flushes the step, before any mail is sent.
_EARLY_RELEASE = "SET LOCAL synchronous_commit = off"
_DURABLE = "SELECT pg_logical_emit_message(true, 'smeflow.durable', '')"
_CLOCKED_DURABLE = "SELECT clock_timestamp(), pg_logical_emit_message(true, 'smeflow.durable', '')"


def _command(driver: Any, sql: str) -> Any:
    """Queue a parameterless statement on its own cursor (pipeline mode: nothing waits)."""
    cursor = driver.cursor()
    cursor.execute(sql)
    return cursor


# Set to a list by the route benchmark (benchmarks/route_worker.py) to learn how long each committed
# append held the head, by the server's clock: (from the head's update to the end of COMMIT, from
# the statement's start to the end of COMMIT) in ms, the end of COMMIT read by the statement that
# follows it in the flight (the durable barrier; so a little after the head was released). The
# first misses the moments between taking the lock and updating the row (hashing and inserting the
# events, inside the one statement); the second adds any wait for the lock. None (the default, and
# in service): nothing is measured.
HOLDS: list[tuple[float, float]] | None = None
_TIMED: dict[int, Executable] = {}


def _timed(statement: Executable) -> Executable:
    """The append returning the statement's start and the time of the head's update (built once)."""
    timed: Any = _TIMED.get(id(statement))
    if timed is None:
        timed = _TIMED[id(statement)] = statement.returning(  # type: ignore[attr-defined]
            func.statement_timestamp(), func.clock_timestamp())
    return timed


_HEAD_LOCK = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == bindparam("p_head")).with_for_update()
_HEAD_MOVE = _HEAD.update().where(_HEAD.c.id == bindparam("p_head")).values(seq=bindparam("p_seq"),
                                                                            hash=bindparam("p_hash"))
_EVENTS = insert(_EVENT)


def _append_many(session: Session, head_id: int, bodies: Sequence[bytes], rows: Sequence[dict[str, Any]]) -> None:
    head = session.connection().execute(_HEAD_LOCK, {"p_head": head_id}).one()
    seq, prev = head.seq, head.hash
    out = []
    for body, row in zip(bodies, rows, strict=True):
        seq += 1
        digest = hashlib.sha256(prev.encode() + body + str(seq).encode() + b"}").hexdigest()
        out.append({**row, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    session.connection().execute(_EVENTS, out)
    session.connection().execute(_HEAD_MOVE, {"p_head": head_id, "p_seq": seq, "p_hash": prev})


_STATEMENTS: dict[tuple[int, int], Executable] = {}


def _statement(head_id: int, n: int) -> Executable:
    """Built once per event count, so SQLAlchemy's compiled cache serves every later use."""
    statement = _STATEMENTS.get((head_id, n))
    if statement is not None:
        return statement
    utf8: Any = literal_column("'UTF8'")
    close = bindparam("close", type_=LargeBinary)
    links = [select(_HEAD.c.seq.label("seq"), _HEAD.c.hash.label("hash"))
             .where(_HEAD.c.id == head_id).with_for_update().cte("h0")]
    for i in range(n):
        prev = links[-1]
        seq = prev.c.seq + 1
        data = (func.convert_to(prev.c.hash, utf8).op("||")(bindparam(f"b{i}", type_=LargeBinary))
                .op("||")(func.convert_to(cast(seq, Text), utf8)).op("||")(close))
        digest = func.encode(func.sha256(data), literal_column("'hex'"))
        links.append(select(seq.label("seq"), prev.c.hash.label("prev"), digest.label("hash")).cte(f"e{i + 1}"))
    rows = [select(link.c.seq, *(bindparam(f"{name}{i}", type_=_EVENT.c[name].type) for name in _COLUMNS),
                   link.c.prev, link.c.hash)
            for i, link in enumerate(links[1:])]
    columns = ["seq", *_COLUMNS, "prev_hash", "hash"]
    inserted = insert(_EVENT).from_select(columns, rows[0] if n == 1 else union_all(*rows)).cte("ins")
    last = links[-1]
    # The head row is matched by its key only: under READ COMMITTED a condition on its old values would
    # be checked against the statement's snapshot, which a concurrent append may have made stale; the
    # new values come from the chain computed on the row as locked by h0.
    statement = (_HEAD.update().where(_HEAD.c.id == head_id)
                 .values(seq=select(last.c.seq).scalar_subquery(), hash=select(last.c.hash).scalar_subquery())
                 .add_cte(inserted))
    _STATEMENTS[(head_id, n)] = statement
    return statement


def run_writes(driver: Any, writes: Sequence[Any], notify: Any) -> list[int]:
    """Send prepared writes (services.db.writes) in one flight (psycopg's pipeline mode), each on
    its own cursor so each keeps its row count; the rows each changed. `notify(cursor, write,
    after)` tells the engine's listeners, if given."""
    cursors: list[Any] = []
    try:
        with driver.pipeline():
            cursors = _send(driver, writes, notify)
        _done(cursors, writes, notify)
        return [c.rowcount for c in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def _send(driver: Any, writes: Sequence[Any], notify: Any) -> list[Any]:
    """Queue each write on its own cursor (in pipeline mode: nothing waits for an answer)."""
    cursors = []
    for w in writes:
        cursor = driver.cursor()
        cursors.append(cursor)
        if notify is not None:
            notify(cursor, w, False)
        w.send(cursor)
    return cursors


def _done(cursors: list[Any], writes: Sequence[Any], notify: Any) -> None:
    """Tell the listeners the writes ran."""
    if notify is not None:
        for cursor, w in zip(cursors, writes, strict=True):
            notify(cursor, w, True)
