"""The hand-computed test pool: 30 enterprises in five districts (tiers: 小巨人, 单项冠军, 专业化小巨人,
专精特新 province and city, 创新型, platforms and bases), priced on 2025-10-01 under the test draft
(tests/sandbox/data, test data) and under edition 2022-109. The expected figures are in the tests,
worked out by hand in the comments beside each enterprise (caps in 万元: draft / 2022).
"""

from __future__ import annotations

from datetime import date

from services.sandbox import PaidAward, PoolEnterprise, PoolHonour

D = date
AS_OF = D(2025, 10, 1)
LGN, SCN, SCP, SLP = ("little_giant", "national"), ("single_champion", "national"), \
    ("single_champion", "province"), ("specialised_little_giant", "province")
SRP, SRC, INP = ("srdi_sme", "province"), ("srdi_sme", "city"), ("innovative_sme", "province")
SPN, SPC, IBC = ("service_platform", "national"), ("service_platform", "city"), ("innovation_base", "city")

# enterprise id -> (district, [(honour id, kind, recognised_on, valid_until)])
_POOL: dict[int, tuple[str, list[tuple[int, tuple[str, str], date, date | None]]]] = {
    1: ("donghu", [(101, LGN, D(2023, 5, 1), None)]),                       # 50 / 30
    2: ("donghu", [(201, LGN, D(2022, 6, 1), None)]),                       # 0 (before draft coverage) / 30
    3: ("donghu", [(301, SRP, D(2024, 3, 1), None)]),                       # 8 / 6
    4: ("donghu", [(401, SRP, D(2024, 3, 1), None), (402, SRC, D(2023, 4, 1), None)]),  # 8 / 6 (SRC dropped)
    5: ("donghu", [(501, SLP, D(2024, 1, 10), None)]),                      # 0 (no such award) / 20
    6: ("donghu", [(601, INP, D(2024, 5, 1), None)]),                       # 2 / 0
    7: ("xihu", [(701, LGN, D(2024, 7, 1), None), (702, SRP, D(2023, 7, 1), None)]),  # 50 / 30 (SRP dropped)
    8: ("xihu", [(801, SCN, D(2023, 11, 1), None)]),                        # 30 / 30
    9: ("xihu", [(901, SCP, D(2024, 11, 1), None)]),                        # 20 / 20
    10: ("xihu", [(1001, SRC, D(2024, 2, 1), None)]),                       # 0 / 5
    11: ("xihu", [(1101, SRP, D(2025, 9, 15), None)]),                      # 8 / 0 (after 2022's last day)
    12: ("xihu", [(1201, SRP, D(2021, 5, 1), D(2024, 5, 1))]),              # expired: 0 / 0
    13: ("honggutan", [(1301, SPC, D(2023, 3, 1), None)]),                  # 10 / 10 (measure 8)
    14: ("honggutan", [(1401, IBC, D(2023, 3, 1), None)]),                  # 0 / 10 (measure 9 not in draft)
    15: ("honggutan", [(1501, SRP, D(2023, 6, 1), None)]),                  # honour paid already: 0 / 0
    16: ("honggutan", [(1601, SRC, D(2022, 3, 1), None), (1602, SRP, D(2024, 6, 1), None)]),  # SRC paid 5: 3 / 1
    17: ("honggutan", [(1701, LGN, D(2023, 8, 1), None), (1702, SCN, D(2024, 8, 1), None)]),  # 50 / 30
    18: ("honggutan", [(1801, SRP, D(2024, 1, 1), None), (1802, INP, D(2024, 2, 1), None)]),  # 8 (INP dropped) / 6
    19: ("qingshanhu", [(1901, SCP, D(2023, 2, 1), None), (1902, SRP, D(2023, 3, 1), None)]),  # 20 / 20
    20: ("qingshanhu", [(2001, SRP, D(2024, 9, 1), None)]),                 # 8 / 6
    21: ("qingshanhu", [(2101, SRP, D(2024, 9, 1), None)]),                 # 8 / 6
    22: ("qingshanhu", [(2201, SRC, D(2023, 1, 1), None)]),                 # 0 / 5
    23: ("qingshanhu", [(2301, LGN, D(2025, 8, 1), D(2028, 7, 31))]),       # 50 / 30
    24: ("nanchang_county", [(2401, SPN, D(2024, 4, 1), None)]),            # 30 / 30
    25: ("nanchang_county", [(2501, SRP, D(2023, 1, 1), None)]),            # 8 / 6 (draft coverage's first day)
    26: ("nanchang_county", [(2601, SRP, D(2025, 9, 1), None)]),            # 8 / 6 (2022's last day)
    27: ("nanchang_county", [(2701, INP, D(2025, 10, 2), None)]),           # after the date: 0 / 0
    28: ("nanchang_county", [(2801, SLP, D(2023, 5, 1), None), (2802, SRP, D(2023, 5, 2), None)]),  # 8 / 20
    29: ("nanchang_county", [(2901, SRC, D(2024, 10, 1), D(2025, 9, 30))]),  # expired the day before: 0 / 0
    30: ("donghu", [(3001, SCN, D(2023, 1, 15), None), (3002, LGN, D(2024, 12, 1), None)]),  # SCN paid 30: 20 / 0
}

# (enterprise, honour, measure, kind, amount in fen): awards already paid under 2022-109
PAID = [
    PaidAward(15, 1501, 2, *SRP, 4_500_000),
    PaidAward(16, 1601, 2, *SRC, 5_000_000),
    PaidAward(30, 3001, 2, *SCN, 30_000_000),
]


def name(eid: int) -> str:
    return f"测试企业{eid:02d}有限公司"


def pool() -> list[PoolEnterprise]:
    return [PoolEnterprise(eid, name(eid), district,
                           tuple(PoolHonour(hid, kind[0], kind[1], rec, until) for hid, kind, rec, until in honours))
            for eid, (district, honours) in sorted(_POOL.items())]


def raw() -> dict[int, tuple[str, list[tuple[int, tuple[str, str], date, date | None]]]]:
    return _POOL
