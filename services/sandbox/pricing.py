"""The pricing core: pure, no I/O. Given a draft edition, the edition it is compared with, a date,
the pool, take-up and award/cap ratios per award kind, the 就高不重复 setting and the awards already
paid, it says who would be paid what under each edition, per award type and per district, what the
fund lines need, and who gains or loses.

The rules, the same for both editions:

- An award is matched to an honour by its kind, (honour type, level). The honour qualifies when it
  was recognised on or before the date, is still valid on it (``valid_until`` unknown counts as
  valid), and was recognised inside the edition's coverage (``Edition.covers``).
- An award is one-time: an honour already paid (by any edition) pays nothing more. Two honours of
  one kind of one enterprise pay one award.
- 就高不重复 (``highest_only``): per enterprise and measure only the award of the highest level
  (then the highest cap, then the last code, so a tie is settled the same way every time) is paid;
  when a lower award of that measure was paid already, ``after_lower_paid`` "difference" pays the
  cap less what was paid and "none" pays nothing.
- Expected cost = cap × take-up (cost at the cap) and × the observed award/cap ratio too (cost at
  the ratio), each rounded half up to the fen once per (award kind, district) cell; award, district
  and fund totals are sums of those cells, so they agree to the fen.
- Matching: each district's matching fund carries ``matching_share`` of what its enterprises are
  paid (rounded half up once per district); the city's fund carries the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from config.policy import AwardType, Edition
from services.sandbox.model import (
    AwardFigures,
    Change,
    DistrictFigures,
    FundLine,
    PaidAward,
    PoolEnterprise,
    Rate,
    Side,
    SimulationResult,
)

__all__ = ["ONE", "Options", "price"]

Kind = tuple[str, str]
ONE = Rate(Decimal(1), 0, "无历史记录，按全部计")


@dataclass(frozen=True)
class Options:
    """What the simulation assumes besides the editions and the pool."""

    as_of: date
    take_up: Mapping[Kind, Rate]  # per (honour type, level); a kind without one counts as 1
    ratio: Mapping[Kind, Rate]  # observed awarded/cap per kind; without one: 1 (the cap)
    take_up_mode: str = "observed"
    highest_only: bool = True
    after_lower_paid: str = "difference"
    matching_share: Decimal = Decimal(0)


class _Tally:
    """Sums of one edition, per (kind, district) cell, before rounding."""

    def __init__(self) -> None:
        self.count: dict[tuple[Kind, str], int] = defaultdict(int)
        self.cap: dict[tuple[Kind, str], int] = defaultdict(int)
        self.dropped: dict[tuple[Kind, str], int] = defaultdict(int)
        self.dropped_cap: dict[tuple[Kind, str], int] = defaultdict(int)


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class _Edition:
    """One edition compiled for the loop: award and ordering key per kind, coverage, its sums."""

    def __init__(self, edition: Edition, options: Options) -> None:
        rank = {lv.code: lv.rank for lv in edition.levels}
        self.by_kind: dict[Kind, tuple[AwardType, tuple[int, int, str]]] = {
            (a.honour_type, a.level): (a, (rank[a.level], a.cap_fen, a.code)) for a in edition.award_types}
        self.first, self.last = edition.coverage_from, edition.in_force_until
        self.highest_only = options.highest_only
        self.difference = options.after_lower_paid != "none"
        self.tally = _Tally()

    def pay(self, enterprise: PoolEnterprise, live: list[tuple[Kind, date]],
            paid_measure: Mapping[tuple[int, int], int]) -> tuple[int, tuple[str, ...]]:
        """Tally what the enterprise would be paid; return its total at the cap and the award names."""
        found: dict[str, tuple[AwardType, tuple[int, int, str]]] = {}
        for kind, recognised in live:
            entry = self.by_kind.get(kind)
            if entry is not None and self.first <= recognised <= self.last:
                found[entry[0].code] = entry
        if not found:
            return 0, ()
        tally, district = self.tally, enterprise.district
        paid: list[tuple[AwardType, int]] = []
        if not self.highest_only:
            paid = [(a, a.cap_fen) for a, _ in found.values()]
        else:
            best: dict[int, tuple[AwardType, tuple[int, int, str]]] = {}
            for award, key in found.values():
                held = best.get(award.measure)
                if held is None or key > held[1]:
                    best[award.measure] = (award, key)
            for award, _ in found.values():
                if best[award.measure][0] is not award:
                    self._drop(award, award.cap_fen, district)
            for measure, (award, _) in best.items():
                already = paid_measure.get((enterprise.id, measure), 0)
                payable = award.cap_fen if not already else (
                    max(0, award.cap_fen - already) if self.difference else 0)
                if payable > 0:
                    paid.append((award, payable))
                if payable < award.cap_fen:
                    self._drop(award, award.cap_fen - payable, district)
        for award, fen in paid:
            cell = ((award.honour_type, award.level), district)
            tally.count[cell] += 1
            tally.cap[cell] += fen
        return sum(f for _, f in paid), tuple(a.name_zh for a, _ in paid)

    def _drop(self, award: AwardType, fen: int, district: str) -> None:
        cell = ((award.honour_type, award.level), district)
        self.tally.dropped[cell] += 1
        self.tally.dropped_cap[cell] += fen


def price(draft: Edition, against: Edition, pool: Iterable[PoolEnterprise], paid: Iterable[PaidAward],
          options: Options, *, unit_name: Callable[[str], str] = str) -> SimulationResult:
    """Price ``draft`` and ``against`` on the same pool and assumptions (see the module's rules)."""
    paid_honours: set[int] = set()
    paid_measure: dict[tuple[int, int], int] = defaultdict(int)
    for p in paid:
        if p.honour_id is not None:
            paid_honours.add(p.honour_id)
        paid_measure[(p.enterprise_id, p.measure)] += p.amount_fen
    on = options.as_of
    d_side, a_side = _Edition(draft, options), _Edition(against, options)
    gainers: list[Change] = []
    losers: list[Change] = []
    enterprises = honours = 0
    for ent in pool:
        enterprises += 1
        honours += len(ent.honours)
        live = [((ht, lv), rec) for hid, ht, lv, rec, until in ent.honours
                if rec <= on and (until is None or until >= on) and hid not in paid_honours]
        if not live:
            continue
        d_fen, d_names = d_side.pay(ent, live, paid_measure)
        a_fen, a_names = a_side.pay(ent, live, paid_measure)
        if d_fen != a_fen:
            change = Change(ent.id, ent.name, ent.district, d_fen, a_fen, d_names, a_names)
            (gainers if d_fen > a_fen else losers).append(change)
    tallies = {"draft": d_side.tally, "against": a_side.tally}
    sides = ("draft", "against")
    cells = {name: _cells(tallies[name], options) for name in sides}
    gainers.sort(key=lambda c: (-c.delta_fen, c.enterprise_id))
    losers.sort(key=lambda c: (c.delta_fen, c.enterprise_id))
    return SimulationResult(
        draft_code=draft.code, draft_title=draft.title, against_code=against.code, against_title=against.title,
        as_of=options.as_of, take_up_mode=options.take_up_mode, highest_only=options.highest_only,
        after_lower_paid=options.after_lower_paid, matching_share=options.matching_share,
        pool_enterprises=enterprises, pool_honours=honours,
        awards=_award_rows(draft, against, cells, options),
        districts=_district_rows(cells, unit_name),
        funds=_fund_lines(cells, options.matching_share, unit_name, draft.fund_name),
        gainers=tuple(gainers), losers=tuple(losers))


def _cells(tally: _Tally, options: Options) -> dict[tuple[Kind, str], Side]:
    """Round each (kind, district) cell once: cap × take-up, and × ratio too."""
    out: dict[tuple[Kind, str], Side] = {}
    for cell in set(tally.count) | set(tally.dropped):
        take_up = options.take_up.get(cell[0], ONE).value
        ratio = options.ratio.get(cell[0], ONE).value
        cap = Decimal(tally.cap.get(cell, 0)) * take_up
        out[cell] = Side(awards=tally.count.get(cell, 0), cost_cap_fen=_fen(cap), cost_ratio_fen=_fen(cap * ratio),
                         dropped=tally.dropped.get(cell, 0),
                         dropped_cap_fen=_fen(Decimal(tally.dropped_cap.get(cell, 0)) * take_up))
    return out


def _add(a: Side, b: Side) -> Side:
    return Side(a.awards + b.awards, a.cost_cap_fen + b.cost_cap_fen, a.cost_ratio_fen + b.cost_ratio_fen,
                a.dropped + b.dropped, a.dropped_cap_fen + b.dropped_cap_fen)


def _sum_by(cells: Mapping[tuple[Kind, str], Side], key: Callable[[tuple[Kind, str]], object]) -> dict:
    out: dict[object, Side] = defaultdict(Side)
    for cell, side in cells.items():
        out[key(cell)] = _add(out[key(cell)], side)
    return out


def _award_rows(draft: Edition, against: Edition, cells: Mapping[str, Mapping[tuple[Kind, str], Side]],
                options: Options) -> tuple[AwardFigures, ...]:
    by_kind = {name: _sum_by(c, lambda cell: cell[0]) for name, c in cells.items()}
    d_awards = {(a.honour_type, a.level): a for a in draft.award_types}
    a_awards = {(a.honour_type, a.level): a for a in against.award_types}
    order = [*d_awards, *(k for k in a_awards if k not in d_awards)]
    rows = []
    for kind in order:
        d, a = d_awards.get(kind), a_awards.get(kind)
        shown = d or a
        assert shown is not None
        rows.append(AwardFigures(
            honour_type=kind[0], level=kind[1], measure=shown.measure, name_zh=shown.name_zh,
            draft_code=d.code if d else None, draft_cap_fen=d.cap_fen if d else None,
            against_code=a.code if a else None, against_cap_fen=a.cap_fen if a else None,
            take_up=options.take_up.get(kind, ONE), ratio=options.ratio.get(kind, ONE),
            draft=by_kind["draft"].get(kind, Side()), against=by_kind["against"].get(kind, Side())))
    return tuple(rows)


def _district_rows(cells: Mapping[str, Mapping[tuple[Kind, str], Side]],
                   unit_name: Callable[[str], str]) -> tuple[DistrictFigures, ...]:
    by_unit = {name: _sum_by(c, lambda cell: cell[1]) for name, c in cells.items()}
    units = sorted(set(by_unit["draft"]) | set(by_unit["against"]))
    return tuple(DistrictFigures(str(u), unit_name(str(u)), by_unit["draft"].get(u, Side()),
                                 by_unit["against"].get(u, Side())) for u in units)


def _fund_lines(cells: Mapping[str, Mapping[tuple[Kind, str], Side]], share: Decimal,
                unit_name: Callable[[str], str], fund_name: str) -> tuple[FundLine, ...]:
    by_unit = {name: _sum_by(c, lambda cell: cell[1]) for name, c in cells.items()}
    units = sorted(set(by_unit["draft"]) | set(by_unit["against"]))

    def part(name: str, unit: object, field: str) -> int:
        return _fen(Decimal(getattr(by_unit[name].get(unit, Side()), field)) * share)

    lines = [FundLine(str(u), unit_name(str(u)), part("draft", u, "cost_cap_fen"), part("draft", u, "cost_ratio_fen"),
                      part("against", u, "cost_cap_fen"), part("against", u, "cost_ratio_fen")) for u in units]
    lines = [line for line in lines if any((line.draft_cap_fen, line.draft_ratio_fen, line.against_cap_fen,
                                            line.against_ratio_fen))]

    def city(name: str, field: str, line_field: str) -> int:
        total = sum(getattr(s, field) for s in by_unit[name].values())
        return total - sum(getattr(line, line_field) for line in lines)

    head = FundLine("city", fund_name, city("draft", "cost_cap_fen", "draft_cap_fen"),
                    city("draft", "cost_ratio_fen", "draft_ratio_fen"),
                    city("against", "cost_cap_fen", "against_cap_fen"),
                    city("against", "cost_ratio_fen", "against_ratio_fen"))
    return (head, *lines)
