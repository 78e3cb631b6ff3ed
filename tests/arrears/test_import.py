"""Ledger import: per-row and per-column errors, all or nothing, --partial, idempotent, XLSX, 100,000 rows."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select

from services.arrears.demo import make_uscc
from services.arrears.ledger_import import import_ledger
from services.db.models import AuditEvent
from services.db.models_arrears import ArrearsCase, ArrearsTask
from services.errors import InvalidInput
from tests.arrears.conftest import CREDITOR, DEBTORS, OTHER_CREDITOR, Campaign
from tests.helpers import snapshot

HEADER = ("债权企业统一社会信用代码,债权企业名称,债务人统一社会信用代码,合同编号,合同签订日期,交付日期,验收日期,"
          "约定付款期限（天）,约定逾期利率（年%）,欠款金额（元）")
GOV, SCHOOL, BIG = DEBTORS["gov"][0], DEBTORS["school"][0], DEBTORS["big"][0]


def csv_of(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


GOOD = [
    f"{CREDITOR},南昌测试科技有限公司,{GOV},HT-001,2024-01-10,2024-03-01,,,,\"120,000.50\"",
    f"{CREDITOR},南昌测试科技有限公司,{SCHOOL},HT-002,2024-02-01,2024-03-01,2024-03-15,45,4.35,8000",
    f"{OTHER_CREDITOR},赣江新材料有限公司,{BIG},HT-003,2025-06-01,2025-06-03,,,,560000",
]


def run(c: Campaign, content: bytes, name: str = "ledger.csv", partial: bool = False):  # type: ignore[no-untyped-def]
    with c.services.uow() as uow:
        report = import_ledger(uow, c.services, content=content, filename=name, actor="bureau", now=c.now(),
                               partial=partial)
        uow.commit()
        return report


def count(c: Campaign, model: type) -> int:
    with c.services.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_valid_ledger_registers_every_row(campaign: Campaign) -> None:
    c = campaign
    report = run(c, csv_of(*GOOD))
    assert (report.rows, report.created, report.existing, report.error_count, report.imported) == (3, 3, 0, 0, True)
    with c.services.uow() as uow:
        cases = uow.session.scalars(select(ArrearsCase).order_by(ArrearsCase.id)).all()
        assert [x.claimed_fen for x in cases] == [12_000_050, 800_000, 56_000_000]
        assert [x.due_on for x in cases] == [date(2024, 4, 1), date(2024, 4, 29), date(2025, 8, 4)]
        assert [x.rules for x in cases] == ["2020", "2020", "2025"]
        assert cases[1].agreed_rate_ppm == 43_500 and cases[2].department_code == "city-sasac"
        steps = uow.session.scalars(select(ArrearsTask).order_by(ArrearsTask.case_id)).all()
        assert [(s.case_id, s.task_spec, s.status, s.instance_id) for s in steps] == [
            (x.id, "acceptance_review", "open", None) for x in cases]
        assert steps[0].due_at is not None and steps[0].due_at > c.now()
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "arrears.import")).all()
        assert len(events) == 1
    first = cases[0].id
    c.act(first, "acceptance_review", "bureau", "accept")  # an imported case runs its route like a complaint
    assert "transfer" in c.open_steps(first)


def test_bad_rows_change_nothing_and_each_error_names_row_and_column(campaign: Campaign) -> None:
    c = campaign
    bad_code = CREDITOR[:-1] + ("0" if CREDITOR[-1] != "0" else "1")
    content = csv_of(
        GOOD[0],
        f"{bad_code},甲,{GOV},HT-010,2024-01-10,2024-03-01,,,,100",
        f"{CREDITOR},甲,{make_uscc('11', 999)},HT-011,2024-01-10,2024-03-01,,,,100",
        f"{CREDITOR},甲,{GOV},HT-012,2024-13-10,2024-03-01,,,,100.001",
        f"{CREDITOR},,{GOV},HT-013,2024-01-10,2024-03-01,,,,-5",
        f"{CREDITOR},甲,{BIG},HT-014,2025-05-31,2025-06-03,,,,100",
        f"{CREDITOR},甲,{GOV},HT-001,2024-01-10,2024-03-01,,,,\"120,000.50\"",
    )
    before = snapshot(c.services)
    report = run(c, content)
    assert not report.imported and report.created == 0
    assert snapshot(c.services) == before
    found = {(e.row, e.column) for e in report.errors}
    assert found == {
        (3, "债权企业统一社会信用代码"),  # check character
        (4, "债务人统一社会信用代码"),  # not in the debtor registry
        (5, "合同签订日期"), (5, "欠款金额（元）"),  # no 13th month; three decimals
        (6, "债权企业名称"), (6, "欠款金额（元）"),  # required; negative
        (7, "约定付款期限（天）"),  # a large enterprise under the 2020 rules needs the agreed term
        (8, "合同编号"),  # the same debt as row 2
    }
    assert report.rejected == 6 and report.error_count == 8
    assert "未在债务人名录中登记" in next(e.message for e in report.errors if e.row == 4)


def test_partial_imports_only_the_valid_rows(campaign: Campaign) -> None:
    c = campaign
    content = csv_of(GOOD[0], f"{CREDITOR},甲,{GOV},HT-020,2024-01-10,not a date,,,,100", GOOD[1])
    report = run(c, content, partial=True)
    assert (report.created, report.rejected, report.imported) == (2, 1, True)
    assert [str(e) for e in report.errors] == ["第 3 行 · 交付日期：日期格式无效：'not a date'（应为 YYYY-MM-DD）"]
    assert count(c, ArrearsCase) == 2


def test_the_same_file_twice_creates_nothing_new(campaign: Campaign) -> None:
    c = campaign
    content = csv_of(*GOOD)
    assert run(c, content).created == 3
    before = snapshot(c.services)
    again = run(c, content)
    assert (again.created, again.existing, again.error_count, again.imported) == (0, 3, 0, False)
    assert snapshot(c.services) == before
    # the same debt with another amount is an error, not a silent update
    changed = run(c, csv_of(GOOD[0].replace('"120,000.50"', "99")))
    assert changed.error_count == 1 and changed.errors[0].column == "欠款金额（元）"
    assert snapshot(c.services) == before


def test_xlsx_with_date_cells_and_numbers(campaign: Campaign) -> None:
    c = campaign
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([])  # a blank first row is skipped
    sheet.append(["creditor_uscc", "creditor_name", "debtor_uscc", "contract_no", "signed_on", "delivered_on",
                  "amount", "备注"])
    sheet.append([CREDITOR, "南昌测试科技有限公司", GOV, "X-1", datetime(2024, 1, 10), date(2024, 9, 1), 12345.6, "a"])
    sheet.append([CREDITOR, "南昌测试科技有限公司", GOV, 20240002, "2024/01/10", "2024-09-12", 88, None])
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(c, buffer.getvalue(), "台账.xlsx")
    assert report.created == 2, report.errors
    with c.services.uow() as uow:
        cases = uow.session.scalars(select(ArrearsCase).order_by(ArrearsCase.id)).all()
        assert [(x.contract_no, x.claimed_fen, x.due_on) for x in cases] == [
            ("X-1", 1_234_560, date(2024, 10, 8)), ("20240002", 8_800, date(2024, 10, 12))]


def test_missing_columns_and_wrong_files(campaign: Campaign) -> None:
    c = campaign
    report = run(c, "合同编号,欠款金额（元）\nA,1\n".encode())
    assert {e.column for e in report.errors} >= {"债权企业统一社会信用代码", "交付日期"}
    assert all(e.row == 1 for e in report.errors) and not report.imported
    with pytest.raises(InvalidInput):
        run(c, b"", "empty.csv")
    with pytest.raises(InvalidInput):
        run(c, b"PK\x03\x04 damaged", "broken.xlsx")
    with pytest.raises(InvalidInput):
        run(c, b"x", "ledger.pdf")
    gbk = csv_of(GOOD[0]).decode().encode("gb18030")  # Excel's Chinese CSV
    assert run(c, gbk).created == 1


def big_ledger(rows: int) -> bytes:
    debtors = [GOV, SCHOOL, BIG]
    lines = [HEADER]
    for i in range(rows):
        debtor = debtors[i % 3]
        signed = "2025-06-01" if debtor == BIG else "2024-01-10"
        lines.append(f"{make_uscc('91', 100_000 + i % 5000)},企业{i % 5000},{debtor},L-{i:06d},{signed},"
                     f"2025-06-03,,,,{1000 + i}.{i % 100:02d}")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.slow
def test_a_100000_row_ledger_imports(campaign: Campaign) -> None:
    """In bulk: the SQL statements the import sends stay a handful per batch of rows, whatever the row
    count (its speed is measured in benchmarks/ledger_import.py, not asserted here)."""
    c = campaign
    content = big_ledger(100_000)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(c.services.db, "before_cursor_execute", seen)
    try:
        report = run(c, content, "big.csv")
    finally:
        event.remove(c.services.db, "before_cursor_execute", seen)
    assert (report.created, report.error_count) == (100_000, 0)
    assert count(c, ArrearsCase) == 100_000 and count(c, ArrearsTask) == 100_000
    with c.services.uow() as uow:
        total = uow.session.scalar(select(func.sum(ArrearsCase.claimed_fen)))
    assert total == sum((1000 + i) * 100 + i % 100 for i in range(100_000))
    assert len(statements) <= 60, statements[:80]  # not one (or more) per row
