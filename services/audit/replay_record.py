"""The recorded history of one case, as replay and evidence bundles need it.

A `CaseRecord` holds what was stored about a case: its audit events (the commands that moved it),
the diagram(s) it ran on by content hash, the stored instance state, the work-item and timer rows
that mirror the state, the application's stage and payouts, and for each event the hash of the
event before it in the chain. It is loaded from the database (`load_case`) or from a bundle
(`record_from_json`), and replay works on it alone, so an offline check needs no database.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.audit import chain as audit
from services.db.models import Application, AuditEvent, Payout, ProcessDefinition, ProcessInstance, Timer, WorkItem
from services.errors import NotFound

# Events that change the stored engine state. A calendar.reload (services/time/reload.py) moves
# waiting timers; the replay counts deadlines with the calendar it is given (the site's, with the
# loaded year), so replaying it fires nothing and its state must match the stored one.
STATE_KINDS = ("case.start", "task.complete", "timer.fire", "calendar.reload")


@dataclass(frozen=True)
class EventRecord:
    seq: int
    at: datetime
    actor: str
    kind: str
    instance_id: int | None
    application_id: int | None
    payload: str
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The payload as a dict ({} when it is not a JSON object)."""
        try:
            value = orjson.loads(self.payload)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    def recomputed_hash(self) -> str:
        return audit.event_hash(self.prev_hash, seq=self.seq, at=self.at, actor=self.actor, kind=self.kind,
                                instance_id=self.instance_id, application_id=self.application_id,
                                payload=self.payload)


@dataclass(frozen=True)
class DefinitionRecord:
    hash: str
    process_id: str
    bpmn_xml: bytes
    dmn_xml: tuple[str, ...]

    def documents(self) -> dict[str, bytes]:
        """The documents in the form `Engine.route` takes (names as `routes.route_of` gives them)."""
        docs = {f"{self.process_id}.bpmn": self.bpmn_xml}
        docs.update({f"{self.process_id}-{i}.dmn": d.encode() for i, d in enumerate(self.dmn_xml)})
        return docs


@dataclass(frozen=True)
class InstanceRecord:
    id: int
    definition_hash: str
    state: bytes
    status: str
    version: int


@dataclass(frozen=True)
class WorkItemRecord:
    id: int
    task_id: str
    task_spec: str
    name: str
    status: str
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    outcome: str | None


@dataclass(frozen=True)
class TimerRecord:
    task_id: str
    event_spec: str
    due_at: datetime


@dataclass(frozen=True)
class CaseRecord:
    application_id: int
    instance_id: int | None
    events: tuple[EventRecord, ...]
    definitions: dict[str, DefinitionRecord]
    instance: InstanceRecord | None
    work_items: tuple[WorkItemRecord, ...]
    timers: tuple[TimerRecord, ...]
    application: dict[str, Any] | None
    payouts: tuple[dict[str, Any], ...]
    links: dict[int, str | None]  # seq -> hash of event seq-1 in the chain (None: that event is missing)
    # seq -> hash of the event at seq in the chain, when the events come from elsewhere (an archive bundle
    # checked against the live chain, or a bundle's chain proof); empty when they are the chain's own rows
    chain: dict[int, str | None] = field(default_factory=dict)


def _hashes(session: Session, seqs: Iterable[int]) -> dict[int, str]:
    """seq -> hash of those events of the chain that exist."""
    rows = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(list(seqs))))
    return {seq: digest for seq, digest in rows}


def _event(ev: AuditEvent) -> EventRecord:
    return EventRecord(ev.seq, ev.at, ev.actor, ev.kind, ev.instance_id, ev.application_id, ev.payload,
                       ev.prev_hash, ev.hash)


def case_event_rows(session: Session, application_id: int, instance_id: int | None) -> list[AuditEvent]:
    """The case's audit events in chain order: those naming the application or its instance."""
    condition = AuditEvent.application_id == application_id
    if instance_id is not None:
        condition = or_(condition, AuditEvent.instance_id == instance_id)
    return list(session.scalars(select(AuditEvent).where(condition).order_by(AuditEvent.seq)))


def _definitions(session: Session, events: list[EventRecord], inst: ProcessInstance | None) -> dict[str, Any]:
    hashes = {str(e.body().get("definition")) for e in events if e.kind == "case.start" and e.body().get("definition")}
    if inst is not None:
        hashes.add(inst.definition_hash)
    rows = session.scalars(select(ProcessDefinition).where(ProcessDefinition.hash.in_(hashes))).all()
    return {r.hash: DefinitionRecord(r.hash, r.process_id, bytes(r.bpmn_xml), tuple(r.dmn_xml or ())) for r in rows}


def chain_links(session: Session, seqs: list[int]) -> dict[int, str | None]:
    """For each seq, the hash of the event before it in the chain (GENESIS for the first)."""
    wanted = [s - 1 for s in seqs if s > 1]
    found = _hashes(session, wanted)
    return {s: (audit.GENESIS if s == 1 else found.get(s - 1)) for s in seqs}


def chain_hashes(session: Session, seqs: list[int]) -> dict[int, str | None]:
    """For each seq, the hash of the event the chain holds there (None when there is none)."""
    found = _hashes(session, seqs)
    return {s: found.get(s) for s in seqs}


def load_case(session: Session, application_id: int) -> CaseRecord:
    """Everything stored about a live case (read only). NotFound when there is no such application."""
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound(f"案件 #{application_id} 不存在")
    inst = session.get(ProcessInstance, app.instance_id) if app.instance_id is not None else None
    events = [_event(e) for e in case_event_rows(session, app.id, app.instance_id)]
    items = session.scalars(select(WorkItem).where(WorkItem.application_id == app.id).order_by(WorkItem.id)).all()
    timers = session.scalars(select(Timer).where(Timer.instance_id == inst.id).order_by(Timer.id)).all() if inst else []
    payouts = session.scalars(select(Payout).where(Payout.application_id == app.id)).all()
    return CaseRecord(
        application_id=app.id, instance_id=app.instance_id, events=tuple(events),
        definitions=_definitions(session, events, inst),
        instance=InstanceRecord(inst.id, inst.definition_hash, bytes(inst.state), inst.status, inst.version)
        if inst is not None else None,
        work_items=tuple(WorkItemRecord(w.id, w.task_id, w.task_spec, w.name, w.status, w.created_at, w.due_at,
                                        w.completed_at, w.completed_by, w.outcome) for w in items),
        timers=tuple(TimerRecord(t.task_id, t.event_spec, t.due_at) for t in timers),
        application={"status": app.status, "stage": app.stage, "stage_name": app.stage_name,
                     "awarded_fen": app.awarded_fen, "requested_fen": app.requested_fen,
                     "enterprise_id": app.enterprise_id, "award_type_code": app.award_type_code,
                     "review_unit_code": app.review_unit_code, "call_id": app.call_id,
                     "created_at": app.created_at.isoformat(), "updated_at": app.updated_at.isoformat()},
        payouts=tuple({"id": p.id, "amount_fen": p.amount_fen, "fund_id": p.fund_id, "reference": p.reference,
                       "paid_at": p.paid_at.isoformat(), "paid_by": p.paid_by} for p in payouts),
        links=chain_links(session, [e.seq for e in events]),
    )


# -- JSON form (bundles) -----------------------------------------------------------------------
def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _req_dt(value: Any) -> datetime:
    parsed = _parse_dt(value)
    if parsed is None:
        raise ValueError(f"expected a timestamp, got {value!r}")
    return parsed


def _pack(raw: bytes) -> dict[str, str]:
    """Bytes kept exactly: as text when they are UTF-8 (diagrams, states), else base64."""
    try:
        return {"utf8": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode()}


def _unpack(value: dict[str, str]) -> bytes:
    return value["utf8"].encode("utf-8") if "utf8" in value else base64.b64decode(value["base64"], validate=True)


def record_to_json(record: CaseRecord) -> dict[str, Any]:
    """A CaseRecord as JSON-ready data (bytes as UTF-8 text or base64, timestamps ISO 8601)."""
    return {
        "application_id": record.application_id, "instance_id": record.instance_id,
        "events": [{**asdict(e), "at": _dt(e.at)} for e in record.events],
        "definitions": {h: {"hash": d.hash, "process_id": d.process_id, "bpmn_xml": _pack(d.bpmn_xml),
                            "dmn_xml": list(d.dmn_xml)} for h, d in record.definitions.items()},
        "instance": None if record.instance is None else {
            "id": record.instance.id, "definition_hash": record.instance.definition_hash,
            "state": _pack(record.instance.state), "status": record.instance.status,
            "version": record.instance.version},
        "work_items": [{**asdict(w), "created_at": _dt(w.created_at), "due_at": _dt(w.due_at),
                        "completed_at": _dt(w.completed_at)} for w in record.work_items],
        "timers": [{**asdict(t), "due_at": _dt(t.due_at)} for t in record.timers],
        "application": record.application, "payouts": list(record.payouts),
        "links": {str(k): v for k, v in record.links.items()},
    }


def record_from_json(data: dict[str, Any]) -> CaseRecord:
    """The inverse of record_to_json (ValueError/KeyError/TypeError on a malformed document)."""
    inst = data["instance"]
    return CaseRecord(
        application_id=int(data["application_id"]), instance_id=data["instance_id"],
        events=tuple(EventRecord(**{**e, "at": _req_dt(e["at"])}) for e in data["events"]),
        definitions={h: DefinitionRecord(d["hash"], d["process_id"], _unpack(d["bpmn_xml"]),
                                         tuple(d["dmn_xml"])) for h, d in data["definitions"].items()},
        instance=None if inst is None else InstanceRecord(int(inst["id"]), inst["definition_hash"],
                                                          _unpack(inst["state"]), inst["status"],
                                                          int(inst["version"])),
        work_items=tuple(WorkItemRecord(**{**w, "created_at": _req_dt(w["created_at"]),
                                           "due_at": _parse_dt(w["due_at"]),
                                           "completed_at": _parse_dt(w["completed_at"])}) for w in data["work_items"]),
        timers=tuple(TimerRecord(t["task_id"], t["event_spec"], _req_dt(t["due_at"])) for t in data["timers"]),
        application=data["application"], payouts=tuple(data["payouts"]),
        links={int(k): v for k, v in data["links"].items()},
    )
