"""The pool page: the bureau imports a list and sees every district; a district officer sees its own
unit only; the export neutralises cells that would run as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient

from services.awards import enterprises
from services.bootstrap import Services
from tests.pool.lists import code, csv_file
from tests.web.conftest import csrf_of

ROWS = [
    [
        code("360102", 11),
        "南昌测试东湖科技有限公司",
        "“专精特新”中小企业",
        "江西省",
        "赣工信测字〔2023〕11号",
        "2023-08-01",
        "",
    ],
    [
        code("360103", 12),
        "南昌测试西湖科技有限公司",
        "专精特新“小巨人”企业",
        "国家级",
        "工信测字〔2023〕12号",
        "2023-07-15",
        "",
    ],
]


def _upload(c: TestClient, path: str, name: str, partial: bool = False) -> str:
    page = c.get("/pool")
    assert page.status_code == 200
    with open(path, "rb") as fh:
        r = c.post(
            "/pool/import",
            data={"csrf_token": csrf_of(page.text), "partial": "1" if partial else ""},
            files={"file": (name, fh.read(), "text/csv")},
        )
    assert r.status_code in (200, 422), r.text
    return r.text


def test_bureau_imports_and_a_district_sees_only_its_unit(world: Services, login: Callable[[str], TestClient]) -> None:
    bureau = login("bureau")
    path = csv_file("page", ROWS)
    html = _upload(bureau, str(path), path.name)
    assert "新增荣誉 2 项" in html
    assert "南昌测试东湖科技有限公司" in html and "南昌测试西湖科技有限公司" in html
    xihu = login("district-xihu").get("/pool")
    assert xihu.status_code == 200
    assert "南昌测试西湖科技有限公司" in xihu.text and "南昌测试东湖科技有限公司" not in xihu.text
    assert "导入认定名单" not in xihu.text  # only the bureau imports
    forged = login("district-xihu").get("/pool?unit=donghu")
    assert "南昌测试东湖科技有限公司" not in forged.text
    applicant = login("applicant-a").get("/pool")
    assert applicant.status_code == 403


def test_a_bad_list_on_the_page_names_row_and_rule(world: Services, login: Callable[[str], TestClient]) -> None:
    bureau = login("bureau")
    rows = [ROWS[0], [ROWS[1][0][:-1] + ("0" if ROWS[1][0][-1] != "0" else "1"), *ROWS[1][1:]]]
    path = csv_file("page-bad", rows)
    html = _upload(bureau, str(path), path.name)
    assert "未导入任何数据" in html and "校验码不符" in html and "<td>3</td>" in html


def test_export_neutralises_formula_like_names(world: Services, login: Callable[[str], TestClient]) -> None:
    with world.uow() as uow:
        ent = enterprises.register(
            uow.session,
            uscc=code("360104", 13),
            name="=1+1测试企业",
            review_unit_code="qingyunpu",
            email=None,
            actor="admin",
            now=world.clock.now(),
            today=date(2024, 6, 3),
        )
        enterprises.add_honour(
            uow.session,
            enterprise_id=ent.id,
            honour_type="srdi_sme",
            level="city",
            recognised_on=date(2023, 1, 5),
            document_no="洪测字〔2023〕1号",
            issuer=None,
            editions=world.editions,
            actor="admin",
            now=world.clock.now(),
        )
        uow.commit()
    r = login("bureau").get("/pool/export.csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["统一社会信用代码", "企业名称", "所属县区", "梯度"]
    named = [row for row in rows if "测试企业" in row[1]]
    assert named and named[0][1] == "'=1+1测试企业" and named[0][3] == "专精特新中小企业"
    assert login("bureau").get("/pool/export.xlsx").status_code == 200
