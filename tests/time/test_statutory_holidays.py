"""A year that neither the package nor a year file knows keeps the holidays the law fixes.

《全国年节及纪念日放假办法》第二条 as amended in 2024 (in force 2025-01-01): 元旦 1 day (1月1日), 春节
4 days (农历除夕、正月初一至初三), 清明节 1 day (清明当日), 劳动节 2 days (5月1日、2日), 端午节 1 day,
中秋节 1 day, 国庆节 3 days (10月1日至3日). Make-up days (第六条) and swapped days (第七条) are not
fixed by it: every answer in such a year stays provisional.

The lunar and solar-term dates below were written by hand from published almanacs, not computed.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from services.time import calendar as calendar_module
from services.time.calendar import WorkingCalendar
from services.time.holidays import HolidayRulesError, load_holiday_rules, statutory_holidays

HOLIDAYS_2027 = {
    date(2027, 1, 1),  # 元旦 (Friday)
    date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8),  # 除夕 Feb 5, 正月初一 Feb 6
    date(2027, 4, 5),  # 清明
    date(2027, 5, 1), date(2027, 5, 2),  # 劳动节
    date(2027, 6, 9),  # 端午 (五月初五)
    date(2027, 9, 15),  # 中秋 (八月十五)
    date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3),  # 国庆节
}
HOLIDAYS_2028 = {
    date(2028, 1, 1),  # 元旦 (a Saturday)
    date(2028, 1, 25), date(2028, 1, 26), date(2028, 1, 27), date(2028, 1, 28),  # 除夕 Jan 25
    date(2028, 4, 4),  # 清明 (a leap year)
    date(2028, 5, 1), date(2028, 5, 2),
    date(2028, 5, 28),  # 端午
    date(2028, 10, 1), date(2028, 10, 2), date(2028, 10, 3),  # 国庆; 中秋 falls on Oct 3 too
}


def test_the_holidays_of_2027_and_2028_are_those_the_law_fixes() -> None:
    assert statutory_holidays(2027) == HOLIDAYS_2027
    assert statutory_holidays(2028) == HOLIDAYS_2028


def test_the_computed_festivals_agree_with_the_official_arrangements_the_package_carries() -> None:
    # An independent check of the lunar and solar-term arithmetic: 2025 and 2026 were arranged under
    # the amended 办法, so every day it fixes is a day off in the State Council's notices.
    for year in (2025, 2026):
        days = statutory_holidays(year)
        assert len(days) == 13
        assert all(chinese_calendar.is_holiday(d) for d in days), year


def test_new_years_day_2028_under_the_fallback() -> None:
    cal = WorkingCalendar(package_through=2026)
    # Sat 2028-01-01: a rest day either way; its make-up day (第六条) is not fixed, so provisional.
    assert not cal.is_workday(date(2028, 1, 1))
    assert cal.add_working_days(date(2027, 12, 31), 1) == (date(2028, 1, 3), True)
    # A 30-day period from Thu 2027-12-02 ends on Sat 2028-01-01 and moves to Mon 2028-01-03 (民法典 第二百零三条).
    assert cal.period_end(date(2027, 12, 2), 30, roll=True) == (date(2028, 1, 3), True)
    # The bug this replaces: on weekdays alone, a period ending Fri 2027-01-01 ended on New Year's Day.
    assert cal.period_end(date(2026, 12, 2), 30, roll=True) == (date(2027, 1, 4), True)
    # The Spring Festival 2028 (Tue Jan 25 to Fri Jan 28): the 1st working day after Mon Jan 24 is Mon Jan 31.
    assert cal.add_working_days(date(2028, 1, 24), 1) == (date(2028, 1, 31), True)


TEST_2027 = """\
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知（测试用，非真实安排）"
holidays = [2027-01-01, 2027-01-02, 2027-01-03, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10,
            2027-02-11, 2027-02-12, 2027-02-13, 2027-02-14]
workdays = [2027-01-31, 2027-02-20]
"""


def test_a_running_process_drops_its_memo_when_a_year_file_is_installed(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 14 item 11: the answer must not outlive the calendar it was computed with.
    installed = tmp_path / "installed"
    cal = WorkingCalendar(watch_dir=installed, package_through=2026)
    # Sun 2027-01-10 + 30 days = Tue 2027-02-09: not a statutory holiday, so it stands, provisionally.
    assert cal.period_end(date(2027, 1, 10), 30, roll=True) == (date(2027, 2, 9), True)
    assert cal.period_end(date(2026, 12, 2), 30, roll=True) == (date(2027, 1, 4), True)

    installed.mkdir()
    (installed / "2027.toml").write_text(TEST_2027, encoding="utf-8")
    clock = calendar_module._time.monotonic() + 61  # a minute later: the calendar looks again
    monkeypatch.setattr(calendar_module._time, "monotonic", lambda: clock)

    # The notice gives Feb 6-14 off: Feb 9 moves to Mon Feb 15, and both answers are no longer provisional.
    assert cal.period_end(date(2027, 1, 10), 30, roll=True) == (date(2027, 2, 15), False)
    assert cal.period_end(date(2026, 12, 2), 30, roll=True) == (date(2027, 1, 4), False)


def test_a_year_before_the_amendment_or_past_the_tables_gets_no_computed_holiday() -> None:
    assert statutory_holidays(2024, dataclasses.replace(load_holiday_rules(), applies_from_year=2025)) == frozenset()
    # lunardate's tables end with 2099: 2100 keeps only the solar festivals and 清明 (Apr 5).
    days_2100 = statutory_holidays(2100)
    assert date(2100, 1, 1) in days_2100 and date(2100, 10, 3) in days_2100 and len(days_2100) == 7


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace('days = 4', 'days = 0'), "holidays[1].days"),
        (lambda t: t.replace('lunar = "05-05"', 'lunar = "5/5"'), "holidays[4].lunar"),
        (lambda t: t.replace('solar_term = "清明"', 'solar_term = "冬至"'), "holidays[2].solar_term"),
        (lambda t: t.replace('name = "国庆节"\nsolar = "10-01"', 'name = "国庆节"'), "holidays[6].solar"),
        (lambda t: t.replace("applies_from_year = 2025", ""), "applies_from_year"),
    ],
)
def test_a_bad_rules_file_names_the_field(tmp_path: Path, edit, field: str) -> None:  # type: ignore[no-untyped-def]
    from services.time.holidays import HOLIDAYS_FILE

    bad = tmp_path / "holidays.toml"
    bad.write_text(edit(HOLIDAYS_FILE.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(HolidayRulesError) as info:
        load_holiday_rules(bad)
    assert info.value.field == field


def test_every_day_of_a_computed_festival_is_a_rest_day_of_the_fallback() -> None:
    cal = WorkingCalendar(package_through=2026)
    first = date(2027, 2, 5)
    assert [cal.is_workday(first + timedelta(days=i)) for i in range(-1, 5)] == [True, False, False, False, False,
                                                                                   True]
