"""Working days (工作日) under the State Council's yearly holiday calendar.

Chinese administrative deadlines count working days: Monday to Friday except
public holidays, plus the weekend days swapped into working days (调休上班).

Sources, in order, for a given year:

1. the ``chinese_calendar`` package (chinesecalendar on PyPI) for the years it
   carries (it raises NotImplementedError for other years);
2. a data file ``<year>.toml`` in the packaged ``config/calendar`` directory or in
   ``extra_dir`` (which wins), transcribed from the State Council notice;
3. otherwise the statutory holidays that 《全国年节及纪念日放假办法》 fixes (元旦, 春节 from 除夕,
   清明, 劳动节, 端午, 中秋, 国庆: ``services/time/holidays.py`` over ``config/holidays.toml``) are
   days off and every other weekday works; every answer that depends on such a year is still
   PROVISIONAL, because the make-up days (补假) and swapped days (调休) come only with the State
   Council's yearly notice.

``package_through`` (setting ``calendar_package_through``) makes the calendar ignore what the package
carries after that year: tests of "a year the package does not know" and a rehearsal of a year file
before upgrading the package use it, so their answers do not change when a release adds that year.

``period_end`` (calendar-day periods under 民法典 第二百零一条、第二百零三条) is memoised on the
calendar object and the memo is cleared whenever the calendar learns a year, so a long-running
process never keeps an answer computed before a year file was installed.

``watch_dir`` is the directory ``smeflow calendar load`` installs files into; it
may not exist yet, and a long-running process looks at it again (at most once a
minute, when its modification time changed) whenever it meets an unknown year,
so a year installed while the service runs is used without a restart.
"""

from __future__ import annotations

import time as _time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

import config
from services.time.holidays import statutory_holidays

__all__ = [
    "CALENDAR_DIR",
    "SOURCE_FILE",
    "SOURCE_PACKAGE",
    "SOURCE_PROVISIONAL",
    "CalendarError",
    "Deadline",
    "WorkingCalendar",
    "YearCalendar",
    "load_year_file",
]

CALENDAR_DIR = Path(config.__file__).parent / "calendar"

_SATURDAY = 5  # date.weekday(): Monday is 0
_RESCAN_SECONDS = 60.0
_PERIOD_MEMO_MAX = 65_536

#: Where the arrangement of a year comes from (``WorkingCalendar.source_of``).
SOURCE_PACKAGE = "package"
SOURCE_FILE = "data file"
SOURCE_PROVISIONAL = "provisional"


class CalendarError(ValueError):
    """A holiday calendar data file is missing, unreadable or invalid."""

    def __init__(self, file: Path, field: str, message: str) -> None:
        self.file = file
        self.field = field
        where = f"{file}：{field}" if field else str(file)
        super().__init__(f"{where}：{message}")


@dataclass(frozen=True)
class Deadline:
    """The end of a time limit: ``at`` is UTC-aware; ``provisional`` if it relied on an unknown year."""

    at: datetime
    provisional: bool


@dataclass(frozen=True)
class YearCalendar:
    """One year's official arrangement, read from ``config/calendar/<year>.toml``."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str

    def is_workday(self, d: date) -> bool:
        """Return whether ``d`` (a day of this year) is a working day."""
        if d in self.workdays:
            return True
        return d.weekday() < _SATURDAY and d not in self.holidays


def _dates(file: Path, data: dict[str, Any], key: str, year: int) -> frozenset[date]:
    value = data.get(key)
    if not isinstance(value, list):
        raise CalendarError(file, key, "须为日期数组")
    days: set[date] = set()
    for i, item in enumerate(value):
        if isinstance(item, datetime) or not isinstance(item, date):
            raise CalendarError(file, f"{key}[{i}]", f"须为 TOML 日期（不带引号，如 2027-01-01），收到 {item!r}")
        if item.year != year:
            raise CalendarError(file, f"{key}[{i}]", f"{item} 不在 {year} 年内")
        if item in days:
            raise CalendarError(file, f"{key}[{i}]", f"日期 {item} 重复")
        days.add(item)
    return frozenset(days)


def load_year_file(file: Path) -> YearCalendar:
    """Read and validate one calendar file ``<year>.toml``; raise CalendarError naming the field."""
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise CalendarError(file, "", f"无法读取：{exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(file, "", f"不是有效的 TOML 文件（{exc}）") from exc
    unknown = sorted(set(data) - {"year", "holidays", "workdays", "source"})
    if unknown:
        raise CalendarError(file, unknown[0], "未知的键（拼写错误？可用的键：year、holidays、workdays、source）")
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise CalendarError(file, "year", f"须为整数年份，收到 {year!r}")
    if file.stem != str(year):
        raise CalendarError(file, "year", f"{year} 与文件名不符（文件须名为 {year}.toml）")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CalendarError(file, "source", "须写明国务院办公厅的节假日安排通知")
    holidays = _dates(file, data, "holidays", year)
    workdays = _dates(file, data, "workdays", year)
    for i, d in enumerate(sorted(workdays)):
        if d in holidays:
            raise CalendarError(file, "workdays", f"{d} 同时列为节假日")
        if d.weekday() < _SATURDAY:
            raise CalendarError(file, f"workdays[{i}]", f"{d} 本是工作日；只列调休上班的周末日期")
    return YearCalendar(year=year, holidays=holidays, workdays=workdays, source=source)


def _read_dir(directory: Path) -> dict[int, YearCalendar]:
    if not directory.is_dir():
        return {}
    found: dict[int, YearCalendar] = {}
    for file in sorted(directory.glob("*.toml")):
        year_calendar = load_year_file(file)
        found[year_calendar.year] = year_calendar
    return found


class WorkingCalendar:
    """Working-day arithmetic over chinese_calendar, data files, and weekday fallback."""

    def __init__(self, extra_dir: Path | None = None, *, watch_dir: Path | None = None,
                 package_through: int | None = None) -> None:
        """Load the packaged calendar files, then those of ``extra_dir`` and ``watch_dir`` (later wins per year).

        ``extra_dir`` must exist; ``watch_dir`` need not (see the module docstring). With
        ``package_through``, years after it are not taken from the chinesecalendar package.
        """
        self._package_through = package_through
        self._periods: dict[tuple[Any, ...], tuple[date, bool]] = {}
        if extra_dir is not None and not extra_dir.is_dir():
            raise CalendarError(extra_dir, "", "节假日安排目录不存在")
        self._dirs = tuple(d for d in (CALENDAR_DIR, extra_dir) if d is not None)
        self._watch_dir = watch_dir if watch_dir not in self._dirs else None
        self._watch_mtime: float | None = None
        self._next_scan = 0.0
        self._files: dict[int, YearCalendar] = {}
        for directory in self._dirs:
            self._files.update(_read_dir(directory))
        self._scan_watch_dir()
        self._library_years: dict[int, bool] = {}

    def _scan_watch_dir(self) -> None:
        """(Re)read ``watch_dir`` if it changed; a bad file there is ignored until fixed (load refuses it)."""
        directory = self._watch_dir
        if directory is None:
            return
        self._next_scan = _time.monotonic() + _RESCAN_SECONDS
        try:
            mtime = directory.stat().st_mtime
        except OSError:
            return
        if mtime == self._watch_mtime:
            return
        try:
            found = _read_dir(directory)
        except CalendarError:
            return
        self._watch_mtime = mtime
        if found != {y: self._files.get(y) for y in found}:
            self._periods = {}  # a memoised period may have counted through a year just learnt
        self._files = {**self._files, **found}

    def with_year(self, year_calendar: YearCalendar) -> WorkingCalendar:
        """A copy of this calendar that also knows ``year_calendar`` (a data file not installed yet)."""
        copy = object.__new__(WorkingCalendar)
        copy.__dict__.update(self.__dict__)
        copy._files = {**self._files, year_calendar.year: year_calendar}
        copy._library_years = dict(self._library_years)
        copy._periods = {}
        return copy

    def library_knows(self, year: int) -> bool:
        """Whether the chinese_calendar package carries ``year`` (it then wins over any data file)."""
        return self._library_knows(year)

    def source_of(self, year: int) -> tuple[str, str]:
        """Where the arrangement of ``year`` comes from: (SOURCE_*, detail)."""
        if self._library_knows(year):
            return SOURCE_PACKAGE, f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip()
        if year not in self._files and self._watch_dir is not None:
            self._scan_watch_dir()
        year_calendar = self._files.get(year)
        if year_calendar is not None:
            return SOURCE_FILE, year_calendar.source
        return SOURCE_PROVISIONAL, "按《全国年节及纪念日放假办法》推算的法定节假日；补假和调休尚未公布"

    def _library_knows(self, year: int) -> bool:
        known = self._library_years.get(year)
        if known is None and self._package_through is not None and year > self._package_through:
            known = self._library_years[year] = False
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                known = True
            except NotImplementedError:
                known = False
            self._library_years[year] = known
        return known

    def is_known_year(self, year: int) -> bool:
        """Return whether the official holiday arrangement of ``year`` is known."""
        if self._library_knows(year) or year in self._files:
            return True
        if self._watch_dir is not None and _time.monotonic() >= self._next_scan:
            self._scan_watch_dir()
        return year in self._files

    def _classify(self, d: date) -> tuple[bool, bool]:
        """Return (is a working day, provisional)."""
        if self._library_knows(d.year):
            return bool(chinese_calendar.is_workday(d)), False
        year_calendar = self._files.get(d.year)
        if year_calendar is None and self._watch_dir is not None and _time.monotonic() >= self._next_scan:
            self._scan_watch_dir()
            year_calendar = self._files.get(d.year)
        if year_calendar is not None:
            return year_calendar.is_workday(d), False
        return d.weekday() < _SATURDAY and d not in statutory_holidays(d.year), True

    def is_workday(self, d: date) -> bool:
        """Return whether ``d`` is a working day (statutory holidays on weekdays for an unknown year)."""
        return self._classify(d)[0]

    def period_end(self, start: date, days: int, *, roll: bool) -> tuple[date, bool]:
        """The last day of a period of ``days`` calendar days that starts the day after ``start``, and provisional.

        With ``roll``, a last day that is a rest day moves to the next working day (民法典 第二百零三条).
        Memoised (a ledger of 100,000 rows has few distinct delivery dates).
        """
        return self._memo((start, days, roll), lambda: self._period_end(start, days, roll))

    def _period_end(self, start: date, days: int, roll: bool) -> tuple[date, bool]:
        end = start + timedelta(days=days)
        provisional = not self.is_known_year(end.year)
        if roll:
            while not self.is_workday(end):
                end += timedelta(days=1)
                provisional = provisional or not self.is_known_year(end.year)
        return end, provisional

    def add_working_days(self, start: date, n: int) -> tuple[date, bool]:
        """Return the ``n``-th working day after ``start`` (before it if ``n`` < 0), and provisional.

        ``start`` itself is not counted; ``n == 0`` returns ``start``. The flag is
        True if any day looked at fell in a year whose holidays are unknown. Memoised: every
        waiting stage timer's expression asks for its deadline again whenever its case runs a step.
        """
        return self._memo((start, n), lambda: self._add_working_days(start, n))

    def _add_working_days(self, start: date, n: int) -> tuple[date, bool]:
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        day, provisional = start, False
        while remaining:
            day += timedelta(days=step)
            workday, guessed = self._classify(day)
            provisional = provisional or guessed
            if workday:
                remaining -= 1
        return day, provisional

    def _memo(self, key: tuple[Any, ...], compute: Callable[[], tuple[date, bool]]) -> tuple[date, bool]:
        """A day computed before for ``key``, or ``compute()``'s, kept. The memo is dropped when the
        calendar learns a year, and a provisional answer looks for new year files first."""
        hit = self._periods.get(key)
        if hit is not None and hit[1] and self._watch_dir is not None and _time.monotonic() >= self._next_scan:
            self._scan_watch_dir()
            hit = self._periods.get(key)
        if hit is not None:
            return hit
        value = compute()
        if len(self._periods) >= _PERIOD_MEMO_MAX:
            self._periods = {}
        self._periods[key] = value
        return value

    def deadline(self, start: datetime, working_days: int, tz: str) -> Deadline:
        """Return the end of the ``working_days``-th working day after ``start``'s local date.

        The end of a day is 00:00 local time (``tz``) of the following day,
        returned in UTC. ``start`` must be timezone-aware.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("deadline() needs a timezone-aware start")
        if working_days < 0:
            raise ValueError(f"working_days must be >= 0, got {working_days}")
        zone = ZoneInfo(tz)
        last_day, provisional = self.add_working_days(start.astimezone(zone).date(), working_days)
        end_local = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
        return Deadline(at=end_local.astimezone(UTC), provisional=provisional)

    def working_days_between(self, a: date, b: date) -> int:
        """Return the working days after ``a`` up to and including ``b``; negative if ``b`` < ``a``.

        For displays such as "剩余 3 个工作日" (today, due date) or "已逾期 2 天"
        (due date, today).
        """
        if b < a:
            return -self.working_days_between(b, a)
        count, day = 0, a
        while day < b:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count
