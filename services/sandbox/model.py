"""The sandbox's rows in and figures out: plain, typed, JSON round-trippable (a recorded simulation
is read back from its JSON for the page and the workbook).

Money is integer fen; rates are Decimal in 0..1; dates are local (Asia/Shanghai) calendar dates.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

import orjson

__all__ = [
    "AwardFigures", "Change", "DistrictFigures", "FundLine", "PaidAward", "PoolEnterprise", "PoolHonour",
    "Rate", "Side", "SimulationResult", "from_jsonable", "result_from_json", "result_to_json", "to_jsonable",
]


class PoolHonour(NamedTuple):
    """One honour of a pool enterprise; ``valid_until`` None when the list gave no validity."""

    id: int
    honour_type: str
    level: str
    recognised_on: date
    valid_until: date | None


class PoolEnterprise(NamedTuple):
    """One enterprise of the pool with its review unit (``district``) and honours."""

    id: int
    name: str
    district: str
    honours: tuple[PoolHonour, ...]


class PaidAward(NamedTuple):
    """An award already paid: for which honour, under which measure and kind, how much."""

    enterprise_id: int
    honour_id: int | None
    measure: int
    honour_type: str
    level: str
    amount_fen: int


@dataclass(frozen=True)
class Rate:
    """A share in 0..1 and what it rests on: ``cases`` None for a fixed rate given by the user."""

    value: Decimal
    cases: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Side:
    """One edition's figures for a row: awards that would be paid (enterprise × award type), their
    cost at the cap and at the observed award/cap ratio (both times take-up), and what the 就高不重复
    setting removed (count, and its cost at the cap times take-up)."""

    awards: int = 0
    cost_cap_fen: int = 0
    cost_ratio_fen: int = 0
    dropped: int = 0
    dropped_cap_fen: int = 0


@dataclass(frozen=True)
class AwardFigures:
    """One award type (an honour type at a level) under the draft and under the comparison."""

    honour_type: str
    level: str
    measure: int
    name_zh: str
    draft_code: str | None
    draft_cap_fen: int | None
    against_code: str | None
    against_cap_fen: int | None
    take_up: Rate
    ratio: Rate
    draft: Side
    against: Side

    @property
    def delta_cap_fen(self) -> int:
        return self.draft.cost_cap_fen - self.against.cost_cap_fen

    @property
    def delta_ratio_fen(self) -> int:
        return self.draft.cost_ratio_fen - self.against.cost_ratio_fen


@dataclass(frozen=True)
class DistrictFigures:
    """One review unit: what its enterprises would be paid under each edition."""

    district: str
    name_zh: str
    draft: Side
    against: Side

    @property
    def delta_ratio_fen(self) -> int:
        return self.draft.cost_ratio_fen - self.against.cost_ratio_fen


@dataclass(frozen=True)
class FundLine:
    """A fund line needed: the city's fund (``line`` "city") or one district's matching fund."""

    line: str
    name_zh: str
    draft_cap_fen: int
    draft_ratio_fen: int
    against_cap_fen: int
    against_ratio_fen: int


@dataclass(frozen=True)
class Change:
    """An enterprise whose awards differ: totals at the cap (no take-up) and the award names."""

    enterprise_id: int
    name: str
    district: str
    draft_fen: int
    against_fen: int
    draft_awards: tuple[str, ...]
    against_awards: tuple[str, ...]

    @property
    def delta_fen(self) -> int:
        return self.draft_fen - self.against_fen


@dataclass(frozen=True)
class SimulationResult:
    """Everything one simulation priced."""

    draft_code: str
    draft_title: str
    against_code: str
    against_title: str
    as_of: date
    take_up_mode: str  # "observed" or the fixed rate as text
    highest_only: bool
    after_lower_paid: str
    matching_share: Decimal
    pool_enterprises: int
    pool_honours: int
    awards: tuple[AwardFigures, ...]
    districts: tuple[DistrictFigures, ...]
    funds: tuple[FundLine, ...]
    gainers: tuple[Change, ...]
    losers: tuple[Change, ...]

    def total(self, side: str) -> Side:
        """The sum of the award rows of ``side`` ("draft" or "against")."""
        rows = [getattr(a, side) for a in self.awards]
        return Side(*(sum(getattr(r, f.name) for r in rows) for f in dataclasses.fields(Side)))


# -- JSON ------------------------------------------------------------------------------------
def result_to_json(result: SimulationResult) -> bytes:
    """The result as compact JSON: the lists of gainers and losers as rows, award names by index."""
    names: dict[str, int] = {}
    seen: dict[tuple[str, ...], list[int]] = {}

    def index(awards: tuple[str, ...]) -> list[int]:
        found = seen.get(awards)
        if found is None:
            found = seen[awards] = [names.setdefault(n, len(names)) for n in awards]
        return found

    def rows(changes: tuple[Change, ...]) -> list[list[Any]]:
        return [[c.enterprise_id, c.name, c.district, c.draft_fen, c.against_fen, index(c.draft_awards),
                 index(c.against_awards)] for c in changes]

    body = {f.name: to_jsonable(getattr(result, f.name)) for f in dataclasses.fields(SimulationResult)
            if f.name not in ("gainers", "losers")}
    body["gainers"], body["losers"] = rows(result.gainers), rows(result.losers)
    body["award_names"] = list(names)
    return orjson.dumps(body)


def result_from_json(text: str | bytes) -> SimulationResult:
    """The inverse of :func:`result_to_json`."""
    data = orjson.loads(text)
    names = data.pop("award_names")

    def changes(rows: list[list[Any]]) -> tuple[Change, ...]:
        return tuple(Change(r[0], r[1], r[2], r[3], r[4], tuple(names[i] for i in r[5]),
                            tuple(names[i] for i in r[6])) for r in rows)

    gainers, losers = changes(data.pop("gainers")), changes(data.pop("losers"))
    data["gainers"] = data["losers"] = []
    result = from_jsonable(SimulationResult, data)
    return dataclasses.replace(result, gainers=gainers, losers=losers)


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts, Decimal and dates to text, tuples to lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


T = TypeVar("T")


def from_jsonable(cls: type[T], data: Any) -> T:
    """Rebuild ``cls`` (a dataclass of this module) from :func:`to_jsonable`'s output."""
    return typing.cast(T, _convert(cls, data))


def _convert(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        values = {f.name: _convert(hints[f.name], data[f.name]) for f in dataclasses.fields(kind)}
        return typing.cast(Any, kind)(**values)
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _convert(inner[0], data)
    if origin is tuple:
        return tuple(_convert(typing.get_args(kind)[0], v) for v in data)
    if kind is Decimal:
        return Decimal(data)
    if kind is date:
        return date.fromisoformat(data)
    return data
