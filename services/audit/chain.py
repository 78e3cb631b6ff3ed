"""The audit chain: one append-only, hash-chained event per state change.

Each event's hash covers its content and the previous event's hash, so altering, removing or
reordering any stored event breaks the chain from that point. Appends lock the single head row,
so concurrent writers queue instead of forking the chain; to keep that queue short, `append` only
queues the event in the session, and the queue is written last, just before COMMIT, after every
other change of the transaction has been flushed (services.audit.chain_write). Anything that reads
the chain in the same transaction (an ORM query of audit_event or audit_head) gets the queue
written first, so it sees its own events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from services.audit.chain_write import HEAD_ID, Pending, canonical, write
from services.db import writes
from services.db.models import AuditEvent, AuditHead

GENESIS = "0" * 64




def event_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, kind: str,
               instance_id: int | None, application_id: int | None, payload: str) -> str:
    body = canonical({
        "seq": seq, "at": at.isoformat(), "actor": actor, "kind": kind,
        "instance_id": instance_id, "application_id": application_id, "payload": payload,
    })
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def ensure_head(session: Session) -> None:
    """Create the chain head row if the database has none."""
    if session.get(AuditHead, HEAD_ID) is None:
        session.add(AuditHead(id=HEAD_ID, seq=0, hash=GENESIS))
        session.flush()


def append(session: Session, *, kind: str, actor: str, at: datetime, payload: dict[str, Any],
           instance_id: int | None = None, application_id: int | None = None) -> None:
    """Append one event in the caller's transaction (queued; written, head locked, just before COMMIT)."""
    queue: list[Pending] | None = session.info.get(_QUEUE)
    if queue is None:
        queue = session.info[_QUEUE] = []
    queue.append(Pending(kind=kind, actor=actor, at=at, payload=canonical(payload).decode(),
                         instance_id=instance_id, application_id=application_id))


_QUEUE = "smeflow_audit_queue"
_CHAIN_MAPPERS = {AuditEvent.__mapper__, AuditHead.__mapper__}


def write_queued(session: Session, *, committing: bool = False) -> None:
    """Write the session's queued events now (after flushing its other changes). `committing`: the
    transaction commits right after, so the dialect may send the append and the COMMIT together,
    with the writes queued for the COMMIT (services.db.writes.at_commit) sent just before them."""
    queue = session.info.pop(_QUEUE, None)
    first = writes.take_at_commit(session) if committing else []
    if queue:
        session.flush()
        write(session, queue, commit=committing, first=writes.prepare(session, first) if first else None)
    elif first:
        session.flush()
        writes.run(session, first)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.get_nested_transaction() is None:  # a savepoint's release is not the end of the transaction
        write_queued(session, committing=True)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (queue already written) or rolled back: nothing stays queued
        session.info.pop(_QUEUE, None)
        writes.drop_at_commit(session)


@event.listens_for(Session, "do_orm_execute")
def _before_chain_read(state: ORMExecuteState) -> None:
    session = state.session
    if session.info.get(_QUEUE) and _CHAIN_MAPPERS.intersection(state.all_mappers):
        write_queued(session)
    pending = writes.pending_tables(session)
    if pending and pending.intersection(str(m.local_table) for m in state.all_mappers):
        writes.run(session, writes.take_at_commit(session))  # read what the transaction wrote


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str | None = None


def verify(session: Session, *, batch: int = 5000, since: tuple[int, str] | None = None) -> ChainReport:
    """Walk the whole chain; name the first broken link.

    With `since` = (seq, hash) of an event a full walk found intact, re-check that event's content
    and walk only the events after it (services.audit_status). Reads plain rows (not ORM objects):
    about twice the throughput over a long chain."""
    prev, expected_seq, checked = GENESIS, 1, 0
    columns = (AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.kind, AuditEvent.instance_id,
               AuditEvent.application_id, AuditEvent.payload, AuditEvent.prev_hash, AuditEvent.hash)
    query = select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    if since is not None and since[0] > 0:
        seq, known = since
        row = session.execute(select(*columns).where(AuditEvent.seq == seq)).first()
        if row is None:
            return ChainReport(False, seq - 1, seq, f"event {seq} is missing")
        digest = event_hash(row.prev_hash, seq=seq, at=row.at, actor=row.actor, kind=row.kind,
                            instance_id=row.instance_id, application_id=row.application_id, payload=row.payload)
        if digest != row.hash or row.hash != known:
            return ChainReport(False, seq - 1, seq, "its content does not match its hash (altered)")
        prev, expected_seq, checked = known, seq + 1, seq
        query = query.where(AuditEvent.seq > seq)
    for seq, at, actor, kind, instance_id, application_id, payload, prev_hash, stored in session.execute(query):
        if seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"event {expected_seq} is missing")
        if prev_hash != prev:
            return ChainReport(False, checked, seq, "its link to the previous event does not match")
        digest = event_hash(prev, seq=seq, at=at, actor=actor, kind=kind, instance_id=instance_id,
                            application_id=application_id, payload=payload)
        if digest != stored:
            return ChainReport(False, checked, seq, "its content does not match its hash (altered)")
        prev, expected_seq, checked = stored, expected_seq + 1, checked + 1
    head = session.get(AuditHead, HEAD_ID)
    if head is not None and (head.seq != checked or head.hash != prev):
        return ChainReport(False, checked, checked + 1, "events after the last one found were removed")
    return ChainReport(True, checked)
