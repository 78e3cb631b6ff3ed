"""The policy sandbox (政策沙盘): a draft edition priced against the real enterprise pool before it
is issued.

Owns: the pure pricing core (``pricing``: who qualifies on a date under a draft and under the edition
it is compared with, what each costs at the cap and at the observed award/cap ratio, per award type
and per district, the fund lines with the districts' matching shares, who gains or loses an award);
reading its inputs (the pool, observed take-up, awards already paid) in a read-only transaction
(``reading``); resolving the draft and the comparison edition (``drafts``); recording each
simulation afterwards in its own short write transaction (``record``, table ``policy_simulation``);
the charts (``charts``, SVG) and the workbook (``export``, XLSX).

May import: services.awards, services.accounts and the kernel (services.db, uow, errors, money,
time). Nothing it reads is changed: a simulation that tried to write would fail on the read-only
transaction. Nothing below it imports it; the ways in (CLI ``smeflow policy simulate``, the page
``/policy/simulate``) do.
"""

from __future__ import annotations

from services.sandbox.model import (
    AwardFigures,
    Change,
    DistrictFigures,
    FundLine,
    PaidAward,
    PoolEnterprise,
    PoolHonour,
    Rate,
    SimulationResult,
)
from services.sandbox.pricing import Options, price

__all__ = [
    "AwardFigures",
    "Change",
    "DistrictFigures",
    "FundLine",
    "Options",
    "PaidAward",
    "PoolEnterprise",
    "PoolHonour",
    "Rate",
    "SimulationResult",
    "price",
]
