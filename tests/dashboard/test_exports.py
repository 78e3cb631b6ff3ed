"""CSV and XLSX exports: formula cells neutralised (OWASP: a leading single quote), money exact, read back
with the csv module and openpyxl."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from services.dashboard import CaseListRow
from services.dashboard.exports import (
    CASE_COLUMNS,
    case_table,
    cases_csv,
    cases_xlsx,
    fen_to_yuan,
    neutralise,
    to_csv,
    to_xlsx,
)

TZ = ZoneInfo("Asia/Shanghai")
HOSTILE = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x\",\"y\")"]
HARMLESS = ["南昌精工智能装备有限公司", "<script>alert(1)</script>", "a=b", "1+1", " =not at the start", ""]


def row(enterprise: str, **changes: object) -> CaseListRow:
    base: dict[str, object] = dict(
        id=7, enterprise=enterprise, uscc="91360100MA0000001U", unit_code="donghu", unit_name="东湖区",
        call_id=1, call_title="2024年度第一批", award_type="m2-srdi-sme-city",
        award_name="南昌市“专精特新”中小企业奖励",
        status="running", stage="finance_payout", stage_name="财政拨付", requested_fen=30_000_000,
        awarded_fen=1, paid_fen=None, created_at=datetime(2024, 6, 3, 1, 0, 30, tzinfo=UTC),
        due_at=datetime(2024, 6, 17, 16, 0, tzinfo=UTC), overdue=True, escalation_level=2)
    base.update(changes)
    return CaseListRow(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", HOSTILE)
def test_cells_that_start_a_formula_get_a_leading_quote(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_other_cells_are_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_control_characters_are_dropped_before_the_check() -> None:
    assert neutralise("\x01=1+1") == "'=1+1"
    assert neutralise("a\x00b\x1fc") == "abc"
    assert neutralise("line\nbreak") == "line\nbreak"


def test_money_is_exact_yuan() -> None:
    assert fen_to_yuan(30_000_000) == Decimal("300000.00")
    assert fen_to_yuan(1) == Decimal("0.01") and str(fen_to_yuan(1_234_567)) == "12345.67"
    assert fen_to_yuan(None) is None


def test_case_table_has_a_cell_per_column_local_times_and_the_last_allowed_day() -> None:
    (cells,) = case_table([row("企业")], tz=TZ)
    assert len(cells) == len(CASE_COLUMNS)
    by = dict(zip(CASE_COLUMNS, cells, strict=True))
    assert by["申报时间"] == datetime(2024, 6, 3, 9, 0)  # Shanghai, minutes
    assert by["办理截止日"] == date(2024, 6, 17)  # due at midnight ending 2024-06-17
    assert (by["状态"], by["是否逾期"], by["督办级别"]) == ("办理中", "是", "已督办")
    amounts = (by["申请金额（元）"], by["核定金额（元）"], by["已拨付金额（元）"])
    assert amounts == (Decimal("300000.00"), Decimal("0.01"), None)


def test_csv_reads_back_with_every_formula_neutralised() -> None:
    body = cases_csv([row(name, id=i) for i, name in enumerate(HOSTILE + HARMLESS, start=1)], tz=TZ)
    assert body.startswith("\ufeff".encode())  # Excel reads the Chinese as UTF-8
    text = body.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header == list(CASE_COLUMNS)
    assert [r[1] for r in rows] == ["'" + h for h in HOSTILE] + HARMLESS
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)
    first = dict(zip(header, rows[0], strict=True))
    assert (first["申请金额（元）"], first["核定金额（元）"], first["已拨付金额（元）"]) == ("300000.00", "0.01", "")
    assert (first["申报时间"], first["办理截止日"]) == ("2024-06-03 09:00", "2024-06-17")
    assert text.splitlines()[1].startswith('"1","\'=cmd|')  # every field quoted


def test_xlsx_reads_back_with_text_cells_never_formulas_and_money_as_exact_numbers() -> None:
    body = cases_xlsx([row(name, id=i) for i, name in enumerate(HOSTILE + HARMLESS, start=1)], tz=TZ)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None and sheet.title == "申报案件" and sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header == list(CASE_COLUMNS)
    names = [r[1].value for r in sheet.iter_rows(min_row=2)]
    assert names == ["'" + h for h in HOSTILE] + [h or None for h in HARMLESS]
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<v>300000</v>" in xml and b"<v>0.01</v>" in xml  # the digits, not a float's
    money = sheet.cell(row=2, column=CASE_COLUMNS.index("申请金额（元）") + 1)
    assert money.value == 300000 and money.number_format == "#,##0.00"
    due = sheet.cell(row=2, column=CASE_COLUMNS.index("办理截止日") + 1)
    assert due.value == datetime(2024, 6, 17) and due.number_format == "yyyy-mm-dd"


def test_generic_writers_neutralise_headers_and_titles_too() -> None:
    csv_rows = list(csv.reader(io.StringIO(to_csv(["=h"], [["=x"], [Decimal("1.50")], [None]]).decode("utf-8-sig"))))
    assert csv_rows == [["'=h"], ["'=x"], ["1.50"], [""]]
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(["=h"], [["=x"]], title="=sheet"))).active
    assert sheet is not None and sheet.title == "'=sheet" and sheet["A1"].value == "'=h" and sheet["A2"].value == "'=x"
