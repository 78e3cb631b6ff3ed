"""Reading a recognition list safely: CSV or XLSX, bounded in size, with formula cells, XML entity
declarations (external entities, "billion laughs") and zip bombs refused before a parser sees them.

Formula cells: a CSV field or an XLSX text starting with `=`, `+`, `-` or `@` (or an XLSX formula
cell) is refused with its row and column: a recognition list holds codes, names, document numbers
and dates, none of which starts that way, and such a cell would run as a formula in the spreadsheet
of whoever opens the data again. XLSX files are zip archives of XML: every member is read (bounded)
and refused if it declares a DTD or an entity, so neither openpyxl nor the XML parser under it ever
expands one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from services.errors import InvalidInput
from services.xlsx_safety import MAX_INFLATION, MAX_XLSX_MEMBERS, check_xlsx

__all__ = ["FORMULA_STARTS", "MAX_INFLATION", "MAX_XLSX_MEMBERS", "FormulaCell", "Row", "check_xlsx", "read_list"]

FORMULA_STARTS = ("=", "+", "-", "@")

Row = tuple[int, list[Any]]


class FormulaCell(Exception):
    def __init__(self, row: int, column: int) -> None:
        super().__init__(f"formula at {row}/{column}")
        self.row, self.column = row, column


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("file", "CSV 须为 UTF-8 或 GB18030 编码")


def _xlsx_rows(content: bytes) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        sheet = book.worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InvalidInput("file", f"无法读取 XLSX 文件：{type(exc).__name__}") from exc
    try:
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            values = []
            for col, cell in enumerate(cells, start=1):
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                    raise FormulaCell(number, col)
                values.append(value)
            yield number, values
    finally:
        book.close()


def _csv_rows(content: bytes) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(_decode(content)))
    try:
        yield from ((i, list(r)) for i, r in enumerate(reader, start=1))
    except csv.Error as exc:
        raise InvalidInput("file", f"CSV 格式错误（第 {reader.line_num} 行）：{exc}") from exc


def read_list(content: bytes, filename: str, *, max_bytes: int) -> tuple[list[str], Iterator[Row]]:
    """The header and the (row number, values) of a CSV or XLSX list; blank rows are skipped.
    InvalidInput for an empty, oversized, unreadable or unsafe file. A formula cell surfaces as
    FormulaCell while iterating (the caller reports it with its row and column)."""
    if len(content) > max_bytes:
        raise InvalidInput(
            "file", f"文件过大：{len(content):,} 字节，上限 {max_bytes:,} 字节（设置 pool_import_max_bytes）"
        )
    if not content.strip():
        raise InvalidInput("file", "文件为空")
    name = filename.lower()
    if name.endswith(".xlsx"):
        check_xlsx(content, max_bytes)
        rows = _xlsx_rows(content)
    elif name.endswith(".csv"):
        rows = _csv_rows(content)
    else:
        raise InvalidInput("file", "只接受 .csv 或 .xlsx 文件")
    filled = ((n, v) for n, v in rows if any(x not in (None, "") and str(x).strip() for x in v))
    first = next(filled, None)
    if first is None:
        raise InvalidInput("file", "文件为空（没有表头和数据行）")
    return [str(v).strip() if v is not None else "" for v in first[1]], filled


def is_formula(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS)


def as_text(value: Any) -> str:
    """A cell as text: dates as ISO, numbers without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
