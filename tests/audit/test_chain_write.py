"""The chain is written last in a transaction, with the bytes `event_hash` defines, on both databases:
the head row is locked only for the append and the commit."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text

from services.audit import chain as audit
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import AuditEvent, AuditHead
from tests.conftest import requires_postgres
from tests.helpers import act, apply_for, open_item

AT = datetime(2024, 6, 3, 1, 2, 3, 456789, tzinfo=UTC)


def test_events_written_at_commit_hash_as_event_hash_defines(services: Services) -> None:
    payloads: list[dict[str, Any]] = [{"名称": "南昌精工", "amount_fen": 300_000_00}, {"quote": "\"\\\n"}, {}]
    with services.uow() as uow:
        head = uow.session.get_one(AuditHead, audit.HEAD_ID)
        seq, prev = head.seq, head.hash
    with services.uow() as uow:  # three events in one transaction, one with no case
        audit.append(uow.session, kind="test.one", actor="张三", at=AT, payload=payloads[0], instance_id=7,
                     application_id=8)
        audit.append(uow.session, kind="test.two", actor="bureau", at=AT, payload=payloads[1])
        audit.append(uow.session, kind="test.three", actor="bureau", at=AT, payload=payloads[2], instance_id=1)
        uow.commit()
    with services.uow() as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)).all()
        head = uow.session.get_one(AuditHead, audit.HEAD_ID)
        assert audit.verify(uow.session).ok
    assert [e.kind for e in events] == ["test.one", "test.two", "test.three"]
    for event_row, payload in zip(events, payloads, strict=True):
        seq += 1
        expected = audit.event_hash(prev, seq=seq, at=AT, actor=event_row.actor, kind=event_row.kind,
                                    instance_id=event_row.instance_id, application_id=event_row.application_id,
                                    payload=audit.canonical(payload).decode())
        assert (event_row.seq, event_row.prev_hash, event_row.hash, event_row.at) == (seq, prev, expected, AT)
        prev = expected
    assert (head.seq, head.hash) == (seq, prev)


def test_many_events_in_one_transaction_chain_in_order(services: Services) -> None:
    """A bulk transaction (a list import, a policy load) appends hundreds of events at once."""
    with services.uow() as uow:
        seq = uow.session.get_one(AuditHead, audit.HEAD_ID).seq
    with services.uow() as uow:
        for i in range(300):
            audit.append(uow.session, kind="test.bulk", actor="bureau", at=AT, payload={"i": i})
        uow.commit()
    with services.uow() as uow:
        payloads = uow.session.scalars(select(AuditEvent.payload).where(AuditEvent.seq > seq)
                                       .order_by(AuditEvent.seq)).all()
        assert payloads == [audit.canonical({"i": i}).decode() for i in range(300)]
        assert uow.session.get_one(AuditHead, audit.HEAD_ID).seq == seq + 300
        assert audit.verify(uow.session).ok


def test_a_rolled_back_transaction_appends_nothing_and_a_read_sees_its_own_events(services: Services) -> None:
    with services.uow() as uow:
        before = uow.session.get_one(AuditHead, audit.HEAD_ID).seq
    with services.uow() as uow:  # left without commit
        audit.append(uow.session, kind="test.lost", actor="bureau", at=AT, payload={})
    with services.uow() as uow:
        audit.append(uow.session, kind="test.seen", actor="bureau", at=AT, payload={})
        kinds = uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.seq > before)).all()
        assert kinds == ["test.seen"]  # a read of the chain in the transaction gets the queue written first
        uow.commit()
    with services.uow() as uow:
        assert uow.session.get_one(AuditHead, audit.HEAD_ID).seq == before + 1
        assert audit.verify(uow.session).ok


def test_a_step_locks_the_head_last_and_every_write_changes_a_row(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    act(services, app_id, "district-donghu", "approve")  # warms the workflow cache
    item = open_item(services, app_id)
    sent: list[tuple[str, int]] = []

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        # (a cursor counts the rows of an INSERT ... RETURNING only once they are fetched: not checked)
        sent.append((statement.split(None, 1)[0].upper() + (" audit_head" if "audit_head" in statement else ""),
                     1 if "RETURNING" in statement else cursor.rowcount))

    event.listen(services.db, "after_cursor_execute", after)
    event.listen(services.db, "commit", lambda _conn: sent.append(("COMMIT", 0)))
    try:
        act(services, app_id, "bureau", "approve", amount_fen=100_000_00, item_id=item.id)
    finally:
        event.remove(services.db, "after_cursor_execute", after)
    statements = [s for s, _ in sent if s not in {"BEGIN"}]
    # one read, then the writes, the chain last, then COMMIT
    assert statements[0] == "SELECT" and "SELECT" not in statements[1:-3], statements
    head = next(i for i, s in enumerate(statements) if "audit_head" in s)
    assert statements[-1] == "COMMIT" and head >= len(statements) - 4, statements
    assert all(n >= 1 for s, n in sent if s.startswith(("UPDATE", "DELETE", "INSERT"))), str(sent)


def test_an_append_that_waited_for_the_head_chains_onto_the_new_head(services: Services) -> None:
    """Two transactions append at once: the second waits for the head, then numbers and hashes its
    event after the first one's and moves the head (a regression: the head once stayed behind)."""
    with services.uow() as uow:
        seq = uow.session.get_one(AuditHead, audit.HEAD_ID).seq
    first = services.uow()
    with first as uow:
        audit.append(uow.session, kind="test.first", actor="bureau", at=AT, payload={})
        audit.write_queued(uow.session)  # holds the head (PostgreSQL: the row lock; SQLite: the write lock)

        def second() -> None:
            with services.uow() as other:
                audit.append(other.session, kind="test.second", actor="bureau", at=AT, payload={})
                other.commit()

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # waiting for the head
        uow.commit()
    thread.join(timeout=30)
    with services.uow() as uow:
        head = uow.session.get_one(AuditHead, audit.HEAD_ID)
        kinds = uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))
        assert list(kinds) == ["test.first", "test.second"] and head.seq == seq + 2
        assert audit.verify(uow.session).ok


@requires_postgres()
def test_commit_returns_only_once_the_step_is_on_disk(services: Services) -> None:
    """The append's transaction commits without waiting for its WAL flush, so the head row is free at
    once; the commit must still return only when the step's commit record is on disk. Read from the
    WAL itself (pg_walinspect lists only what has been flushed): the step's commit record lies at or
    before the flush position read the moment the commit returned."""
    with services.db.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA public"))
        start = conn.scalar(text("SELECT pg_current_wal_insert_lsn()"))
    with services.uow() as uow:
        audit.append(uow.session, kind="test.durable", actor="bureau", at=AT, payload={"n": 1})
        uow.commit()
    with services.db.connect() as conn:
        flushed = conn.scalar(text("SELECT pg_current_wal_flush_lsn()"))
        assert conn.scalar(text("SELECT CAST(:end AS pg_lsn) >= CAST(:start AS pg_lsn)"),
                           {"start": start, "end": flushed}), "the WAL was not flushed past the step"
        xid = conn.scalar(text("SELECT xmin::text FROM audit_event WHERE kind = 'test.durable'"))
        records = conn.execute(text(
            "SELECT record_type FROM public.pg_get_wal_records_info(CAST(:start AS pg_lsn), CAST(:end AS pg_lsn))"
            " WHERE resource_manager = 'Transaction' AND xid = CAST(:xid AS xid)"),
            {"start": start, "end": flushed, "xid": xid}).scalars().all()
    assert records == ["COMMIT"], f"the commit record of transaction {xid} is not flushed by {flushed}"
