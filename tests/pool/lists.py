"""Recognition lists for the tests: real CSV and XLSX files written under tests/fixtures/pool/, every one
named and headed as test data (测试数据). The enterprises, codes and document numbers are made up."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

from openpyxl import Workbook
from stdnum.cn import uscc as uscc_check

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pool"
HEADER = ["统一社会信用代码", "企业名称", "荣誉类型", "级别", "认定文号", "认定日期", "有效期"]


def code(division: str, n: int) -> str:
    """A made-up credit code with a right check character (division: 6 digits, e.g. 360102 东湖区)."""
    base = f"91{division}{n:09d}"
    return base + uscc_check.calc_check_digit(base)


def wrong_check(valid: str) -> str:
    last = "0" if valid[-1] != "0" else "1"
    return valid[:-1] + last


def _write(name: str, content: bytes) -> Path:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    path = FIXTURES / name
    if not path.exists() or path.read_bytes() != content:
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    return path


def csv_file(name: str, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return _write(f"test-data-{name}.csv", buffer.getvalue().encode("utf-8"))


def xlsx_bytes(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "测试数据"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_file(name: str, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    return _write(f"test-data-{name}.xlsx", xlsx_bytes(rows, header))


def xlsx_with_doctype(name: str, doctype: str) -> Path:
    """A valid XLSX whose first sheet's XML carries `doctype` (an external entity, or nested entities)."""
    original = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["x"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, _, body = data.partition(b"?>")
                data = head + b"?>" + doctype.encode() + body
            target.writestr(item, data)
    return _write(f"test-data-{name}.xlsx", out.getvalue())


EXTERNAL_ENTITY = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
