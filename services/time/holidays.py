"""The statutory public holidays of a year, computed from the rules of 《全国年节及纪念日放假办法》.

Kernel module (imports nothing of ours but ``config``). The rules are data (``config/holidays.toml``,
with their source); this module only turns them into dates: Gregorian dates directly, lunar dates
with ``lunardate`` (tables for 1900-2099), the 清明 solar term with ``chinese_calendar.get_solar_terms``
(1900-2100). A year outside those ranges, or before ``applies_from_year``, gets no computed holiday.

The result is what the 办法 fixes. It is not the year's arrangement: the make-up days (补假, 第六条) and
the swapped days (调休, 第七条) come only with the State Council's yearly notice, so the working-day
calendar still marks every answer in such a year provisional.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import chinese_calendar
from lunardate import LunarDate

import config

__all__ = ["HOLIDAYS_FILE", "Holiday", "HolidayRules", "HolidayRulesError", "load_holiday_rules",
           "named_holidays", "statutory_holidays"]

HOLIDAYS_FILE = Path(config.__file__).parent / "holidays.toml"
_LUNAR_YEARS = range(1900, 2100)
_SOLAR_TERM_YEARS = range(1900, 2101)


class HolidayRulesError(ValueError):
    """config/holidays.toml is missing a value or holds a wrong one."""

    def __init__(self, file: Path, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}")
        self.file, self.field = file, field


@dataclass(frozen=True)
class Holiday:
    name: str
    kind: str  # solar | lunar | solar_term
    month: int  # solar and lunar rules
    day: int
    term: str  # solar_term rules
    offset: int
    days: int


@dataclass(frozen=True)
class HolidayRules:
    source: str
    applies_from_year: int
    holidays: tuple[Holiday, ...]


def _month_day(file: Path, where: str, raw: Any) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in str(raw).split("-"))
    except ValueError as exc:
        raise HolidayRulesError(file, where, f"must be 'MM-DD', got {raw!r}") from exc
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise HolidayRulesError(file, where, f"must be 'MM-DD', got {raw!r}")
    return month, day


def _holiday(file: Path, i: int, item: Any) -> Holiday:
    where = f"holidays[{i}]."
    if not isinstance(item, dict):
        raise HolidayRulesError(file, f"holidays[{i}]", "must be a table")
    name, days, offset = item.get("name"), item.get("days"), item.get("offset", 0)
    if not isinstance(name, str) or not name.strip():
        raise HolidayRulesError(file, where + "name", "must name the festival")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 7:
        raise HolidayRulesError(file, where + "days", f"must be an integer from 1 to 7, got {days!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or abs(offset) > 30:
        raise HolidayRulesError(file, where + "offset", f"must be a small integer, got {offset!r}")
    kinds = [k for k in ("solar", "lunar", "solar_term") if k in item]
    if len(kinds) != 1:
        raise HolidayRulesError(file, where + "solar", "exactly one of solar, lunar, solar_term")
    kind = kinds[0]
    if kind == "solar_term":
        term = item["solar_term"]
        if term != "清明":
            raise HolidayRulesError(file, where + "solar_term", f"only 清明 is implemented, got {term!r}")
        return Holiday(name, kind, 0, 0, term, offset, days)
    month, day = _month_day(file, where + kind, item[kind])
    return Holiday(name, kind, month, day, "", offset, days)


def load_holiday_rules(file: Path = HOLIDAYS_FILE) -> HolidayRules:
    """Read and validate the rules; HolidayRulesError names the file and the field."""
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise HolidayRulesError(file, "", f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HolidayRulesError(file, "", f"invalid TOML: {exc}") from exc
    source, first = data.get("source"), data.get("applies_from_year")
    if not isinstance(source, str) or not source.strip():
        raise HolidayRulesError(file, "source", "must cite the 办法 and its amendment")
    if isinstance(first, bool) or not isinstance(first, int):
        raise HolidayRulesError(file, "applies_from_year", f"must be a year, got {first!r}")
    items = data.get("holidays")
    if not isinstance(items, list) or not items:
        raise HolidayRulesError(file, "holidays", "must list the festivals")
    return HolidayRules(source, first, tuple(_holiday(file, i, item) for i, item in enumerate(items)))


def _anchor(rule: Holiday, year: int) -> date | None:
    if rule.kind == "solar":
        return date(year, rule.month, rule.day)
    if rule.kind == "lunar":
        if year not in _LUNAR_YEARS:
            return None
        try:
            solar: date = LunarDate(year, rule.month, rule.day).to_solar_date()
            return solar
        except ValueError:
            return None
    if year not in _SOLAR_TERM_YEARS:
        return None
    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
    return next((d for d, name in terms if name == rule.term), None)


def named_holidays(year: int, rules: HolidayRules | None = None) -> tuple[tuple[date, str], ...]:
    """The days off the 办法 fixes in ``year`` with their festival, in date order (no 补假, no 调休)."""
    rules = rules or _packaged()
    if year < rules.applies_from_year:
        return ()
    days: dict[date, str] = {}
    for rule in rules.holidays:
        anchor = _anchor(rule, year)
        if anchor is None:
            continue
        first = anchor + timedelta(days=rule.offset)
        for d in (first + timedelta(days=i) for i in range(rule.days)):
            if d.year == year:
                days.setdefault(d, rule.name)
    return tuple(sorted(days.items()))


@lru_cache(maxsize=256)
def _computed(rules: HolidayRules, year: int) -> frozenset[date]:
    return frozenset(d for d, _ in named_holidays(year, rules))


@lru_cache(maxsize=1)
def _packaged() -> HolidayRules:
    return load_holiday_rules()


def statutory_holidays(year: int, rules: HolidayRules | None = None) -> frozenset[date]:
    """The days off that the 办法 fixes in ``year`` (weekend days included; no 补假, no 调休)."""
    return _computed(rules or _packaged(), year)
