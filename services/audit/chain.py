"""The audit chain: one append-only, hash-chained event per state change.

Each event's hash covers its content and the previous event's hash, so altering, removing or
reordering any stored event breaks the chain from that point. Appends lock the single head row,
so concurrent writers queue instead of forking the chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models import AuditEvent, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys) used for hashing."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


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
           instance_id: int | None = None, application_id: int | None = None) -> AuditEvent:
    """Append one event in the caller's transaction."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    ).scalar_one()
    text = canonical(payload).decode()
    seq = head.seq + 1
    digest = event_hash(head.hash, seq=seq, at=at, actor=actor, kind=kind,
                        instance_id=instance_id, application_id=application_id, payload=text)
    event = AuditEvent(seq=seq, at=at, actor=actor, kind=kind, instance_id=instance_id,
                       application_id=application_id, payload=text, prev_hash=head.hash, hash=digest)
    session.add(event)
    head.seq, head.hash = seq, digest
    return event


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
