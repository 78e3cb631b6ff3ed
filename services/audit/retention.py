"""Retention: closed cases older than `retention_days` move from the live tables into evidence bundles.

Design. The audit events stay: they are the chain, and blanking a payload would break every hash
after it (event_hash covers the payload text), so `smeflow audit verify` keeps walking the whole
chain across archived cases. What leaves the live tables is what a finished case no longer needs:
its engine state (the largest row by far), its work items and its timers. The application and
payout rows stay: they are small business records that other rules depend on (one award per
enterprise and award type, 一次性; no second payout; the fund's paid total must reconcile with its
payouts; uploaded documents point at the application). The application keeps its final status and
stage. The instance row stays as a tombstone (status `archived`, empty state, its definition hash):
its id names the case's audit events, and a deleted row's id can be handed out again on SQLite
(rowid reuse), which would mix a new case into the archived one's history.

Each case is archived in its own transaction, after its replay has reproduced the record (a case
that does not reproduce is left in place and reported: archiving must not launder an alteration).
The bundle is written and read back before any row is removed; the `case_archive` row keeps its
path and SHA-256, and a `case.archive` audit event records the move. Replay and export of an
archived case read the bundle, checked against that SHA-256 and against the live chain.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from services.audit import chain as audit
from services.audit.bundle_format import BundleInvalid, read_archive, seal
from services.audit.bundles import bundle_body
from services.audit.replay import replay_case
from services.audit.replay_record import chain_hashes
from services.db.models import Application, AuditEvent, CaseArchive, ProcessInstance, Timer, WorkItem
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

ARCHIVE_DIR = "archive"
ARCHIVED = "archived"  # the instance status of an archived case


@dataclass(frozen=True)
class ArchivedCase:
    application_id: int
    instance_id: int
    path: str  # relative to the data directory
    sha256: str
    events: int


@dataclass
class ArchiveReport:
    cutoff: datetime
    dry_run: bool
    due: list[int] = field(default_factory=list)  # application ids closed before the cutoff
    archived: list[ArchivedCase] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (application id, why it stayed)

    def summary(self) -> dict[str, int | bool]:
        return {"due": len(self.due), "archived": len(self.archived), "refused": len(self.refused),
                "dry_run": self.dry_run}


def due_cases(uow: UnitOfWork, *, cutoff: datetime, limit: int | None = None) -> list[int]:
    """Closed cases (instance completed) last changed before `cutoff` and not archived yet."""
    query = (select(Application.id).join(ProcessInstance, ProcessInstance.id == Application.instance_id)
             .where(ProcessInstance.status == "completed", Application.updated_at < cutoff)
             .where(Application.id.not_in(select(CaseArchive.application_id)))
             .order_by(Application.id).limit(limit))
    return list(uow.session.scalars(query))


def _write(directory: Path, name: str, raw: bytes) -> Path:
    """Write atomically (temp file, fsync, rename) and read back."""
    directory.mkdir(parents=True, exist_ok=True)
    final, temp = directory / name, directory / f".{name}.tmp"
    with temp.open("wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    temp.replace(final)
    if final.read_bytes() != raw:
        raise OSError(f"归档证据包 {final} 写入后读回的内容与写入的不同")
    return final


def _archive_one(services: Services, application_id: int, *, actor: str, now: datetime) -> ArchivedCase:
    data_dir = Path(services.settings.data_dir)
    with services.uow() as uow:
        session = uow.session
        app = session.get_one(Application, application_id)
        instance_id = app.instance_id
        assert instance_id is not None
        raw = seal(bundle_body(uow, services, application_id=application_id, actor=actor, now=now),
                   key=services.settings.audit_key())
        sha = hashlib.sha256(raw).hexdigest()
        relative = f"{ARCHIVE_DIR}/case-{application_id}-{sha[:12]}.json"
        path = _write(data_dir / ARCHIVE_DIR, Path(relative).name, raw)
        try:
            events = session.scalars(select(AuditEvent.seq).where(
                (AuditEvent.application_id == application_id) | (AuditEvent.instance_id == instance_id))
                .order_by(AuditEvent.seq)).all()
            session.execute(delete(WorkItem).where(WorkItem.instance_id == instance_id))
            session.execute(delete(Timer).where(Timer.instance_id == instance_id))
            inst = session.get_one(ProcessInstance, instance_id)
            inst.state, inst.status, inst.updated_at = b"", ARCHIVED, now
            session.add(CaseArchive(application_id=application_id, instance_id=instance_id,
                                    definition_hash=inst.definition_hash, path=relative, sha256=sha,
                                    first_seq=events[0], last_seq=events[-1],
                                    events=len(events), archived_at=now, archived_by=actor))
            audit.append(session, kind="case.archive", actor=actor, at=now, instance_id=instance_id,
                         application_id=application_id,
                         payload={"bundle": relative, "sha256": sha, "events": len(events), "last_seq": events[-1]})
            uow.commit()
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return ArchivedCase(application_id, instance_id, relative, sha, len(events))


def archive(services: Services, *, now: datetime, actor: str = "system", dry_run: bool = False,
            limit: int | None = None) -> ArchiveReport:
    """Archive every closed case older than the retention setting (one transaction per case)."""
    cutoff = now - timedelta(days=services.settings.retention_days)
    report = ArchiveReport(cutoff=cutoff, dry_run=dry_run)
    with services.uow() as uow:
        report.due = due_cases(uow, cutoff=cutoff, limit=limit)
    if dry_run:
        return report
    for application_id in report.due:
        with services.uow() as uow:
            result = replay_case(uow, services, application_id=application_id, detail=False)
        if not result.reproduced:
            report.refused.append((application_id, result.verdict))
            continue
        report.archived.append(_archive_one(services, application_id, actor=actor, now=now))
    return report


@dataclass(frozen=True)
class ArchiveCheck:
    checked: int
    problems: tuple[str, ...]


def check_archives(uow: UnitOfWork, *, data_dir: Path) -> ArchiveCheck:
    """Every archive bundle against its archive row (SHA-256) and its events against the live chain."""
    problems: list[str] = []
    rows = uow.session.scalars(select(CaseArchive).order_by(CaseArchive.id)).all()
    for row in rows:
        try:
            record = read_archive(Path(data_dir), row.path, row.sha256)
        except BundleInvalid as exc:
            problems.append(f"案件 {row.application_id}：{exc.message}")
            continue
        held = chain_hashes(uow.session, [e.seq for e in record.events])
        wrong = next((e.seq for e in record.events if held[e.seq] != e.hash), None)
        if wrong is not None:
            problems.append(f"案件 {row.application_id}：归档证据包 {row.path} 中的事件 {wrong} "
                            "不是审计链在该位置的事件")
    return ArchiveCheck(len(rows), tuple(problems))
