"""Diagram versions: list them per process, and upload a new one (an admin command).

An upload is validated exactly as `smeflow bpmn validate` does; a rejected upload raises
DiagramInvalid with every problem (file, line, element id) and stores nothing. An accepted one is
stored by its content hash and becomes the current version of its process for new cases; running
cases keep the definition hash they started with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.audit import chain as audit
from services.awards import routes
from services.awards.admin import require_admin
from services.db.models import ProcessDefinition, ProcessInstance, User
from services.engine.names import process_name
from services.engine.runtime import Engine, content_hash
from services.engine.validate import DiagramInvalid, Problem, validate_documents
from services.errors import Conflict, InvalidInput, NotFound

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class DiagramVersion:
    hash: str
    process_id: str
    process_name: str
    source_name: str
    created_at: datetime
    current: bool
    running: int  # instances of this version still running
    total: int  # instances ever started on this version


@dataclass(frozen=True)
class Installed:
    definition: ProcessDefinition
    previous: str | None  # hash of the version that was current before
    warnings: list[Problem]


def versions(session: Session, *, user: User) -> list[DiagramVersion]:
    """Every stored diagram version, per process, newest first, with how many cases run on it."""
    require_admin(user)
    counts = {(h, s): n for h, s, n in session.execute(
        select(ProcessInstance.definition_hash, ProcessInstance.status, func.count())
        .group_by(ProcessInstance.definition_hash, ProcessInstance.status))}
    rows = session.scalars(select(ProcessDefinition).order_by(
        ProcessDefinition.process_id, ProcessDefinition.created_at.desc(), ProcessDefinition.hash))
    return [DiagramVersion(d.hash, d.process_id, process_name(d.bpmn_xml, d.process_id), d.source_name, d.created_at,
                           d.current,
                           counts.get((d.hash, "running"), 0),
                           sum(n for (h, _s), n in counts.items() if h == d.hash)) for d in rows]


def definition(session: Session, *, user: User, digest: str) -> ProcessDefinition:
    """One stored version by its hash."""
    require_admin(user)
    row = session.get(ProcessDefinition, digest)
    if row is None:
        raise NotFound(f"流程图版本 {digest[:12]} 不存在")
    return row


def clean_filename(name: str) -> str:
    """A file name safe to show and store: the base name, odd characters replaced."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return (_UNSAFE_NAME.sub("_", base) or "upload.bpmn")[:200]


def upload(session: Session, engine: Engine, *, user: User, filename: str, content: bytes,
           now: datetime) -> Installed:
    """Validate and install an uploaded .bpmn as the current version of its process.

    Raises InvalidInput for a wrong file (type, size) and DiagramInvalid listing every problem when
    the diagram does not validate; either way nothing is stored and no audit event is written.
    """
    require_admin(user)
    name = clean_filename(filename)
    if not name.lower().endswith(".bpmn"):
        raise InvalidInput("file", "请上传 .bpmn 文件（BPMN 2.0 XML）")
    if not content:
        raise InvalidInput("file", "文件为空")
    if len(content) > MAX_DIAGRAM_BYTES:
        raise InvalidInput("file", f"文件超过 {MAX_DIAGRAM_BYTES // (1024 * 1024)} MB 上限")
    docs = {name: content}
    problems = validate_documents(docs)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DiagramInvalid(errors)
    previous_current = {d.process_id: d.hash for d in session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.current.is_(True)))}
    if content_hash(docs) in previous_current.values():
        raise Conflict("该图已是其流程的当前版本，未做更改")
    row = routes.install(session, engine, docs, source_name=name, now=now)
    previous = previous_current.get(row.process_id)
    audit.append(session, kind="diagram.install", actor=user.username, at=now,
                 payload={"hash": row.hash, "process_id": row.process_id, "source_name": name,
                          "previous": previous, "new_process": row.process_id not in previous_current})
    return Installed(row, previous, [p for p in problems if p.severity == "warning"])
