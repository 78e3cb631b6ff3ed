"""Importing a campaign ledger (台账) from CSV or XLSX: every row validated, errors reported per row
and column, all or nothing (or, on request, only the valid rows), idempotent by the natural key.

Columns (header row; Chinese or English names, any order): see intake.COLUMNS. Amounts in yuan
(at most two decimals), dates YYYY-MM-DD (or date cells), an optional agreed annual late-interest
rate in percent. A row whose case exists already (same creditor, debtor and contract) with the same
amount is skipped; with another amount it is an error. Importing the same file twice creates nothing.

The import runs in one transaction with one audit event, and writes with bulk inserts: the cases,
then their first steps (the acceptance reviews) in a single INSERT ... SELECT. No workflow state is
written: a case starts its route when its acceptance review is first decided (see cases.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from typing import cast as cast_type

from sqlalchemy import Boolean, Integer, String, Table, cast, insert, literal, null, select

from services.arrears.cases import FIRST_TASK
from services.arrears.intake import COLUMNS, REQUIRED, Record, case_row, check_limits, validate
from services.arrears.registry import debtors_by_uscc
from services.arrears.rules import load_rules
from services.audit import chain as audit
from services.db.base import UTCDateTime
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsImport, ArrearsTask
from services.errors import InvalidInput
from services.uow import UnitOfWork
from services.xlsx_safety import check_xlsx

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["ImportReport", "RowError", "import_ledger", "read_table"]

MAX_LISTED_ERRORS = 1000
BATCH = 5000
_HEADERS = {**{label: key for key, label in COLUMNS.items()}, **{key: key for key in COLUMNS}}


@dataclass(frozen=True)
class RowError:
    row: int  # the line (CSV) or row number (XLSX), the header being row 1
    column: str  # as the file names it
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 · {self.column}：{self.message}"


@dataclass
class ImportReport:
    filename: str
    sha256: str
    rows: int = 0
    created: int = 0
    existing: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    imported: bool = False  # whether anything was written
    import_id: int | None = None

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("file", "CSV 须为 UTF-8 或 GB18030 编码")


def _xlsx_rows(book: Any) -> Iterator[tuple[int, list[Any]]]:
    """The first sheet's rows; openpyxl reads the sheet lazily, so a damaged one fails here."""
    try:
        for i, r in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield i, list(r)
    except Exception as exc:  # openpyxl and its XML parser raise many kinds for a damaged sheet
        raise InvalidInput("file", f"无法读取 XLSX 文件：{type(exc).__name__}") from exc


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(_decode(content)))
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise InvalidInput("file", f"CSV 格式错误（第 {reader.line_num} 行）：{exc}") from exc


def read_table(content: bytes, filename: str, *, max_bytes: int | None = None
               ) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """The header and the (row number, values) of a CSV or XLSX file; blank rows are skipped. An XLSX
    is opened only after services.xlsx_safety passed it (no DTD or entity, no zip bomb past 64 x
    `max_bytes`, default the file's own size)."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        check_xlsx(content, max_bytes or max(len(content), 1))
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput("file", f"无法读取 XLSX 文件：{type(exc).__name__}") from exc
        rows: Iterator[tuple[int, list[Any]]] = _xlsx_rows(book)
    elif filename.lower().endswith(".csv"):
        rows = _csv_rows(content)
    else:
        raise InvalidInput("file", "只接受 .csv 或 .xlsx 文件")
    filled = ((n, v) for n, v in rows if any(x not in (None, "") for x in v))
    first = next(filled, None)
    if first is None:
        raise InvalidInput("file", "文件为空")
    return [str(v).strip() if v is not None else "" for v in first[1]], filled


def _columns(header: list[str], report: ImportReport) -> dict[str, int] | None:
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        key = _HEADERS.get(name)
        if key is not None:
            if key in where:
                report.add_error(RowError(1, name, "列重复"))
            where[key] = i
    for key in REQUIRED:
        if key not in where:
            report.add_error(RowError(1, COLUMNS[key], "缺少必填列"))
    return None if report.error_count else where


def import_ledger(uow: UnitOfWork, services: Services, *, content: bytes, filename: str, actor: str,
                  now: datetime, partial: bool = False) -> ImportReport:
    """Validate and import a ledger file in the caller's transaction (the caller commits).

    Nothing is written unless every row is valid (or `partial`); `report.imported` says whether anything was.
    """
    rules = load_rules()
    check_limits(services, rules)
    report = ImportReport(filename=filename, sha256=hashlib.sha256(content).hexdigest())
    header, rows = read_table(content, filename, max_bytes=services.settings.arrears_import_max_bytes)
    where = _columns(header, report)
    if where is None:
        return report
    label = {key: header[i] for key, i in where.items()}
    session = uow.session
    debtors = _Debtors(session)
    valid: list[tuple[int, Record]] = []
    for number, values in rows:
        report.rows += 1
        raw = {k: (values[i] if i < len(values) else None) for k, i in where.items()}
        record, errors = validate(raw, debtors=debtors, rules=rules, calendar=services.calendar)
        for key, message in errors:
            report.add_error(RowError(number, label.get(key, COLUMNS.get(key, key)), message))
        if record is None:
            report.rejected += 1
        else:
            valid.append((number, record))
    fresh = _dedupe(session, valid, report, label)
    if (report.error_count and not partial) or not fresh:
        return report
    _write(services, uow, fresh, report, actor=actor, now=now, partial=partial)
    return report


class _Debtors(Mapping[str, ArrearsDebtor]):
    """The debtor registry, looked up by credit code as rows need it (one query per new code)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._found: dict[str, ArrearsDebtor | None] = {}

    def __getitem__(self, code: str) -> ArrearsDebtor:
        if code not in self._found:
            self._found[code] = debtors_by_uscc(self._session, [code]).get(code)
        debtor = self._found[code]
        if debtor is None:
            raise KeyError(code)
        return debtor

    def __iter__(self) -> Iterator[str]:
        return (k for k, v in self._found.items() if v is not None)

    def __len__(self) -> int:
        return sum(v is not None for v in self._found.values())


def _dedupe(session: Any, valid: list[tuple[int, Record]], report: ImportReport,
            label: dict[str, str]) -> list[Record]:
    """Drop rows already imported (same key, same amount); flag repeats and conflicting amounts."""
    debtor_ids = sorted({r.debtor_id for _, r in valid})
    known: dict[tuple[str, int, str], tuple[int, int]] = {}
    for i in range(0, len(debtor_ids), 500):
        query = select(ArrearsCase.creditor_uscc, ArrearsCase.debtor_id, ArrearsCase.contract_no, ArrearsCase.id,
                       ArrearsCase.claimed_fen).where(ArrearsCase.debtor_id.in_(debtor_ids[i:i + 500]))
        for creditor, debtor, contract, case_id, fen in session.execute(query):
            known[(creditor, debtor, contract)] = (case_id, fen)
    seen: dict[tuple[str, int, str], int] = {}
    fresh: list[Record] = []
    column = label.get("contract_no", COLUMNS["contract_no"])
    for number, record in valid:
        if record.key in seen:
            report.add_error(RowError(number, column, f"与第 {seen[record.key]} 行为同一债权企业、债务人和合同"))
            report.rejected += 1
            continue
        seen[record.key] = number
        existing = known.get(record.key)
        if existing is None:
            fresh.append(record)
        elif existing[1] == record.claimed_fen:
            report.existing += 1
        else:
            report.add_error(RowError(number, label.get("amount", COLUMNS["amount"]),
                                      f"已登记为案件 {existing[0]}，欠款金额 {existing[1] / 100:.2f} 元与本行不同"))
            report.rejected += 1
    return fresh


def _bulk_insert(session: Any, rows: list[dict[str, Any]]) -> None:
    """Insert case rows: PostgreSQL's COPY (about twice as fast as executemany), elsewhere executemany."""
    table = cast_type(Table, ArrearsCase.__table__)
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)  # Core executemany: no ORM bookkeeping per row
        return
    columns = list(rows[0])
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _write(services: Services, uow: UnitOfWork, fresh: list[Record], report: ImportReport, *, actor: str, now: datetime,
           partial: bool) -> None:
    session = uow.session
    batch = ArrearsImport(sha256=report.sha256, filename=report.filename[:200], imported_at=now, imported_by=actor,
                          rows_total=report.rows, rows_created=len(fresh), rows_existing=report.existing,
                          rows_rejected=report.rejected, partial=partial)
    session.add(batch)
    session.flush()
    for i in range(0, len(fresh), BATCH):
        _bulk_insert(session, [case_row(r, source="ledger", import_id=batch.id, actor=actor, now=now)
                               for r in fresh[i:i + BATCH]])
    due = services.stage_deadline("arrears_acceptance", now)
    provisional = services.deadline_is_provisional(now, due)
    c = ArrearsCase
    steps = select(
        c.id, null(), null(), literal(FIRST_TASK[0], String), literal(FIRST_TASK[1], String), literal("bureau", String),
        c.department_code, literal("open", String), literal(now, UTCDateTime), literal(due, UTCDateTime),
        cast(literal(provisional), Boolean), cast(literal(False), Boolean), literal(0, Integer),
    ).where(c.import_id == batch.id)
    t = ArrearsTask
    session.execute(insert(ArrearsTask).from_select(
        [t.case_id, t.instance_id, t.task_id, t.task_spec, t.name, t.role, t.department_code, t.status,
         t.created_at, t.due_at, t.due_provisional, t.overdue, t.escalation_level], steps))
    ids = session.execute(select(c.id).where(c.import_id == batch.id).order_by(c.id)).scalars().all()
    audit.append(session, kind="arrears.import", actor=actor, at=now,
                 payload={"import": batch.id, "file": report.filename, "sha256": report.sha256, "rows": report.rows,
                          "created": len(fresh), "existing": report.existing, "rejected": report.rejected,
                          "partial": partial, "cases": [ids[0], ids[-1]] if ids else []})
    report.created, report.imported, report.import_id = len(fresh), True, batch.id
