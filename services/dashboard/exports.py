"""CSV and XLSX exports of the case list, safe to open in a spreadsheet.

Formula injection: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be
run as a formula by Excel or LibreOffice; such cells get a leading single quote, as OWASP recommends
(https://owasp.org/www-community/attacks/CSV_Injection), in both formats, and every CSV field is
quoted. Control characters that XML (so XLSX) cannot hold are dropped from both.

Money: amounts are yuan written exactly: text such as `300000.00` in CSV, a Decimal (stored as the
same digits, shown as #,##0.00) in XLSX; never a float computed from fen.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from services.awards import labels
from services.dashboard.cases import CaseListRow

Cell = str | int | Decimal | datetime | date | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CASE_COLUMNS = ("申报编号", "企业名称", "统一社会信用代码", "审核单位", "申报批次", "奖励类型", "状态",
                "当前环节", "申请金额（元）", "核定金额（元）", "已拨付金额（元）", "申报时间", "办理截止日",
                "是否逾期", "督办级别")
_WIDTHS = (10, 36, 22, 16, 30, 36, 10, 20, 16, 16, 16, 18, 18, 10, 10)
ESCALATION = {0: "", 1: "已提醒", 2: "已督办"}
MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(text: str) -> str:
    """Make a text cell inert in a spreadsheet: drop XML-illegal control characters, and put a single
    quote before a cell that would otherwise start a formula."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def fen_to_yuan(fen: int | None) -> Decimal | None:
    """Integer fen as an exact Decimal of yuan with two places: 30000000 -> Decimal('300000.00')."""
    return None if fen is None else Decimal(fen).scaleb(-2)


def case_table(rows: Iterable[CaseListRow], *, tz: ZoneInfo) -> list[list[Cell]]:
    """The case list as cells under CASE_COLUMNS: amounts as Decimal yuan, times local and naive, the
    deadline as its last allowed day (a deadline is the local midnight that ends it)."""
    def local(d: datetime | None) -> datetime | None:
        return d.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) if d else None

    def last_day(d: datetime | None) -> date | None:
        return (d.astimezone(tz) - timedelta(seconds=1)).date() if d else None

    return [[r.id, r.enterprise, r.uscc, r.unit_name, r.call_title, r.award_name, labels.status(r.status),
             r.stage_name, fen_to_yuan(r.requested_fen), fen_to_yuan(r.awarded_fen), fen_to_yuan(r.paid_fen),
             local(r.created_at), last_day(r.due_at), "是" if r.overdue else "否",
             ESCALATION.get(r.escalation_level, str(r.escalation_level))] for r in rows]


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)  # our own numbers: exact digits, never negative here
    return neutralise(value)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads the Chinese), every field quoted, CRLF lines."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str = "申报案件",
            widths: Sequence[int] = _WIDTHS) -> bytes:
    """An XLSX workbook of one sheet: bold frozen header, text cells neutralised, every cell a value
    (a text cell is never stored as a formula), money as exact Decimal with two places."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = neutralise(title)[:31]
    sheet.append([neutralise(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row_no, row in enumerate(rows, start=2):
        for col_no, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_no, column=col_no)
            if isinstance(value, str):
                cell.value = neutralise(value)
                cell.data_type = "s"  # text, whatever it looks like
            else:
                cell.value = value
                if isinstance(value, Decimal):
                    cell.number_format = MONEY_FORMAT
                elif isinstance(value, datetime):
                    cell.number_format = DATETIME_FORMAT
                elif isinstance(value, date):
                    cell.number_format = DATE_FORMAT
    for i, width in enumerate(widths[:len(header)]):
        sheet.column_dimensions[sheet.cell(row=1, column=i + 1).column_letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cases_csv(rows: Iterable[CaseListRow], *, tz: ZoneInfo) -> bytes:
    """The case list as CSV (columns in Chinese)."""
    return to_csv(CASE_COLUMNS, case_table(rows, tz=tz))


def cases_xlsx(rows: Iterable[CaseListRow], *, tz: ZoneInfo) -> bytes:
    """The case list as an XLSX workbook (columns in Chinese)."""
    return to_xlsx(CASE_COLUMNS, case_table(rows, tz=tz))
