"""The statutory figures of the arrears campaign, read from config/arrears.toml and config/lpr.toml.

Nothing here is policy code: every number comes from the data files, which name their article.
`load_rules()` validates the files and raises RulesError naming the file and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import config

__all__ = ["ARREARS_FILE", "LPR_FILE", "ArrearsRules", "Department", "Edition", "HandlingLimits", "Lpr", "RulesError",
           "load_rules"]

ARREARS_FILE = Path(config.__file__).parent / "arrears.toml"
LPR_FILE = Path(config.__file__).parent / "lpr.toml"


class RulesError(ValueError):
    """A statutory data file is missing a value or holds a wrong one."""

    def __init__(self, file: Path, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}")
        self.file, self.field = file, field


@dataclass(frozen=True)
class Edition:
    """One edition of the Regulations on Ensuring Payment to SMEs."""

    code: str
    order: str
    title: str
    in_force_from: date
    applies_from: date
    public_days: int
    public_max_agreed_days: int
    public_article: str
    large_days: int  # 0: the edition fixes no term for large enterprises
    large_article: str
    acceptance_article: str
    interest_article: str
    daily_rate: Decimal  # without an agreed rate (万分之五 = 0.0005)
    settlement_article: str
    delayed_inspection_article: str
    special_law_article: str  # "": the edition's text for it is not cited here
    organisation_article: str  # "": 团体组织 get no statutory term under this edition here
    size_at_signing_article: str
    confirmation_days: int  # 确权 of a financed receivable, from the SME's request
    confirmation_article: str
    disclosure_article: str  # the yearly publication of overdue payments by 3月31日

    def cite(self, article: str) -> str:
        return f"{self.order}《{self.title}》{article}"


@dataclass(frozen=True)
class Lpr:
    """The one-year LPR series: change points (date, percent a year)."""

    source: str
    starts: date
    certain_through: date
    points: tuple[tuple[date, Decimal], ...]


@dataclass(frozen=True)
class HandlingLimits:
    """The period of the handling result under the edition in force when a complaint was accepted."""

    edition: str
    in_force_from: date
    article: str
    days: int  # 0: the edition fixes no number of days
    max_days: int

    @property
    def statutory(self) -> bool:
        return self.days > 0


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    scope: str


@dataclass(frozen=True)
class ArrearsRules:
    editions: tuple[Edition, ...]  # by applies_from, oldest first
    in_force_from: date  # the regulation does not reach back before this day
    in_force_article: str
    roll_past_rest_days: bool
    periods_article: str
    days_per_year: int
    acceptance_working_days: int
    transfer_working_days: int
    handling_days: int  # the latest edition's (handling_for gives the one of an acceptance date)
    handling_max_days: int
    handling_article: str
    handling: tuple[HandlingLimits, ...]  # oldest first
    complaints_source: str
    acceptance_department: str
    acceptance_department_article: str
    confirmation_days: int
    confirmation_article: str
    non_cooperation_steps: tuple[str, ...]
    non_cooperation_names: tuple[str, ...]
    sweep_interval_seconds: int
    reminders_cron: str
    monthly_report_cron: str
    max_instalments: int
    disclosure_by: tuple[int, int]  # (month, day) of the next year
    disclosure_remind_days_before: tuple[int, ...]
    disclosure_cron: str
    departments: tuple[Department, ...]
    lpr: Lpr

    def edition(self, code: str) -> Edition:
        return next(e for e in self.editions if e.code == code)

    def in_force_on(self, day: date) -> Edition:
        """The edition in force on `day` (the oldest before any)."""
        found = self.editions[0]
        for edition in self.editions:
            if day >= edition.in_force_from:
                found = edition
        return found

    def handling_for(self, accepted_on: date) -> HandlingLimits:
        """The handling period of a complaint accepted on `accepted_on` (the oldest edition before any)."""
        found = self.handling[0]
        for limits in self.handling:
            if accepted_on >= limits.in_force_from:
                found = limits
        return found


def _read(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise RulesError(file, "", f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(file, "", f"invalid TOML: {exc}") from exc


class _Section:
    """Typed access to one TOML table, naming the file and the dotted key on error."""

    def __init__(self, file: Path, data: dict[str, Any], prefix: str) -> None:
        self.file, self.data, self.prefix = file, data, prefix

    def _get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.data.get(key)
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise RulesError(self.file, f"{self.prefix}{key}", f"missing or not a {kind}: {value!r}")
        return value

    def int_(self, key: str, *, minimum: int = 0) -> int:
        value: int = self._get(key, int)
        if value < minimum:
            raise RulesError(self.file, f"{self.prefix}{key}", f"must be >= {minimum}")
        return value

    def str_(self, key: str) -> str:
        value: str = self._get(key, str)
        if not value.strip():
            raise RulesError(self.file, f"{self.prefix}{key}", "must not be empty")
        return value

    def date_(self, key: str) -> date:
        value: date = self._get(key, date)
        return value

    def decimal_(self, key: str) -> Decimal:
        raw = self.str_(key)
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise RulesError(self.file, f"{self.prefix}{key}", f"not a decimal: {raw!r}") from exc
        if not value.is_finite() or value <= 0:
            raise RulesError(self.file, f"{self.prefix}{key}", "must be a positive decimal")
        return value

    def bool_(self, key: str) -> bool:
        value: bool = self._get(key, bool)
        return value

    def optional_str(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise RulesError(self.file, f"{self.prefix}{key}", f"missing or not a string: {value!r}")
        return value.strip()

    def section(self, key: str) -> _Section:
        return _Section(self.file, self._get(key, dict), f"{self.prefix}{key}.")


def _edition(code: str, s: _Section) -> Edition:
    return Edition(
        code=code, order=s.str_("order"), title=s.str_("title"), in_force_from=s.date_("in_force_from"),
        applies_from=s.date_("applies_to_contracts_signed_from"), public_days=s.int_("public_days", minimum=1),
        public_max_agreed_days=s.int_("public_max_agreed_days", minimum=1), public_article=s.str_("public_article"),
        large_days=s.int_("large_days"), large_article=s.str_("large_article"),
        acceptance_article=s.str_("acceptance_article"), interest_article=s.str_("interest_article"),
        daily_rate=s.decimal_("daily_rate_without_agreement"), settlement_article=s.str_("settlement_article"),
        delayed_inspection_article=s.str_("delayed_inspection_article"),
        special_law_article=s.optional_str("special_law_article"),
        organisation_article=s.optional_str("organisation_article"),
        size_at_signing_article=s.str_("size_at_signing_article"),
        confirmation_days=s.int_("confirmation_days", minimum=1), confirmation_article=s.str_("confirmation_article"),
        disclosure_article=s.str_("disclosure_article"))


def _lpr(file: Path) -> Lpr:
    s = _Section(file, _read(file), "")
    raw = s._get("rates", list)
    points: list[tuple[date, Decimal]] = []
    for i, item in enumerate(raw):
        p = _Section(file, item if isinstance(item, dict) else {}, f"rates[{i}].")
        day, percent = p.date_("from"), p.decimal_("percent")
        if points and day <= points[-1][0]:
            raise RulesError(file, f"rates[{i}].from", "dates must increase")
        points.append((day, percent))
    if not points:
        raise RulesError(file, "rates", "no rate listed")
    starts = s.date_("starts")
    if points[0][0] != starts:
        raise RulesError(file, "starts", "must be the date of the first rate")
    return Lpr(source=s.str_("source"), starts=starts, certain_through=s.date_("certain_through"), points=tuple(points))


def parse_rules(file: Path = ARREARS_FILE, lpr_file: Path = LPR_FILE) -> ArrearsRules:
    """Read and validate the two files (uncached)."""
    root = _Section(file, _read(file), "")
    editions_table = root.section("editions")
    editions = sorted((_edition(code, editions_table.section(code)) for code in editions_table.data),
                      key=lambda e: e.applies_from)
    if not editions:
        raise RulesError(file, "editions", "no edition listed")
    latest = editions_table.section(editions[-1].code)
    scope = root.section("scope")
    if scope.date_("in_force_from") != editions[0].in_force_from:
        raise RulesError(file, "scope.in_force_from", "must be the day the first edition took effect")
    periods, interest = root.section("periods"), root.section("interest")
    complaints, noncoop = root.section("complaints"), root.section("non_cooperation")
    campaign, disclosure = root.section("campaign"), root.section("disclosure")
    remind = disclosure._get("remind_days_before", list)
    if not remind or any(isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 90 for n in remind):
        raise RulesError(file, "disclosure.remind_days_before", "a list of whole days from 0 to 90")
    by = (disclosure.int_("publish_by_month", minimum=1), disclosure.int_("publish_by_day", minimum=1))
    try:
        date(2024, *by)
    except ValueError as exc:
        raise RulesError(file, "disclosure.publish_by_day", f"not a day of the year: {by}") from exc
    if interest.str_("rounding") != "ROUND_HALF_UP":
        raise RulesError(file, "interest.rounding", "only ROUND_HALF_UP is implemented")
    steps, names = noncoop._get("steps", list), noncoop._get("names", list)
    if len(steps) != 3 or len(names) != 3:
        raise RulesError(file, "non_cooperation.steps", "three steps with three names")
    departments = []
    for i, item in enumerate(root._get("departments", list)):
        d = _Section(file, item if isinstance(item, dict) else {}, f"departments[{i}].")
        departments.append(Department(code=d.str_("code"), name=d.str_("name"), scope=d.str_("scope")))
    handling_table = complaints.section("handling")
    handling_limits = []
    for code in handling_table.data:
        h = handling_table.section(code)
        limits = HandlingLimits(code, h.date_("in_force_from"), h.str_("article"), h.int_("days"), h.int_("max_days"))
        if limits.max_days < limits.days or (limits.days == 0) != (limits.max_days == 0):
            raise RulesError(file, f"complaints.handling.{code}.max_days", "must not be below days (both 0: no figure)")
        handling_limits.append(limits)
    handling_limits.sort(key=lambda h: h.in_force_from)
    if not handling_limits or not handling_limits[-1].statutory:
        raise RulesError(file, "complaints.handling", "the latest edition must give its days")
    return ArrearsRules(
        editions=tuple(editions), in_force_from=scope.date_("in_force_from"),
        in_force_article=scope.str_("article"), roll_past_rest_days=periods.bool_("roll_last_day_past_rest_days"),
        periods_article=periods.str_("article"), days_per_year=interest.int_("days_per_year", minimum=360),
        acceptance_working_days=complaints.int_("acceptance_working_days", minimum=1),
        transfer_working_days=complaints.int_("transfer_working_days", minimum=1),
        handling_days=handling_limits[-1].days, handling_max_days=handling_limits[-1].max_days,
        handling_article=handling_limits[-1].article, handling=tuple(handling_limits),
        complaints_source=complaints.str_("source"), acceptance_department=complaints.str_("acceptance_department"),
        acceptance_department_article=complaints.str_("acceptance_department_article"),
        confirmation_days=latest.int_("confirmation_days", minimum=1),
        confirmation_article=editions[-1].cite(latest.str_("confirmation_article")),
        non_cooperation_steps=tuple(str(x) for x in steps), non_cooperation_names=tuple(str(x) for x in names),
        sweep_interval_seconds=campaign.int_("sweep_interval_seconds", minimum=1),
        reminders_cron=campaign.str_("reminders_cron"), monthly_report_cron=campaign.str_("monthly_report_cron"),
        max_instalments=campaign.int_("max_instalments", minimum=1), departments=tuple(departments),
        disclosure_by=by,
        disclosure_remind_days_before=tuple(sorted(set(remind))), disclosure_cron=disclosure.str_("cron"),
        lpr=_lpr(lpr_file))


@lru_cache(maxsize=1)
def load_rules() -> ArrearsRules:
    """The packaged rules (cached)."""
    return parse_rules()
