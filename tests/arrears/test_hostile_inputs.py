"""Issue 12, item 10, the arrears side: inputs that used to answer 500 are refused with a 422 naming the
field and the rule, and nothing is written: an amount of 1e999999 (and a rate), a delivery date of
9999-12-31, the monthly report for 9999-12, and an XLSX ledger carrying an external entity or a
"billion laughs" expansion (refused before openpyxl or the XML parser sees it)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from app.web import create_app
from services.bootstrap import Services
from tests.arrears.conftest import CREDITOR, DEBTORS, Campaign, build_campaign
from tests.arrears.test_web import bearer, csrf_of
from tests.arrears.test_web import login as login
from tests.helpers import snapshot

COMPLAINT = {"creditor_uscc": CREDITOR, "creditor_name": "南昌测试科技有限公司", "debtor_uscc": DEBTORS["gov"][0],
             "contract_no": "HT-9", "signed_on": "2024-01-10", "delivered_on": "2024-03-01", "amount": "1000"}
XXE = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
       '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
       '<c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
          + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
          '<c r="A1" t="inlineStr"><is><t>&i;</t></is></c></row></sheetData></worksheet>')


@pytest.fixture
def world(services: Services) -> Campaign:
    return build_campaign(services)


def xlsx_with_sheet(sheet_xml: str) -> bytes:
    """A real workbook (openpyxl) whose first sheet is replaced by `sheet_xml`."""
    book = Workbook()
    book.active.append(["x"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = sheet_xml.encode() if item.filename == "xl/worksheets/sheet1.xml" else src.read(item)
            dst.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("amount", "1e999999", "金额须小于 10,000,000,000,000 元"),
    ("agreed_rate", "1e999999", "年利率须在 0 到 100 之间"),
    ("delivered_on", "9999-12-31", "日期须在 1900-01-01 至 2099-12-31 之间"),
    ("signed_on", "9999-12-31", "日期须在 1900-01-01 至 2099-12-31 之间"),
])
def test_overflowing_values_are_refused_with_the_field_and_rule(world: Campaign, field: str, value: str,
                                                                rule: str) -> None:
    headers = bearer(world, "bureau")
    before = snapshot(world.services)
    with TestClient(create_app(world.services)) as c:
        r = c.post("/api/v1/arrears/cases", headers=headers, json={**COMPLAINT, field: value})
    assert r.status_code == 422 and r.json()["field"] == field and rule in r.json()["rule"], r.text
    assert snapshot(world.services) == before


def test_the_report_of_a_month_beyond_the_calendar_is_refused(world: Campaign,
                                                              login: Callable[[str], TestClient]) -> None:
    page = login("manager").get("/arrears/report.xlsx", params={"month": "9999-12"})
    assert page.status_code == 422 and "月份须在 1900-01 至 2099-12 之间" in page.text


@pytest.mark.parametrize("sheet", [XXE, LAUGHS], ids=["external entity", "billion laughs"])
def test_an_xlsx_ledger_declaring_entities_is_refused(world: Campaign, login: Callable[[str], TestClient],
                                                     sheet: str) -> None:
    bureau = login("bureau")
    token = csrf_of(bureau.get("/arrears/import").text)
    before = snapshot(world.services)
    r = bureau.post("/arrears/import", data={"csrf_token": token},
                    files={"file": ("ledger.xlsx", xlsx_with_sheet(sheet), "application/octet-stream")})
    assert r.status_code == 422 and "含有 DTD 或实体声明" in r.text and "root:" not in r.text
    assert snapshot(world.services) == before
