"""The queued audit events of a transaction, written last (services.audit.chain).

An event's hash is sha256(previous hash + canonical JSON of the event), and `seq` is the last key
of that JSON, so each event is sent as its JSON up to `"seq":`; the dialect's `append_chain`
(services.db.sql_postgresql, services.db.sql_sqlite) locks the head, numbers and hashes the events
onto it and writes them. Both give the bytes `chain.event_hash` defines (tests/audit/test_chain_write.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from services.db.dialect import sql
from services.db.writes import Batch

HEAD_ID = 1


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys) used for hashing."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class Pending:
    """One queued event: everything but its sequence number and hashes."""

    kind: str
    actor: str
    at: datetime
    payload: str
    instance_id: int | None
    application_id: int | None

    def body_prefix(self) -> bytes:
        """The event's canonical JSON up to (without) the value of `seq`, its last key."""
        body = canonical({"at": self.at.isoformat(), "actor": self.actor, "kind": self.kind,
                          "instance_id": self.instance_id, "application_id": self.application_id,
                          "payload": self.payload})
        return body[:-1] + b',"seq":'

    def row(self) -> dict[str, Any]:
        return {"at": self.at, "actor": self.actor, "kind": self.kind, "instance_id": self.instance_id,
                "application_id": self.application_id, "payload": self.payload}


def write(session: Session, events: list[Pending], *, commit: bool = False, first: Batch | None = None) -> None:
    """Append `events` to the chain, in order, in the session's transaction, after the writes of
    `first`; with `commit`, the dialect may commit the transaction with the append (PostgreSQL: the
    writes, the append and the COMMIT sent in one flight)."""
    if events:
        sql(session).append_chain(session, HEAD_ID, [e.body_prefix() for e in events], [e.row() for e in events],
                                  commit=commit, first=first)
