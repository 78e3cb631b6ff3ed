"""Evidence bundles: one file with everything needed to check a case without the database.

A bundle holds the case's record (its audit events, the diagram(s) it ran on by content hash, the
stored instance state, work items, timers, application stage and payouts), the setting values its
deadlines depend on (time zone and stage limits), and a chain proof: the hashes of every event of
the audit chain from the case's first event up to the earliest signed statement of the chain head
that covers the case's last event (or up to the head at export, when no statement covers it yet),
with that statement. The file is sealed and signed (bundle_format).

`check_bundle` needs only the file (and optionally the signing key): it checks the seal, ties each
event into the chain proof and the proof to the signed statement, and replays the case.
Limit, by design: events of other cases in the proof appear as hashes only (their content is not
exported), so offline their links are taken as recorded; `smeflow audit verify` checks them online.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from services.accounts import access
from services.audit import anchors
from services.audit import chain as audit
from services.audit.bundle_format import (
    BundleInvalid,
    Unsealed,
    case_record,
    malformed,
    read_failure,
    seal,
    unseal,
)
from services.audit.replay import READERS, deadline_function, replay_record
from services.audit.replay_record import CaseRecord, load_case, record_to_json
from services.audit.replay_views import ReplayResult
from services.db.models import AuditEvent, AuditHead, CaseArchive, User
from services.errors import NotFound
from services.time.calendar import CalendarError, WorkingCalendar
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services


@dataclass(frozen=True)
class Exported:
    path: Path
    sha256: str
    size: int
    events: int
    proof_to_seq: int
    anchored: bool  # a signed statement covers the case's events


@dataclass(frozen=True)
class BundleReport:
    """The result of checking a bundle: `ok` only when it is intact, its proof holds and it replays."""

    path: str
    ok: bool
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    application_id: int | None
    signature_checked: bool
    replay: ReplayResult | None

    @property
    def message(self) -> str:
        if self.ok:
            return f"核验通过：案件 {self.application_id} 的证据包完整，回放重现了记录"
        return self.problems[0] if self.problems else "证据包核验未通过"


def _proof(uow: UnitOfWork, record: CaseRecord) -> dict[str, Any]:
    session = uow.session
    first, last = record.events[0].seq, record.events[-1].seq
    statement = anchors.covering(session, last)
    head = session.get(AuditHead, audit.HEAD_ID)
    to_seq = statement.seq if statement is not None else (head.seq if head is not None else last)
    hashes = list(session.scalars(select(AuditEvent.hash).where(AuditEvent.seq.between(first, to_seq))
                                  .order_by(AuditEvent.seq)))
    before = audit.GENESIS if first == 1 else session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == first - 1))
    return {"from_seq": first, "to_seq": to_seq, "prev_hash": before, "hashes": hashes,
            "statement": statement.as_dict() if statement is not None else None,
            "head": {"seq": head.seq, "hash": head.hash} if head is not None else None}


def bundle_body(uow: UnitOfWork, services: Services, *, application_id: int, actor: str,
                now: datetime) -> dict[str, Any]:
    """The content of a live case's bundle (before sealing)."""
    record = load_case(uow.session, application_id)
    if not record.events:
        raise NotFound(f"案件 #{application_id} 没有可导出的审计事件")
    return {"exported_at": now.isoformat(), "exported_by": actor, "case": record_to_json(record),
            "environment": {"timezone": services.settings.timezone,
                            "stage_limits": dict(services.settings.stage_limits),
                            "calendar_files": _calendar_files(services.settings)},
            "chain": _proof(uow, record)}


def _calendar_files(settings: Any) -> dict[str, str]:
    """The site's extra holiday calendar files (settings `calendar_dir`, then the directory `smeflow
    calendar load` installs into, which wins per year), which the deadlines were counted with: carried
    so that an offline replay counts working days as the live system did."""
    files: dict[str, str] = {}
    for directory in (settings.calendar_dir, getattr(settings, "calendar_install_dir", None)):
        if directory is not None and Path(directory).is_dir():
            files.update({f.name: f.read_text(encoding="utf-8") for f in sorted(Path(directory).glob("*.toml"))})
    return files


@contextmanager
def _calendar(files: dict[str, str]) -> Iterator[WorkingCalendar | None]:
    """The working calendar of a bundle: the packaged one plus the bundle's calendar files."""
    if not files:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="smeflow-bundle-calendar-") as tmp:
        for name, text in files.items():
            if Path(name).name != name or not name.endswith(".toml"):
                raise ValueError(f"日历文件名 {name!r} 不是“年份.toml”")
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        yield WorkingCalendar(Path(tmp))


def bundle_bytes(uow: UnitOfWork, services: Services, *, application_id: int, actor: str, now: datetime,
                 user: User | None = None) -> bytes:
    """The case's sealed, signed evidence bundle as bytes (for a download); read only on the database.

    An archived case's bundle is its archive file, checked against its archive record. With `user`,
    only auditors, managers and admins, and only for cases in their scope (NotFound otherwise).
    """
    if user is not None:
        access.require_role(user, *READERS)
        access.visible_application(uow.session, user, application_id)
    archived = uow.session.scalars(select(CaseArchive).where(CaseArchive.application_id == application_id)).first()
    if archived is None:
        body = bundle_body(uow, services, application_id=application_id, actor=actor, now=now)
        return seal(body, key=services.settings.audit_key())
    path = Path(services.settings.data_dir) / archived.path
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleInvalid(f"归档证据包 {archived.path} 无法读取：{read_failure(exc)}") from None
    if _sha(raw) != archived.sha256:
        raise BundleInvalid(f"归档证据包 {archived.path} 被改动：与其归档记录的 SHA-256 不符")
    unseal(raw, name=f"归档证据包 {archived.path}")
    return raw


def export_case(uow: UnitOfWork, services: Services, *, application_id: int, out: Path, actor: str,
                now: datetime) -> Exported:
    """Write the case's evidence bundle to `out` (see bundle_bytes)."""
    raw = bundle_bytes(uow, services, application_id=application_id, actor=actor, now=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(raw)
    body = unseal(raw).body
    chain = body["chain"]
    return Exported(out, _sha(raw), len(raw), len(body["case"]["events"]), chain["to_seq"],
                    chain["statement"] is not None)


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _check_proof(record: CaseRecord, chain: dict[str, Any], key: str | None) -> tuple[list[str], list[str],
                                                                                      CaseRecord]:
    problems: list[str] = []
    notes: list[str] = []
    first, to_seq, hashes = int(chain["from_seq"]), int(chain["to_seq"]), list(chain["hashes"])
    if len(hashes) != to_seq - first + 1:
        problems.append(f"审计链证明应含 {to_seq - first + 1} 个哈希（事件 {first} 至 {to_seq}），"
                        f"实含 {len(hashes)} 个")
    held = {first + i: h for i, h in enumerate(hashes)}
    links = {s: (chain["prev_hash"] if s == first else held.get(s - 1)) for s in (e.seq for e in record.events)}
    record = replace(record, links=links, chain={e.seq: held.get(e.seq) for e in record.events})
    statement = chain.get("statement")
    if statement is None:
        notes.append(f"导出时尚无签名声明覆盖本案：证明止于当时的链头（事件 {to_seq}）；"
                     "运行 smeflow audit anchor 记录当日声明后重新导出，可得到有签名的证明")
    else:
        st = anchors.Statement(date.fromisoformat(statement["day"]), int(statement["seq"]), statement["head_hash"],
                               datetime.fromisoformat(statement["recorded_at"]), statement["key_id"],
                               statement["statement"], statement["signature"])
        wrong = anchors.check_statement(st, key=key)
        if wrong is not None:
            problems.append(f"{st.day} 的签名声明：{wrong}")
        elif (st.seq, st.head_hash) != (to_seq, hashes[-1] if hashes else None):
            problems.append(f"审计链证明止于事件 {to_seq}，但 {st.day} 的签名声明记载的是事件 {st.seq} 及另一哈希："
                            "证明连不到该声明")
    return problems, notes, record


def check_bundle(path: Path | str, *, signing_key: str | None = None) -> BundleReport:
    """Check a bundle file offline (no database): seal, signature (with a key), chain proof, replay."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return BundleReport(name, False, (f"{name} 无法读取：{read_failure(exc)}",), (), None, False, None)
    try:
        found: Unsealed = unseal(raw, key=signing_key, name=name)
        record = case_record(found.body, name=name)
        problems, notes, record = _check_proof(record, found.body["chain"], signing_key)
        env = found.body["environment"]
        with _calendar(dict(env.get("calendar_files") or {})) as calendar:
            deadline = deadline_function(stage_limits=env["stage_limits"], timezone=env["timezone"],
                                         calendar=calendar)
    except CalendarError as exc:
        why = f"{name}：证据包中的节假日日历文件 {exc.file.name} 无效，问题在字段 {exc.field}"
        return BundleReport(name, False, (why,), (), None, False, None)
    except BundleInvalid as exc:
        return BundleReport(name, False, (exc.message,), (), None, False, None)
    except (KeyError, TypeError, ValueError) as exc:
        return BundleReport(name, False, (f"{name} 不是完整的证据包：{malformed(exc)}",), (), None, False, None)
    if signing_key is None:
        notes.append("未核验签名（没有提供签名密钥）；已核验 SHA-256 封印")
    result = replay_record(record, deadline=deadline, source="bundle")
    if not result.reproduced:
        problems.append(f"案件 {record.application_id}：{result.verdict}")
    return BundleReport(name, not problems, tuple(problems), tuple(notes), record.application_id,
                        found.signature_checked, result)
