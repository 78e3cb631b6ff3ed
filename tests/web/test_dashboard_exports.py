"""The dashboard's exports and hostile text: CSV and XLSX neutralise formula cells and keep money exact;
markup in an enterprise name is shown as text."""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from datetime import timedelta

import openpyxl
from fastapi.testclient import TestClient

from services.awards import enterprises
from services.awards.demo import demo_uscc
from services.bootstrap import Services
from tests.helpers import apply_for, today

Login = Callable[[str], TestClient]
HOSTILE = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1:A9)", "<script>alert(1)</script>有限公司"]


def hostile_cases(world: Services) -> None:
    """Enterprises whose names are formula injections and markup, each with one application."""
    with world.uow() as uow:
        for i, name in enumerate(HOSTILE, start=90):
            ent = enterprises.register(uow.session, uscc=demo_uscc(i), name=name, review_unit_code="qingshanhu",
                                       email=None, actor="admin", now=world.clock.now(), today=today(world))
            enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                   recognised_on=today(world) - timedelta(days=30), document_no="洪工信〔2024〕1号",
                                   issuer=None, editions=world.editions, actor="admin", now=world.clock.now())
        uow.commit()
    for name in HOSTILE:
        apply_for(world, name, "m2-srdi-sme-city", 12_345_67)


def test_csv_export_neutralises_formula_cells(world: Services, login: Login) -> None:
    hostile_cases(world)
    c = login("manager")
    r = c.get("/dashboard/cases.csv", params={"unit": "qingshanhu"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="smeflow-cases-20240603.csv"'
    assert r.content.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:3] == ["申报编号", "企业名称", "统一社会信用代码"] and "申请金额（元）" in header
    names = [row[1] for row in rows]
    assert names == ["'=cmd|' /C calc'!A0", "'+1", "'-1", "'@SUM(A1:A9)", "<script>alert(1)</script>有限公司"]
    money = header.index("申请金额（元）")
    assert {row[money] for row in rows} == {"12345.67"}
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_xlsx_export_neutralises_formula_cells_and_keeps_money_exact(world: Services, login: Login) -> None:
    hostile_cases(world)
    c = login("manager")
    r = c.get("/dashboard/cases.xlsx", params={"unit": "qingshanhu"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[1] == "企业名称"
    names = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert names == ["'=cmd|' /C calc'!A0", "'+1", "'-1", "'@SUM(A1:A9)", "<script>alert(1)</script>有限公司"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    money = sheet.cell(row=2, column=header.index("申请金额（元）") + 1)
    assert money.value == 12345.67 and money.number_format == "#,##0.00"
    assert b"<f>" not in _sheet_xml(r.content)


def _sheet_xml(xlsx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return z.read("xl/worksheets/sheet1.xml")


def test_hostile_names_are_escaped_on_the_page(world: Services, login: Login) -> None:
    hostile_cases(world)
    c = login("manager")
    page = c.get("/dashboard").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;有限公司" in page
    assert "=cmd|&#39; /C calc&#39;!A0" in page  # shown as text on the page, as typed
