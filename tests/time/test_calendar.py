"""Working days under the State Council holiday calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest

from services.time.calendar import CalendarError, WorkingCalendar

NATIONAL_DAY_2025 = [date(2025, 10, d) for d in range(1, 9)]
SWAPPED_2025 = [date(2025, 9, 28), date(2025, 10, 11)]  # Sunday and Saturday worked


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_national_day_2025(cal: WorkingCalendar) -> None:
    for d in NATIONAL_DAY_2025:
        assert not cal.is_workday(d), d
        assert not chinese_calendar.is_workday(d)
    for d in SWAPPED_2025:
        assert d.weekday() >= 5
        assert cal.is_workday(d), d
        assert chinese_calendar.is_workday(d)
    assert cal.is_workday(date(2025, 10, 9))
    assert not cal.is_workday(date(2025, 10, 12))  # ordinary Sunday


def test_add_working_days_across_national_day(cal: WorkingCalendar) -> None:
    # Tue 30 Sep 2025 -> 1st working day after it is Thu 9 Oct.
    assert cal.add_working_days(date(2025, 9, 30), 1) == (date(2025, 10, 9), False)
    # Fri 26 Sep: Sun 28 (swapped), Mon 29, Tue 30, Thu 9 Oct, Fri 10, Sat 11 (swapped), Mon 13.
    assert cal.add_working_days(date(2025, 9, 26), 7) == (date(2025, 10, 13), False)
    assert cal.add_working_days(date(2025, 10, 13), -7) == (date(2025, 9, 26), False)
    assert cal.add_working_days(date(2025, 9, 26), 0) == (date(2025, 9, 26), False)
    assert cal.working_days_between(date(2025, 9, 26), date(2025, 10, 13)) == 7
    assert cal.working_days_between(date(2025, 10, 13), date(2025, 9, 26)) == -7
    assert cal.working_days_between(date(2025, 10, 1), date(2025, 10, 8)) == 0


def test_known_years(cal: WorkingCalendar) -> None:
    # chinesecalendar>=1.11 (pyproject.toml) carries 2025 and 2026, the years the README claims.
    assert cal.is_known_year(2025) and cal.is_known_year(2026)
    assert cal.library_knows(2026) and not UNKNOWN_2027.library_knows(2027)


# The package is told to stop at 2026, so "a year it does not know" stays 2027 whatever release is
# installed (issue 16: the calendar time bomb).
UNKNOWN_2027 = WorkingCalendar(package_through=2026)


def test_unknown_year_keeps_the_statutory_holidays_and_is_provisional() -> None:
    cal = UNKNOWN_2027
    # 《全国年节及纪念日放假办法》第二条: 元旦 1月1日 (Friday 2027-01-01) is a day off even unannounced.
    assert not cal.is_workday(date(2027, 1, 1))
    assert not cal.is_workday(date(2027, 1, 2))  # Saturday
    assert cal.is_workday(date(2027, 1, 4))  # Monday
    assert cal.add_working_days(date(2026, 12, 31), 1) == (date(2027, 1, 4), True)
    # Crossing from a known into an unknown year is provisional: Thu Dec 31, [Fri Jan 1], Mon 4, Tue 5.
    assert cal.add_working_days(date(2026, 12, 30), 3) == (date(2027, 1, 5), True)
    assert cal.add_working_days(date(2026, 12, 1), 3)[1] is False
    assert cal.source_of(2027)[0] == "provisional"


def _write_2027(directory: Path, body: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "2027.toml").write_text(body, encoding="utf-8")
    return directory


# Invented test data only: not the official 2027 arrangement.
TEST_2027 = """
year = 2027
source = "test fixture"
holidays = [2027-01-01, 2027-01-02, 2027-01-03]
workdays = [2027-01-09]
"""


def test_data_file_makes_year_known(tmp_path: Path) -> None:
    cal = WorkingCalendar(extra_dir=_write_2027(tmp_path / "cal", TEST_2027), package_through=2026)
    assert cal.is_known_year(2027)
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 9))  # a swapped Saturday
    assert cal.add_working_days(date(2026, 12, 31), 1) == (date(2027, 1, 4), False)
    assert cal.add_working_days(date(2027, 1, 8), 1) == (date(2027, 1, 9), False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (TEST_2027.replace("year = 2027", "year = 2028"), "year"),
        (TEST_2027.replace("2027-01-09", "2027-01-08"), "workdays[0]"),
        (TEST_2027.replace("2027-01-03]", "2026-12-31]"), "holidays[2]"),
        (TEST_2027.replace('source = "test fixture"', ""), "source"),
    ],
)
def test_bad_data_file(tmp_path: Path, body: str, field: str) -> None:
    directory = _write_2027(tmp_path / "cal", body)
    with pytest.raises(CalendarError) as info:
        WorkingCalendar(extra_dir=directory)
    assert info.value.field == field and "2027.toml" in str(info.value)


def test_missing_extra_dir(tmp_path: Path) -> None:
    with pytest.raises(CalendarError):
        WorkingCalendar(extra_dir=tmp_path / "nope")


def test_deadline_is_utc_end_of_local_day(cal: WorkingCalendar) -> None:
    # Submitted Tue 30 Sep 2025 at 23:30 Beijing time = 15:30 UTC.
    start = datetime(2025, 9, 30, 15, 30, tzinfo=UTC)
    result = cal.deadline(start, 1, "Asia/Shanghai")
    # End of Thu 9 Oct local = 10 Oct 00:00 +08:00 = 9 Oct 16:00 UTC.
    assert result.at == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)
    assert result.at.utcoffset() == timedelta(0)
    assert result.provisional is False
    # 16:30 UTC on 30 Sep is already 1 Oct in Beijing: the count starts from 1 Oct.
    later = cal.deadline(datetime(2025, 9, 30, 16, 30, tzinfo=UTC), 1, "Asia/Shanghai")
    assert later.at == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)
    local = cal.deadline(datetime(2025, 9, 26, 9, 0, tzinfo=timezone(timedelta(hours=8))), 7, "Asia/Shanghai")
    assert local.at == datetime(2025, 10, 13, 16, 0, tzinfo=UTC)


def test_deadline_provisional_and_guards(cal: WorkingCalendar) -> None:
    assert UNKNOWN_2027.deadline(datetime(2026, 12, 30, tzinfo=UTC), 5, "Asia/Shanghai").provisional
    assert not cal.deadline(datetime(2026, 12, 1, tzinfo=UTC), 5, "Asia/Shanghai").provisional
    with pytest.raises(ValueError):
        cal.deadline(datetime(2025, 9, 30, 12, 0), 1, "Asia/Shanghai")
    with pytest.raises(ValueError):
        cal.deadline(datetime(2025, 9, 30, 12, 0, tzinfo=UTC), -1, "Asia/Shanghai")
