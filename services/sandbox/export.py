"""A simulation as a workbook (XLSX) and its gainers/losers as CSV, safe to open in a spreadsheet.

Sheets: 概要 (what was priced, totals), 奖励类型, 区县, 资金需求, 增加奖励的企业, 减少奖励的企业. The two
charts of the page (cost by award type and by district, draft beside current) are native charts
on their sheets. Amounts are yuan as exact Decimals (#,##0.00), never floats computed from fen;
a text cell that would start a formula gets a leading quote (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from services.sandbox.model import Change, Rate, SimulationResult

__all__ = ["CHANGE_COLUMNS", "XLSX_MEDIA_TYPE", "changes_csv", "rate_text", "to_xlsx", "yuan_decimal"]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY = "#,##0.00"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHANGE_COLUMNS = ("企业编号", "企业名称", "区县", "草案下奖励（元，按上限）", "现行下奖励（元，按上限）", "差额（元）",
                  "草案下的奖励", "现行下的奖励")
AWARD_COLUMNS = ("奖励类型", "草案预计支出（按核定比例，元）", "现行预计支出（按核定比例，元）", "草案上限（元）",
                 "现行上限（元）", "草案符合条件", "现行符合条件", "草案按上限（元）", "现行按上限（元）",
                 "差额（按上限，元）", "差额（按核定比例，元）", "领取率", "核定额/上限",
                 "就高不重复减少（草案）", "就高不重复减少（现行）")
FUND_COLUMNS = ("资金", "草案按上限（元）", "草案按核定比例（元）", "现行按上限（元）", "现行按核定比例（元）")
Cell = str | int | Decimal | None


def yuan_decimal(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen).scaleb(-2)


def _text(value: str) -> str:
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def rate_text(rate: Rate) -> str:
    """'0.75（12 件）' for an observed rate, '0.5（指定）' for a fixed one."""
    basis = "指定" if rate.cases is None else f"{rate.cases} 件"
    return f"{rate.value}（{basis}）"


def _sheet(wb: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]],
           money_cols: Sequence[int] = ()) -> Worksheet:
    ws = wb.create_sheet(title)
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_text(v) if isinstance(v, str) else v for v in row])
    for col in money_cols:
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            cell.number_format = MONEY
    for i, _ in enumerate(header, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = 18 if i > 1 else 36
    return ws


def _chart(ws: Worksheet, title: str, rows: int, draft_col: int, against_col: int, anchor: str) -> None:
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.y_axis.title = "元"
    chart.height, chart.width = max(7.5, 0.9 * rows), 22
    for col in (draft_col, against_col):
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=rows + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=rows + 1))
    ws.add_chart(chart, anchor)


def change_rows(changes: Iterable[Change]) -> list[list[Cell]]:
    return [[c.enterprise_id, c.name, c.district, yuan_decimal(c.draft_fen), yuan_decimal(c.against_fen),
             yuan_decimal(c.delta_fen), "、".join(c.draft_awards), "、".join(c.against_awards)] for c in changes]


def to_xlsx(result: SimulationResult, *, simulation_id: int, actor: str, sha256: str,
            unit_name: dict[str, str] | None = None) -> bytes:
    """The workbook of one recorded simulation."""
    names = unit_name or {}
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "概要"
    d, a = result.total("draft"), result.total("against")
    for row in (("测算记录编号", simulation_id), ("测算人", actor),
                ("草案", f"{result.draft_title}（{result.draft_code}）"), ("草案文件 SHA-256", sha256),
                ("比较版本", f"{result.against_title}（{result.against_code}）"),
                ("测算日期", result.as_of.isoformat()), ("领取率", result.take_up_mode),
                ("就高不重复", "是" if result.highest_only else "否"), ("区县配套比例", str(result.matching_share)),
                ("企业库", f"{result.pool_enterprises} 家企业，{result.pool_honours} 项荣誉"),
                ("草案预计支出（按上限，元）", yuan_decimal(d.cost_cap_fen)),
                ("草案预计支出（按核定比例，元）", yuan_decimal(d.cost_ratio_fen)),
                ("现行预计支出（按上限，元）", yuan_decimal(a.cost_cap_fen)),
                ("现行预计支出（按核定比例，元）", yuan_decimal(a.cost_ratio_fen)),
                ("差额（按核定比例，元）", yuan_decimal(d.cost_ratio_fen - a.cost_ratio_fen)),
                ("增加奖励的企业", len(result.gainers)), ("减少奖励的企业", len(result.losers))):
        summary.append([row[0], _text(row[1]) if isinstance(row[1], str) else row[1]])
        if isinstance(row[1], Decimal):
            summary.cell(summary.max_row, 2).number_format = MONEY
    summary.column_dimensions["A"].width, summary.column_dimensions["B"].width = 34, 70

    awards = _sheet(wb, "奖励类型", AWARD_COLUMNS,
        [[x.name_zh, yuan_decimal(x.draft.cost_ratio_fen), yuan_decimal(x.against.cost_ratio_fen),
          yuan_decimal(x.draft_cap_fen), yuan_decimal(x.against_cap_fen), x.draft.awards, x.against.awards,
          yuan_decimal(x.draft.cost_cap_fen), yuan_decimal(x.against.cost_cap_fen), yuan_decimal(x.delta_cap_fen),
          yuan_decimal(x.delta_ratio_fen), rate_text(x.take_up), rate_text(x.ratio), x.draft.dropped,
          x.against.dropped] for x in result.awards], money_cols=(2, 3, 4, 5, 8, 9, 10, 11))
    _chart(awards, "按奖励类型的预计支出：草案与现行", len(result.awards), 2, 3, "A" + str(len(result.awards) + 4))
    districts = _sheet(wb, "区县", ("区县", "草案预计支出（按核定比例，元）", "现行预计支出（按核定比例，元）",
                                     "草案按上限（元）", "现行按上限（元）", "草案奖励数", "现行奖励数"),
                       [[x.name_zh, yuan_decimal(x.draft.cost_ratio_fen), yuan_decimal(x.against.cost_ratio_fen),
                         yuan_decimal(x.draft.cost_cap_fen), yuan_decimal(x.against.cost_cap_fen), x.draft.awards,
                         x.against.awards] for x in result.districts], money_cols=(2, 3, 4, 5))
    _chart(districts, "按区县的预计支出：草案与现行", len(result.districts), 2, 3,
           "A" + str(len(result.districts) + 4))
    _sheet(wb, "资金需求", FUND_COLUMNS,
           [[f.name_zh if f.line == "city" else f"{f.name_zh} 配套资金", yuan_decimal(f.draft_cap_fen),
             yuan_decimal(f.draft_ratio_fen), yuan_decimal(f.against_cap_fen), yuan_decimal(f.against_ratio_fen)]
            for f in result.funds], money_cols=(2, 3, 4, 5))
    for title, changes in (("增加奖励的企业", result.gainers), ("减少奖励的企业", result.losers)):
        listed = change_rows(changes)
        for line in listed:
            line[2] = names.get(str(line[2]), line[2])
        _sheet(wb, title, CHANGE_COLUMNS, listed, money_cols=(4, 5, 6))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def changes_csv(changes: Iterable[Change], unit_name: dict[str, str] | None = None) -> bytes:
    """Gainers or losers as CSV (UTF-8 with BOM, every field quoted, amounts as exact yuan text)."""
    names = unit_name or {}
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CHANGE_COLUMNS)
    for row in change_rows(changes):
        row[2] = names.get(str(row[2]), row[2])
        writer.writerow(["" if v is None else _text(v) if isinstance(v, str) else str(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode()
