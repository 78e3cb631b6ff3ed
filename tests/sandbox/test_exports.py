"""What a person opens: the SVG charts escape every text they draw (award names come from a draft
file), and the lists neutralise cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io

from services.sandbox import Change
from services.sandbox.charts import bars_svg, wan
from services.sandbox.export import changes_csv


def test_chart_text_is_escaped() -> None:
    svg = bars_svg("按奖励类型的预计支出", ['<script>alert("x")</script>'], [("草案", "#000", [1_000_000])])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert ">1<" in svg  # 1_000_000 fen = 1 万元, the bar's label


def test_wan_rounds_half_up() -> None:
    assert (wan(12_345_000), wan(12_355_000), wan(100_000_000), wan(0)) == ("12.35", "12.36", "100", "0")


def test_lists_neutralise_formulas() -> None:
    row = Change(7, "=HYPERLINK(\"http://x\")", "donghu", 5_000_000, 0, ("奖励甲",), ())
    lines = list(csv.reader(io.StringIO(changes_csv([row], {"donghu": "东湖区"}).decode("utf-8-sig"))))
    assert lines[1][:6] == ["7", "'=HYPERLINK(\"http://x\")", "东湖区", "50000.00", "0.00", "50000.00"]
