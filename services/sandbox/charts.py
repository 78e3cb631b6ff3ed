"""Server-side SVG charts of a simulation (no JavaScript, no chart library): horizontal grouped bars,
the draft beside the edition it is compared with, amounts in 万元. Every text is XML-escaped."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape, quoteattr

from services.sandbox.model import SimulationResult

__all__ = ["AGAINST_COLOUR", "DRAFT_COLOUR", "award_chart", "bars_svg", "district_chart", "wan"]

DRAFT_COLOUR = "#1f6feb"
AGAINST_COLOUR = "#9aa5b1"
_ROW, _BAR, _LEFT, _RIGHT, _TOP = 34, 12, 260, 90, 40


def wan(fen: int) -> str:
    """Fen as 万元 with up to two decimals: 12_345_000 -> '12.35'."""
    value = (Decimal(fen) / Decimal(1_000_000)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:,}".rstrip("0").rstrip(".") if "." in f"{value}" else f"{value:,}"


def bars_svg(title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]],
             width: int = 760) -> str:
    """One horizontal bar per series and label; ``series`` is (name, colour, values in fen)."""
    top = max([0, *(v for _, _, values in series for v in values)])
    plot = width - _LEFT - _RIGHT
    height = _TOP + _ROW * len(labels) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label={quoteattr(title)} '
             f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" font-size="12">',
             f'<text x="0" y="16" font-weight="bold">{escape(title)}（万元）</text>']
    x = _LEFT
    for name, colour, _ in series:
        parts.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="33">{escape(name)}</text>')
        x += 14 + 14 * len(name) + 20
    for i, label in enumerate(labels):
        y = _TOP + i * _ROW
        short = label if len(label) <= 20 else label[:19] + "…"
        parts.append(f'<text x="{_LEFT - 6}" y="{y + _BAR + 4}" text-anchor="end">{escape(short)}'
                     f'<title>{escape(label)}</title></text>')
        for j, (name, colour, values) in enumerate(series):
            length = 0 if top == 0 else round(plot * values[i] / top, 1)
            by = y + j * (_BAR + 2)
            parts.append(f'<rect x="{_LEFT}" y="{by}" width="{length}" height="{_BAR}" fill="{colour}">'
                         f'<title>{escape(name)}：{wan(values[i])} 万元</title></rect>'
                         f'<text x="{_LEFT + length + 4}" y="{by + _BAR - 2}" fill="#3e4c59">{wan(values[i])}</text>')
    parts.append(f'<line x1="{_LEFT}" y1="{_TOP - 4}" x2="{_LEFT}" y2="{height - 26}" stroke="#52606d"/></svg>')
    return "".join(parts)


def award_chart(result: SimulationResult) -> str:
    """Expected cost (at the observed ratio) by award type: the draft beside the comparison."""
    rows = result.awards
    return bars_svg("按奖励类型的预计支出", [a.name_zh for a in rows],
                    [("草案", DRAFT_COLOUR, [a.draft.cost_ratio_fen for a in rows]),
                     ("比较版本", AGAINST_COLOUR, [a.against.cost_ratio_fen for a in rows])])


def district_chart(result: SimulationResult) -> str:
    """Expected cost (at the observed ratio) by district: the draft beside the comparison."""
    rows = result.districts
    return bars_svg("按区县的预计支出", [d.name_zh for d in rows],
                    [("草案", DRAFT_COLOUR, [d.draft.cost_ratio_fen for d in rows]),
                     ("比较版本", AGAINST_COLOUR, [d.against.cost_ratio_fen for d in rows])])
