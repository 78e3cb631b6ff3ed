"""Importing official recognition lists into the pool: validation per row, all or nothing, --partial,
idempotence, names flagged (never overwritten), tiers, and the unsafe files refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from services.awards import enterprises
from services.bootstrap import Services
from services.db.models import AuditEvent, Enterprise, Honour
from services.db.models_pool import EnterpriseNameFlag, HonourSource, RecognitionBatch
from services.errors import InvalidInput
from services.pool.views import PoolFilter, pool_rows
from tests.pool.conftest import run_import
from tests.pool.lists import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    HEADER,
    code,
    csv_file,
    wrong_check,
    xlsx_file,
    xlsx_with_doctype,
)

KNOWN = code("360102", 1)  # 东湖区
NEW_A = code("360103", 2)  # 西湖区
NEW_B = code("360121", 3)  # 南昌县
ROWS = [
    [KNOWN, "南昌测试新名称科技有限公司", "“专精特新”中小企业", "江西省", "赣工信测字〔2023〕1号", "2023-08-01", "3年"],
    [
        NEW_A,
        "南昌测试甲科技有限公司",
        "专精特新“小巨人”企业",
        "国家级",
        "工信测字〔2023〕2号",
        "2023-07-15",
        "2026-07-14",
    ],
    [NEW_A, "南昌测试甲科技有限公司", "“专精特新”中小企业", "江西省", "赣工信测字〔2022〕9号", "2022-05-10", ""],
    [NEW_B, "南昌测试乙科技有限公司", "创新型中小企业", "江西省", "赣工信测字〔2024〕3号", "2024-03-01", "3"],
]


def _known(services: Services) -> int:
    with services.uow() as uow:
        ent = enterprises.register(
            uow.session,
            uscc=KNOWN,
            name="南昌测试旧名称科技有限公司",
            review_unit_code="donghu",
            email=None,
            actor="admin",
            now=services.clock.now(),
            today=date(2024, 6, 3),
        )
        uow.commit()
        return ent.id


def _count(services: Services, model: type) -> int:
    with services.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_list_becomes_one_batch_with_new_enterprises_flagged_names_and_tiers(services: Services) -> None:
    known_id = _known(services)
    report = run_import(services, csv_file("good", ROWS))
    assert (report.rows, report.created, report.existing, report.rejected) == (4, 4, 0, 0)
    assert (report.enterprises_created, report.names_flagged) == (2, 1)
    with services.uow() as uow:
        s = uow.session
        assert s.get_one(Enterprise, known_id).name == "南昌测试旧名称科技有限公司"  # never overwritten
        flag = s.scalars(select(EnterpriseNameFlag)).one()
        assert (flag.listed_name, flag.stored_name, flag.line) == (
            "南昌测试新名称科技有限公司",
            "南昌测试旧名称科技有限公司",
            2,
        )
        units = {u: c for u, c in s.execute(select(Enterprise.uscc, Enterprise.review_unit_code))}
        assert units == {KNOWN: "donghu", NEW_A: "xihu", NEW_B: "nanchang_county"}
        sources = s.scalars(select(HonourSource).order_by(HonourSource.line)).all()
        assert [x.batch_id for x in sources] == [report.batch_id] * 4
        assert [x.valid_until for x in sources] == [date(2026, 8, 1), date(2026, 7, 14), None, date(2027, 3, 1)]
        kinds = sorted((t, lv) for t, lv in s.execute(select(Honour.honour_type, Honour.level)))
        assert kinds == [
            ("innovative_sme", "province"),
            ("little_giant", "national"),
            ("srdi_sme", "province"),
            ("srdi_sme", "province"),
        ]
        assert s.scalars(select(AuditEvent.kind).where(AuditEvent.kind == "pool.import")).all() == ["pool.import"]
        rows, total = pool_rows(s, services, user=None, filters=PoolFilter())
    assert total == 3
    assert [(r.uscc, r.tier.name_zh if r.tier else None) for r in rows] == [
        (NEW_A, "专精特新“小巨人”企业"),
        (KNOWN, "专精特新中小企业"),
        (NEW_B, "创新型中小企业"),
    ]
    assert rows[1].listed_names == ["南昌测试新名称科技有限公司"]


def test_reimporting_the_file_or_the_same_rows_changes_nothing(services: Services) -> None:
    first = run_import(services, csv_file("again", ROWS))
    assert first.created == 4
    same_file = run_import(services, csv_file("again", ROWS))
    assert same_file.same_file_batch == first.batch_id and same_file.created == 0
    same_rows = run_import(
        services, xlsx_file("again-as-xlsx", [[*r[:5], date.fromisoformat(r[5]), r[6]] for r in ROWS])
    )
    assert (same_rows.created, same_rows.existing, same_rows.batch_id) == (0, 4, None)
    assert _count(services, Honour) == 4
    assert _count(services, RecognitionBatch) == 1
    assert _count(services, Enterprise) == 3


BAD = [
    ROWS[1],
    [
        wrong_check(NEW_B),
        "南昌测试乙科技有限公司",
        "“专精特新”中小企业",
        "江西省",
        "赣工信测字〔2023〕5号",
        "2023-01-01",
        "",
    ],
    [NEW_B, "南昌测试乙科技有限公司", "优秀企业", "江西省", "赣工信测字〔2023〕6号", "2023-01-01", ""],
    [NEW_B, "南昌测试乙科技有限公司", "“专精特新”中小企业", "江西省", "赣工信测字〔2024〕7号", "2024-06-04", ""],
    ROWS[1],
]


def test_bad_rows_refuse_the_whole_list_naming_row_column_and_rule(services: Services) -> None:
    report = run_import(services, csv_file("bad-rows", BAD))
    assert report.batch_id is None and report.created == 0
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "统一社会信用代码"),
        (4, "荣誉类型"),
        (5, "认定日期"),
        (6, "认定文号"),
    ]
    text = [str(e) for e in report.errors]
    assert "校验码不符" in text[0]
    assert "未知的荣誉类型“优秀企业”" in text[1]
    assert "2024-06-04 晚于今天 2024-06-03" in text[2]
    assert "重复行：与第 2 行" in text[3]
    assert _count(services, Honour) == 0 and _count(services, Enterprise) == 0


def test_partial_keeps_the_good_rows(services: Services) -> None:
    report = run_import(services, csv_file("bad-rows-partial", BAD), partial=True)
    assert (report.created, report.rejected, report.error_count) == (1, 4, 4)
    with services.uow() as uow:
        assert uow.session.scalars(select(Enterprise.uscc)).all() == [NEW_A]
        batch = uow.session.scalars(select(RecognitionBatch)).one()
        assert (batch.partial, batch.rows_total, batch.rows_rejected) == (True, 5, 4)


def test_a_formula_cell_refuses_the_file_even_with_partial(services: Services) -> None:
    rows = [
        ROWS[1],
        [NEW_B, '=HYPERLINK("http://x.invalid","点击")', "“专精特新”中小企业", "江西省", "文号", "2023-01-01", ""],
    ]
    for path in (csv_file("formula", rows), xlsx_file("formula", rows)):
        report = run_import(services, path, partial=True)
        assert report.unsafe and report.batch_id is None
        assert [(e.row, e.column) for e in report.errors] == [(3, "企业名称")]
        assert "公式单元格" in str(report.errors[0])
    assert _count(services, Honour) == 0


@pytest.mark.parametrize("doctype", [EXTERNAL_ENTITY, BILLION_LAUGHS], ids=["external-entity", "billion-laughs"])
def test_xlsx_with_entity_declarations_is_refused(services: Services, doctype: str) -> None:
    path = xlsx_with_doctype("entity-" + str(len(doctype)), doctype)
    with pytest.raises(InvalidInput, match="DTD 或实体声明"):
        run_import(services, path)
    assert _count(services, RecognitionBatch) == 0


def test_empty_and_oversized_files_are_refused(services: Services) -> None:
    empty = csv_file("empty", [], header=[])
    with pytest.raises(InvalidInput, match="文件为空"):
        run_import(services, empty)
    header_only = csv_file("header-only", [])
    report = run_import(services, header_only)
    assert report.rows == 0 and report.batch_id is None
    services.settings.pool_import_max_bytes = 1000
    big = csv_file("big", ROWS * 10)
    with pytest.raises(InvalidInput, match="文件过大") as exc:
        run_import(services, big)
    assert exc.value.field == "file"


def test_a_missing_column_is_reported_on_the_header_row(services: Services) -> None:
    path = csv_file(
        "no-date-column", [r[:5] for r in ROWS], header=["统一社会信用代码", "企业名称", "荣誉类型", "级别", "认定文号"]
    )
    report = run_import(services, path)
    assert [str(e) for e in report.errors] == ["第 1 行 · 认定日期：缺少必填列"]


def test_a_new_enterprise_outside_the_known_divisions_needs_its_unit(services: Services) -> None:
    outside = code("360502", 9)  # another city's division
    rows = [[outside, "外地测试企业", "“专精特新”中小企业", "江西省", "赣工信测字〔2023〕8号", "2023-02-01", ""]]
    report = run_import(services, csv_file("no-unit", rows))
    assert [(e.row, e.column) for e in report.errors] == [(2, "统一社会信用代码")]
    with_unit = run_import(
        services, csv_file("with-unit", [[*r, "南昌高新技术产业开发区"] for r in rows], header=[*HEADER, "所属县区"])
    )
    assert with_unit.created == 1
