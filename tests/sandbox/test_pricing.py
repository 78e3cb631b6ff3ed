"""The pricing core on the hand-computed pool (tests/sandbox/pool.py). Every expected figure is
worked out by hand: 1 万元 = 1_000_000 fen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from config.policy import load_editions
from services.sandbox import Options, Rate, price
from services.sandbox.drafts import read_draft_file
from tests.sandbox.pool import AS_OF, LGN, PAID, SRP, pool

W = 1_000_000  # fen in one 万元
DRAFT = read_draft_file((Path(__file__).parent / "data" / "test-sandbox-draft.toml").read_bytes(), "draft.toml").edition
CURRENT = next(e for e in load_editions() if e.code == "2022-109")
HALF = Rate(Decimal("0.5"), None)


def options(**kw: object) -> Options:
    kinds = {(a.honour_type, a.level) for e in (DRAFT, CURRENT) for a in e.award_types}
    base: dict[object, object] = dict(as_of=AS_OF, take_up=dict.fromkeys(kinds, HALF),
                                      ratio={LGN: Rate(Decimal("0.8"), 3), SRP: Rate(Decimal("0.75"), 4)},
                                      take_up_mode="0.5", highest_only=True, after_lower_paid="difference",
                                      matching_share=Decimal("0.4"))
    base.update(kw)
    return Options(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return price(DRAFT, CURRENT, pool(), PAID, options())


def test_awards_per_type(result) -> None:  # type: ignore[no-untyped-def]
    rows = {(a.honour_type, a.level): a for a in result.awards}
    # (awards, cost at cap, cost at ratio) draft / current, take-up 0.5
    expect = {
        ("little_giant", "national"): ((5, 110 * W, 88 * W), (4, 60 * W, 48 * W)),
        ("single_champion", "national"): ((1, 15 * W, 15 * W), (2, 30 * W, 30 * W)),
        ("single_champion", "province"): ((2, 20 * W, 20 * W), (2, 20 * W, 20 * W)),
        ("srdi_sme", "province"): ((10, 37_500_000, 28_125_000), (8, 21_500_000, 16_125_000)),
        ("innovative_sme", "province"): ((1, 1 * W, 1 * W), (0, 0, 0)),
        ("service_platform", "national"): ((1, 15 * W, 15 * W), (1, 15 * W, 15 * W)),
        ("service_platform", "city"): ((1, 5 * W, 5 * W), (1, 5 * W, 5 * W)),
        ("specialised_little_giant", "province"): ((0, 0, 0), (2, 20 * W, 20 * W)),
        ("srdi_sme", "city"): ((0, 0, 0), (2, 5 * W, 5 * W)),
        ("innovation_base", "city"): ((0, 0, 0), (1, 5 * W, 5 * W)),
    }
    for kind, (draft, current) in expect.items():
        row = rows[kind]
        assert (row.draft.awards, row.draft.cost_cap_fen, row.draft.cost_ratio_fen) == draft, kind
        assert (row.against.awards, row.against.cost_cap_fen, row.against.cost_ratio_fen) == current, kind
    assert rows[("little_giant", "national")].delta_cap_fen == 50 * W
    assert rows[("srdi_sme", "city")].draft_code is None  # the draft drops the city 专精特新 award
    assert result.total("draft").cost_cap_fen == 203_500_000
    assert result.total("draft").cost_ratio_fen == 172_125_000
    assert result.total("against").cost_cap_fen == 181_500_000
    assert result.total("against").cost_ratio_fen == 164_125_000


def test_highest_only_effect(result) -> None:  # type: ignore[no-untyped-def]
    rows = {(a.honour_type, a.level): a for a in result.awards}
    # draft: ent 30's 小巨人 reduced by the 30 paid, ent 17's 单项冠军, ents 7/19 SRP and 16's SRP reduced, 18's 创新型
    assert (rows[LGN].draft.dropped, rows[LGN].draft.dropped_cap_fen) == (1, 15 * W)
    assert (rows[("single_champion", "national")].draft.dropped, rows[SRP].draft.dropped) == (1, 3)
    assert result.total("draft").dropped == 6 and result.total("draft").dropped_cap_fen == 41_500_000
    assert result.total("against").dropped == 7 and result.total("against").dropped_cap_fen == 44 * W
    # without 就高不重复 every honour pays its full cap (take-up 1): 407 + 83 = 490 万元
    off = price(DRAFT, CURRENT, pool(), PAID, options(highest_only=False, take_up={}, ratio={}))
    assert off.total("draft").cost_cap_fen == 490 * W and off.total("draft").dropped == 0
    # "none": a later higher award after a lower one was paid pays nothing (ents 16 and 30)
    none = price(DRAFT, CURRENT, pool(), PAID, options(after_lower_paid="none", take_up={}, ratio={}))
    assert none.total("draft").cost_cap_fen == (407 - 3 - 20) * W


def test_districts(result) -> None:  # type: ignore[no-untyped-def]
    got = {d.district: (d.draft.cost_cap_fen, d.draft.cost_ratio_fen, d.against.cost_cap_fen, d.against.cost_ratio_fen)
           for d in result.districts}
    assert got == {
        "donghu": (44 * W, 35 * W, 46 * W, 38_500_000),
        "xihu": (54 * W, 48 * W, 42_500_000, 39_500_000),
        "honggutan": (35_500_000, 29_125_000, 28_500_000, 27_625_000),
        "qingshanhu": (43 * W, 36 * W, 33_500_000, 29 * W),
        "nanchang_county": (27 * W, 24 * W, 31 * W, 29_500_000),
    }


def test_fund_lines(result) -> None:  # type: ignore[no-untyped-def]
    lines = {f.line: (f.draft_cap_fen, f.draft_ratio_fen, f.against_cap_fen, f.against_ratio_fen) for f in result.funds}
    # each district carries 0.4 of its enterprises' awards; the city's fund the rest
    assert lines == {
        "city": (122_100_000, 103_275_000, 108_900_000, 98_475_000),
        "donghu": (17_600_000, 14 * W, 18_400_000, 15_400_000),
        "xihu": (21_600_000, 19_200_000, 17 * W, 15_800_000),
        "honggutan": (14_200_000, 11_650_000, 11_400_000, 11_050_000),
        "qingshanhu": (17_200_000, 14_400_000, 13_400_000, 11_600_000),
        "nanchang_county": (10_800_000, 9_600_000, 12_400_000, 11_800_000),
    }
    assert result.funds[0].name_zh == "测试数据：市级专项资金"


def test_gainers_and_losers(result) -> None:  # type: ignore[no-untyped-def]
    gained = {c.enterprise_id: c.delta_fen // W for c in result.gainers}
    lost = {c.enterprise_id: c.delta_fen // W for c in result.losers}
    assert gained == {1: 20, 3: 2, 4: 2, 6: 2, 7: 20, 11: 8, 16: 2, 17: 20, 18: 2, 20: 2, 21: 2, 23: 20, 25: 2,
                      26: 2, 30: 20}
    assert lost == {2: -30, 5: -20, 10: -5, 14: -10, 22: -5, 28: -12}
    assert [c.enterprise_id for c in result.losers][:2] == [2, 5]  # biggest loss first
    ent28 = next(c for c in result.losers if c.enterprise_id == 28)
    assert ent28.against_awards == ("江西省专业化“小巨人”企业奖励",)
    assert ent28.draft_awards == ("测试：江西省“专精特新”中小企业奖励",)
    assert (result.pool_enterprises, result.pool_honours) == (30, 38)


def test_rounding_half_up_once_per_cell() -> None:
    # take-up 1/3 of one 6万 award in one district: 20,000.00 yuan exactly; ratio 0.3333: 6666.66.. -> 666667 fen
    third = Rate(Decimal("0.3333"), None)
    one = [p for p in pool() if p.id == 3]
    r = price(DRAFT, CURRENT, one, [], options(take_up={SRP: third}, ratio={SRP: third}))
    row = next(a for a in r.awards if (a.honour_type, a.level) == SRP)
    assert row.against.cost_cap_fen == 1_999_800  # 6_000_000 × 0.3333
    assert row.against.cost_ratio_fen == 666_533  # 1_999_800 × 0.3333 = 666_533.34 -> 666_533
