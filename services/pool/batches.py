"""Importing an official recognition list as one batch: every row validated, errors reported per row
and column, all or nothing (or, on request, only the valid rows), idempotent by the file's hash and by
each honour's key (credit code, honour type, level, document number).

Enterprises are matched by credit code and created when new (their review unit from the column
所属县区, else from the credit code's division code, config/pool.toml). A known enterprise listed
under another name keeps its stored name; the difference is flagged for its district. The import is
one transaction with one audit event; on PostgreSQL it first takes a transaction-scoped advisory
lock, so concurrent imports of the same list queue and the second finds everything in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from services.audit import chain as audit
from services.awards.claims import local_today
from services.awards.enterprises import active_units
from services.db.models import Enterprise, Honour
from services.db.models_pool import EnterpriseNameFlag, HonourSource, RecognitionBatch
from services.errors import Forbidden
from services.pool import catalogue
from services.pool.listfile import FormulaCell, read_list
from services.pool.rows import COLUMNS, HEADERS, REQUIRED, Listed, validate
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

MAX_LISTED_ERRORS = 1000
CHUNK = 1000
LOCK_KEY = 0x536D65506F6F6C  # "SmePool": the advisory lock that serialises list imports


@dataclass(frozen=True)
class RowError:
    row: int  # the line (CSV) or row number (XLSX), the header being row 1
    column: str  # as the file names it
    rule: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 · {self.column}：{self.rule}"


@dataclass
class ImportReport:
    filename: str
    sha256: str
    rows: int = 0
    created: int = 0  # honours
    existing: int = 0  # honours already in the pool
    rejected: int = 0
    enterprises_created: int = 0
    names_flagged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    unsafe: bool = False  # a formula cell: nothing is imported, even with partial
    batch_id: int | None = None
    same_file_batch: int | None = None  # this very file was imported before as that batch
    offers_made: int = 0
    honour_ids: list[int] = field(default_factory=list)

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)


# Called with (uow, services, report, now, actor) after a batch is written: offers for open calls.
AfterImport = Callable[[UnitOfWork, "Services", ImportReport, datetime, str], None]


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def _columns(header: list[str], report: ImportReport) -> dict[str, int] | None:
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        key = HEADERS.get(name)
        if key is not None:
            if key in where:
                report.add_error(RowError(1, name, "列重复"))
            where[key] = i
    for key in REQUIRED:
        if key not in where:
            report.add_error(RowError(1, COLUMNS[key], "缺少必填列"))
    return None if report.error_count else where


def _unit_names(session: Session, today: date) -> dict[str, str]:
    names: dict[str, str] = {}
    for unit in active_units(session, today=today):
        names[unit.code] = unit.code
        names[unit.name_zh] = unit.code
    return names


def _read(
    rows: Iterator[tuple[int, list[Any]]],
    where: dict[str, int],
    label: dict[str, str],
    report: ImportReport,
    check: Callable[[dict[str, Any], int], tuple[Listed | None, list[tuple[str, str]]]],
) -> list[Listed]:
    valid: list[Listed] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    try:
        for number, values in rows:
            report.rows += 1
            raw = {k: (values[i] if i < len(values) else None) for k, i in where.items()}
            listed, errors = check(raw, number)
            for key, rule in errors:
                report.add_error(RowError(number, label.get(key, COLUMNS.get(key, key)), rule))
                report.unsafe = report.unsafe or rule.startswith("公式")
            if listed is None:
                report.rejected += 1
                continue
            if listed.key in seen:
                report.add_error(
                    RowError(
                        number,
                        label["document_no"],
                        f"重复行：与第 {seen[listed.key]} 行为同一企业、荣誉、级别和认定文号",
                    )
                )
                report.rejected += 1
                continue
            seen[listed.key] = number
            valid.append(listed)
    except FormulaCell as cell:
        column = next((label[k] for k, i in where.items() if i == cell.column - 1), f"第 {cell.column} 列")
        report.add_error(RowError(cell.row, column, "公式单元格不予接受"))
        report.unsafe = True
    return valid


def import_list(
    uow: UnitOfWork,
    services: Services,
    *,
    content: bytes,
    filename: str,
    actor: str,
    now: datetime,
    partial: bool = False,
    after: AfterImport | None = None,
) -> ImportReport:
    """Validate and import a recognition list in the caller's transaction (the caller commits).

    Nothing is written unless every row is valid (or `partial`, and no cell is a formula);
    `report.batch_id` says whether a batch was written. `after` runs in the same transaction once the
    batch is written (the offers for open calls)."""
    session = uow.session
    report = ImportReport(filename=filename, sha256=hashlib.sha256(content).hexdigest())
    header, rows = read_list(content, filename, max_bytes=services.settings.pool_import_max_bytes)
    where = _columns(header, report)
    if where is None:
        return report
    _lock(session)
    same = session.scalar(select(RecognitionBatch.id).where(RecognitionBatch.sha256 == report.sha256))
    if same is not None:
        report.same_file_batch = same
        return report
    today = local_today(services)
    label = {key: header[i] for key, i in where.items()}
    vocab = catalogue.vocabulary(services.editions)
    units = _unit_names(session, today)
    valid = _read(
        rows, where, label, report, lambda raw, n: validate(raw, line=n, vocab=vocab, today=today, units=units)
    )
    known = _known_enterprises(session, sorted({r.uscc for r in valid}))
    divisions = catalogue.load().divisions
    placed: list[Listed] = []
    for r in valid:
        if r.uscc not in known and (r.unit or divisions.get(r.uscc[2:8])) is None:
            report.add_error(
                RowError(
                    r.line,
                    label.get("unit", label["uscc"]),
                    f"新企业 {r.uscc} 的所属县区无法由信用代码的行政区划码确定，请填写“所属县区”列",
                )
            )
            report.rejected += 1
        else:
            placed.append(r)
    if report.unsafe or (report.error_count and not partial):
        return report
    fresh = _drop_existing(session, placed, known, report)
    if not fresh:
        return report
    _write(uow, services, fresh, known, divisions, report, actor=actor, now=now, partial=partial)
    if after is not None:
        after(uow, services, report, now, actor)
    return report


def _known_enterprises(session: Session, codes: list[str]) -> dict[str, tuple[int, str]]:
    known: dict[str, tuple[int, str]] = {}
    for i in range(0, len(codes), CHUNK):
        for uscc, eid, name in session.execute(
            select(Enterprise.uscc, Enterprise.id, Enterprise.name).where(Enterprise.uscc.in_(codes[i : i + CHUNK]))
        ):
            known[uscc] = (eid, name)
    return known


def _drop_existing(
    session: Session, valid: list[Listed], known: dict[str, tuple[int, str]], report: ImportReport
) -> list[Listed]:
    ids = sorted({known[r.uscc][0] for r in valid if r.uscc in known})
    have: set[tuple[Any, ...]] = set()
    s = HonourSource
    for i in range(0, len(ids), CHUNK):
        have.update(
            tuple(r)
            for r in session.execute(
                select(s.enterprise_id, s.honour_type, s.level, s.document_no).where(
                    s.enterprise_id.in_(ids[i : i + CHUNK])
                )
            )
        )
    fresh = []
    for r in valid:
        eid = known.get(r.uscc, (None, ""))[0]
        if eid is not None and (eid, r.honour_type, r.level, r.document_no) in have:
            report.existing += 1
        else:
            fresh.append(r)
    return fresh


def _write(
    uow: UnitOfWork,
    services: Services,
    fresh: list[Listed],
    known: dict[str, tuple[int, str]],
    divisions: dict[str, str],
    report: ImportReport,
    *,
    actor: str,
    now: datetime,
    partial: bool,
) -> None:
    session = uow.session
    batch = RecognitionBatch(
        sha256=report.sha256,
        filename=report.filename[:200],
        imported_at=now,
        imported_by=actor,
        rows_total=report.rows,
        honours_created=len(fresh),
        honours_existing=report.existing,
        rows_rejected=report.rejected,
        enterprises_created=0,
        names_flagged=0,
        partial=partial,
    )
    session.add(batch)
    session.flush()
    new: dict[str, Listed] = {}
    for r in fresh:
        if r.uscc not in known:
            new.setdefault(r.uscc, r)
    rows = [
        {
            "uscc": r.uscc,
            "name": r.name,
            "review_unit_code": r.unit or divisions[r.uscc[2:8]],
            "email": None,
            "created_at": now,
        }
        for r in new.values()
    ]
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(Enterprise), rows[i : i + CHUNK])
    known.update(_known_enterprises(session, sorted(new)))
    report.enterprises_created = len(new)
    honours = [
        {
            "enterprise_id": known[r.uscc][0],
            "honour_type": r.honour_type,
            "level": r.level,
            "recognised_on": r.recognised_on,
            "document_no": r.document_no,
            "issuer": None,
        }
        for r in fresh
    ]
    ids: list[int] = []
    for i in range(0, len(honours), CHUNK):
        result = session.execute(
            insert(Honour).returning(Honour.id, sort_by_parameter_order=True), honours[i : i + CHUNK]
        )
        ids.extend(result.scalars().all())
    sources = [
        {
            "honour_id": hid,
            "batch_id": batch.id,
            "line": r.line,
            "enterprise_id": known[r.uscc][0],
            "honour_type": r.honour_type,
            "level": r.level,
            "document_no": r.document_no,
            "valid_until": r.valid_until,
        }
        for hid, r in zip(ids, fresh, strict=True)
    ]
    for i in range(0, len(sources), CHUNK):
        session.execute(insert(HonourSource), sources[i : i + CHUNK])
    report.names_flagged = _flag_names(session, fresh, known, new, batch.id, now)
    batch.enterprises_created, batch.names_flagged = report.enterprises_created, report.names_flagged
    audit.append(
        session,
        kind="pool.import",
        actor=actor,
        at=now,
        payload={
            "batch": batch.id,
            "file": report.filename,
            "sha256": report.sha256,
            "rows": report.rows,
            "honours_created": len(fresh),
            "honours_existing": report.existing,
            "rejected": report.rejected,
            "enterprises_created": report.enterprises_created,
            "names_flagged": report.names_flagged,
            "partial": partial,
            "honours": [ids[0], ids[-1]] if ids else [],
        },
    )
    report.created, report.batch_id, report.honour_ids = len(fresh), batch.id, ids


def _flag_names(
    session: Session,
    fresh: list[Listed],
    known: dict[str, tuple[int, str]],
    new: dict[str, Listed],
    batch_id: int,
    now: datetime,
) -> int:
    differing: dict[tuple[int, str], tuple[Listed, str]] = {}
    for r in fresh:
        eid, stored = known[r.uscc]
        if r.uscc in new or r.name == stored:
            continue
        differing.setdefault((eid, r.name), (r, stored))
    if not differing:
        return 0
    eids = sorted({eid for eid, _ in differing})
    have = set(
        tuple(r)
        for r in session.execute(
            select(EnterpriseNameFlag.enterprise_id, EnterpriseNameFlag.listed_name).where(
                EnterpriseNameFlag.enterprise_id.in_(eids)
            )
        )
    )
    rows = [
        {
            "enterprise_id": eid,
            "batch_id": batch_id,
            "line": r.line,
            "listed_name": name,
            "stored_name": stored,
            "created_at": now,
        }
        for (eid, name), (r, stored) in differing.items()
        if (eid, name) not in have
    ]
    if rows:
        session.execute(insert(EnterpriseNameFlag), rows)
    return len(rows)


def require_importer(role: str) -> None:
    """Only the bureau (and admins) import recognition lists."""
    if role not in {"bureau", "admin"}:
        raise Forbidden("只有市中小企业局或系统管理员可以导入认定名单")
