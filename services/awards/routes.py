"""Process definitions: stored by content hash; an instance keeps the hash it started with."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select, true, update
from sqlalchemy.orm import Session

import bpmn
from services.db.models import ProcessDefinition
from services.db.session import core_execute
from services.engine.runtime import Engine, Route, content_hash
from services.errors import NotFound

BUNDLED_DIR = Path(bpmn.__file__).resolve().parent


def bundled_documents(directory: Path = BUNDLED_DIR) -> dict[str, dict[str, bytes]]:
    """The shipped diagrams, one document set per BPMN file (DMN files go with every set)."""
    dmn = {p.name: p.read_bytes() for p in sorted(directory.glob("*.dmn"))}
    return {p.name: {p.name: p.read_bytes(), **dmn} for p in sorted(directory.glob("*.bpmn"))}


def install(session: Session, engine: Engine, docs: dict[str, bytes], *, source_name: str,
            now: datetime) -> ProcessDefinition:
    """Validate and store a diagram version; it becomes the current version of its process.

    Raises DiagramInvalid (and stores nothing) when the diagram does not validate.
    """
    route = engine.route(docs)
    row = session.get(ProcessDefinition, route.hash)
    if row is None:
        bpmn = [v for k, v in docs.items() if not k.endswith(".dmn")]
        row = ProcessDefinition(hash=route.hash, process_id=route.process_id, source_name=source_name,
                                bpmn_xml=bpmn[0], dmn_xml=[v.decode() for k, v in docs.items() if k.endswith(".dmn")],
                                created_at=now, current=True)
        session.add(row)
    session.execute(update(ProcessDefinition)
                    .where(ProcessDefinition.process_id == route.process_id, ProcessDefinition.hash != route.hash)
                    .values(current=False))
    row.current = True
    session.flush()
    return row


_PD = ProcessDefinition.__table__
_CURRENT_HASH = select(_PD.c.hash).where(_PD.c.process_id == bindparam("p_process"), _PD.c.current.is_(true()))


def current_route(session: Session, engine: Engine, process_id: str) -> Route:
    """The current version of a process, parsed (cached by hash in the engine: then only the current
    version's hash is read, not its documents)."""
    digest = core_execute(session, _CURRENT_HASH, {"p_process": process_id}).scalar()
    cached = engine.cached_route(digest, process_id) if digest is not None else None
    if cached is not None:
        return cached
    row = session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.process_id == process_id, ProcessDefinition.current.is_(True))).first()
    if row is None:
        raise NotFound(f"流程 {process_id} 尚未安装流程图，请先运行 smeflow init")
    return route_of(engine, row)


def route_of(engine: Engine, row: ProcessDefinition) -> Route:
    """The parsed route of a stored definition, checked against its hash."""
    docs = {f"{row.process_id}.bpmn": row.bpmn_xml}
    docs.update({f"{row.process_id}-{i}.dmn": d.encode() for i, d in enumerate(row.dmn_xml)})
    if content_hash(docs) != row.hash:
        raise NotFound(f"已存流程图 {row.hash[:12]} 与其哈希不符")
    return engine.route(docs, row.process_id)
