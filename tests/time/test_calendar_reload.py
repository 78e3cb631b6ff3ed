"""Loading a year's holiday calendar recomputes the provisional deadlines that run through it.

Late December 2026, with the calendar told to take nothing after 2026 from chinesecalendar (the
setting `calendar_package_through`, so the test holds whatever release is installed): a district check
opened on Monday 2026-12-28 with a 30-working-day limit is counted through January and February 2027
on the statutory holidays of 《全国年节及纪念日放假办法》 alone (元旦 Jan 1; 春节 from 除夕 Fri Feb 5 to
Mon Feb 8) and shown as provisional. The 2027 file below (a test arrangement in the form of the State
Council notice, not the real one) gives New Year's Day and the Spring Festival (Feb 6-14) off and makes
Sunday Jan 31 a working day:

* statutory holidays only: Dec 29, 30, 31, [Jan 1], Jan 4-8, 11-15, 18-22, 25-29, Feb 1-4, [Feb 5, 8],
  Feb 9, 10, 11 -> the 30th is Thu Feb 11, due at the end of it (2027-02-12 00:00 Shanghai);
* with the 2027 calendar: Dec 29, 30, 31, Jan 4-8, 11-15, 18-22, 25-29, Sun Jan 31, Feb 1-5,
  [Feb 6-14 off], Feb 15 -> due at 2027-02-16 00:00 Shanghai.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from config.settings import Settings, get_settings
from services.awards import inbox
from services.awards.deadlines import sweep
from services.awards.demo import Demo
from services.bootstrap import Services, build
from services.db.models import AuditEvent, Call, Timer, User, WorkItem
from services.setup import initialise
from services.time.calendar import SOURCE_FILE, SOURCE_PACKAGE, SOURCE_PROVISIONAL, CalendarError
from services.time.clock import ManualClock
from services.time.reload import KIND, load_calendar
from tests.conftest import ON_POSTGRES, point_env_at
from tests.helpers import apply_for, clock, open_item, snapshot

SH = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
OFFICER = "district-donghu"

CALENDAR_2027 = """\
# 2027.toml - a test arrangement in the form of the State Council notice (not the real 2027 one)
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知（测试用）"
holidays = [
    2027-01-01, 2027-01-02, 2027-01-03,                                     # 元旦
    2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10,             # 春节
    2027-02-11, 2027-02-12, 2027-02-13, 2027-02-14,
    2027-04-03, 2027-04-04, 2027-04-05,                                     # 清明节
    2027-05-01, 2027-05-02, 2027-05-03, 2027-05-04, 2027-05-05,             # 劳动节
    2027-06-09, 2027-06-10, 2027-06-11,                                     # 端午节
    2027-09-15, 2027-09-16, 2027-09-17,                                     # 中秋节
    2027-10-01, 2027-10-02, 2027-10-03, 2027-10-04, 2027-10-05, 2027-10-06, 2027-10-07,  # 国庆节
]
# 调休上班: Sunday before and Saturday after the Spring Festival, and so on
workdays = [2027-01-31, 2027-02-20, 2027-04-25, 2027-06-12, 2027-09-26, 2027-10-09]
"""


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=SH)


def write(directory: Path, text: str, name: str = "2027.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / name
    file.write_text(text, encoding="utf-8")
    return file


@pytest.fixture
def winter(db_url: str, tmp_path: Path) -> Iterator[Services]:
    """A service whose district check lasts 30 working days, with a case opened on Monday 2026-12-28."""
    settings = Settings(database_url=db_url, environment="test", data_dir=tmp_path / "data",
                        argon2_time_cost=1, argon2_memory_kib=64, stage_limits={"district_check": 30},
                        calendar_package_through=2026)
    svc = build(settings, clock=ManualClock(at("2026-12-21")))
    if ON_POSTGRES:
        initialise(svc)
    assert not svc.calendar.is_known_year(2027)
    Demo(svc, echo=False).load()
    with svc.uow() as uow:  # the demo call is in 2024; reopen it for this test's dates
        call = uow.session.scalars(select(Call)).one()
        call.opens_on, call.closes_on = at("2026-12-01").date(), at("2026-12-31").date()
        uow.commit()
    clock(svc).set(at("2026-12-28"))
    yield svc
    svc.db.dispose()


def officer_row(s: Services, item_id: int) -> inbox.InboxRow:
    with s.uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == OFFICER)).one()
        rows = inbox.inbox_rows(uow.session, user, now=s.clock.now())
    return next(r for r in rows if r.item_id == item_id)


def timers(s: Services, instance_id: int) -> list[tuple[str, datetime]]:
    with s.uow() as uow:
        return [(t.event_spec, t.due_at) for t in uow.session.scalars(
            select(Timer).where(Timer.instance_id == instance_id))]


def reload_events(s: Services) -> list[AuditEvent]:
    with s.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == KIND)))


def test_loading_2027_moves_the_provisional_deadline_and_the_sweep_follows(winter: Services,
                                                                            tmp_path: Path) -> None:
    s = winter
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(s, app_id)
    provisional_due = at("2027-02-12", 0).astimezone(UTC)
    assert item.task_spec == "district_check"
    assert (item.due_at, item.due_provisional) == (provisional_due, True)
    row = officer_row(s, item.id)
    assert row.due_provisional and row.due_at == provisional_due
    assert timers(s, item.instance_id) == [("district_check_deadline", provisional_due)]
    assert s.calendar.source_of(2027)[0] == SOURCE_PROVISIONAL

    report = load_calendar(s, write(tmp_path / "incoming", CALENDAR_2027), actor="admin", now=s.clock.now())

    official = at("2027-02-16", 0).astimezone(UTC)
    assert report.installed == s.settings.calendar_install_dir / "2027.toml" and report.installed.is_file()
    assert [(m.row_id, m.before, m.after, m.provisional_after) for m in report.moved] == [
        (item.id, provisional_due, official, False)]
    assert report.cases == 1 and report.still_provisional == 0
    moved = open_item(s, app_id)
    assert (moved.due_at, moved.due_provisional) == (official, False)
    row = officer_row(s, item.id)
    assert not row.due_provisional and row.due_at == official
    assert timers(s, item.instance_id) == [("district_check_deadline", official)]
    with s.uow() as uow:  # the workflow itself waits for the new time
        from services.db.models import ProcessInstance

        inst = uow.session.get_one(ProcessInstance, item.instance_id)
        assert [t.due_at for t in s.engine.snapshot(s.engine.loads(inst.state)).timers] == [official]
    [event] = reload_events(s)
    assert (event.actor, event.instance_id, event.application_id) == ("admin", item.instance_id, app_id)
    assert "2027" in event.payload and official.isoformat() in event.payload
    assert s.calendar.source_of(2027)[0] == SOURCE_FILE and s.calendar.source_of(2026)[0] == SOURCE_PACKAGE

    # a freshly started service reads the installed file
    fresh = build(s.settings, clock=ManualClock(s.clock.now()))
    assert fresh.calendar.is_known_year(2027)
    assert fresh.calendar.deadline(at("2026-12-28"), 30, "Asia/Shanghai").at == official
    fresh.db.dispose()

    clock(s).set(at("2027-02-12", 9))  # after the provisional deadline: nothing fires
    assert sweep(s, s.clock.now()).fired == []
    clock(s).set(at("2027-02-15", 23))  # the last day (the Monday after the festival): not yet
    assert sweep(s, s.clock.now()).fired == []
    clock(s).set(at("2027-02-16", 1))
    assert sweep(s, s.clock.now()).fired == [(app_id, "district_check_deadline")]
    with s.uow() as uow:
        assert uow.session.get_one(WorkItem, item.id).overdue

    # loading the same file again changes nothing more
    again = load_calendar(s, report.installed, actor="admin", now=s.clock.now())
    assert again.replaced and again.moved == [] and len(reload_events(s)) == 1


def test_a_deadline_through_another_unknown_year_stays_provisional(winter: Services, tmp_path: Path) -> None:
    s = winter
    settings = s.settings.model_copy(update={"stage_limits": {**s.settings.stage_limits, "district_check": 300}})
    long = Services(settings=settings, clock=s.clock)
    app_id = apply_for(long, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(long, app_id)
    assert item.due_provisional and item.due_at is not None and item.due_at.astimezone(SH).year == 2028
    report = load_calendar(long, write(tmp_path / "incoming", CALENDAR_2027), actor="admin", now=s.clock.now())
    [m] = report.moved
    assert m.provisional_after and m.after != m.before and report.still_provisional == 1
    moved = open_item(long, app_id)
    assert (moved.due_at, moved.due_provisional) == (m.after, True)
    long.db.dispose()


BAD = [
    (CALENDAR_2027.replace("2027-01-31, ", "2027-02-01, "), "workdays[0]", "本是工作日；只列调休上班的周末日期"),
    (CALENDAR_2027.replace("2027-09-17,", "2027-09-17, 2028-01-01,"), "holidays[26]", "2028-01-01 不在 2027 年内"),
    (CALENDAR_2027.replace("year = 2027", "year = 2028"), "year", "2028 与文件名不符"),
    (CALENDAR_2027.replace("source =", "sauce ="), "sauce", "未知的键"),
    (CALENDAR_2027.replace("year = 2027", "year = = 2027"), "", "不是有效的 TOML 文件"),
]


@pytest.mark.parametrize(("text", "field", "rule"), BAD)
def test_a_bad_file_changes_nothing(winter: Services, tmp_path: Path, text: str, field: str, rule: str) -> None:
    s = winter
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    before = snapshot(s)
    with pytest.raises(CalendarError) as caught:
        load_calendar(s, write(tmp_path / "incoming", text), actor="admin", now=s.clock.now())
    assert rule in str(caught.value) and caught.value.field == field
    assert snapshot(s) == before
    assert not (s.settings.calendar_install_dir / "2027.toml").exists()
    assert open_item(s, app_id).due_provisional and not s.calendar.is_known_year(2027)


def test_a_year_the_package_carries_is_refused(winter: Services, tmp_path: Path) -> None:
    text = 'year = 2026\nsource = "国办发明电〔2025〕7号"\nholidays = [2026-01-01]\nworkdays = [2026-01-04]\n'
    with pytest.raises(CalendarError, match="已随程序包（chinesecalendar）提供"):
        load_calendar(winter, write(tmp_path / "incoming", text, "2026.toml"), actor="admin",
                      now=winter.clock.now())


@pytest.fixture
def cli(winter: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SMEFLOW_STAGE_LIMITS__DISTRICT_CHECK", "30")
    monkeypatch.setenv("SMEFLOW_CALENDAR_PACKAGE_THROUGH", "2026")
    point_env_at(winter, monkeypatch)
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_load_and_show(cli: CliRunner, winter: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    result = cli.invoke(app, ["calendar", "show", "2027"])
    assert result.exit_code == 0 and "2027 年：暂定 — 按《全国年节及纪念日放假办法》推算的法定节假日" in result.output
    # The 2027 festivals by the 办法's rules (lunar 正月初一 is Sat 2027-02-06, so 春节 runs Fri 02-05 (除夕)
    # to Mon 02-08), each marked 暂定; those on a weekend wait for the notice's 补假; no swap is listed.
    assert "2027-01-01  2027年1月1日（周五）  元旦（暂定）" in result.output
    assert "2027-02-05  2027年2月5日（周五）  春节（暂定）" in result.output
    assert "2027-02-07  2027年2月7日（周日）  春节（暂定；逢周末，补假日期待国务院通知）" in result.output
    assert "2027-10-03  2027年10月3日（周日）  国庆节（暂定；逢周末，补假日期待国务院通知）" in result.output
    assert "补假（第六条）和调休（第七条）须待国务院办公厅当年的节假日安排通知" in result.output
    assert "上班" not in result.output  # no invented working weekend
    weekday = write(incoming, CALENDAR_2027.replace("2027-01-31, ", "2027-02-01, "))
    bad = cli.invoke(app, ["calendar", "load", str(weekday)])
    lines = [line for line in bad.output.splitlines() if line.strip()]
    assert bad.exit_code == 1 and len(lines) == 1, bad.output
    assert "2027.toml：workdays[0]：2027-02-01 本是工作日" in lines[0] and "Traceback" not in bad.output
    missing = cli.invoke(app, ["calendar", "load", str(incoming / "nope.toml")])
    assert missing.exit_code == 1 and "nope.toml 不存在或不是文件" in missing.output

    app_id = apply_for(winter, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    ok = cli.invoke(app, ["calendar", "load", str(write(incoming, CALENDAR_2027)), "--user", "admin"])
    assert ok.exit_code == 0, ok.output
    assert "2027 年节假日安排已安装：" in ok.output and "2027.toml（依据 国务院办公厅关于2027年" in ok.output
    assert "重新计算办理期限 1 个，涉及 1 件案件；其中 0 个仍为暂定" in ok.output
    assert "（区县初审）：办理期限 2027年2月11日（周四）前 → 2027年2月15日（周一）前" in ok.output
    assert open_item(winter, app_id).due_at == at("2027-02-16", 0).astimezone(UTC)
    shown = cli.invoke(app, ["calendar", "show", "2027"])
    assert shown.exit_code == 0 and "2027 年：数据文件 — " in shown.output and "测试用" in shown.output
    assert os.path.exists(winter.settings.calendar_install_dir / "2027.toml")



def test_audit_replay_reproduces_a_reloaded_case(winter: Services, tmp_path: Path) -> None:
    from services.audit.replay import replay_case

    s = winter
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    load_calendar(s, write(tmp_path / "incoming", CALENDAR_2027), actor="admin", now=s.clock.now())
    with s.uow() as uow:
        result = replay_case(uow, s, application_id=app_id)
    assert result.reproduced, result.differences
