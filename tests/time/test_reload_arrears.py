"""Loading a year's holiday calendar recomputes the arrears campaign's deadlines too: the acceptance
review of a registered case (its placeholder step) and the transfer step of a started case, with
the timer the arrears sweep reads and the timer inside the workflow.

The test does not depend on which years the installed chinesecalendar knows: the package is made
to know nothing from 2027 on (`unknown_from_2027`), so 2027 comes from the file below or is
provisional. The file is a test arrangement (not the real 2027 notice): 元旦 Jan 1-3 and a whole
test week Jan 4-8 off, days no weekday or statutory-holiday fallback would guess.

Hand-derived, 10 working days from Monday 2026-12-28 (10:00): Tue 29, Wed 30, Thu 31,
[Fri Jan 1 - Sun Jan 10 off], Mon Jan 11, 12, 13, 14, Fri 15, Mon 18, Tue 19 -> the 10th working day
is Tuesday 2027-01-19, so both steps are due at 2027-01-20 00:00 Shanghai (2027-01-19 16:00 UTC).

Kills issue 16, table row 3: "`smeflow calendar load` skips the arrears steps and timers
(services/time/reload.py)".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import select

from config.settings import Settings
from services.bootstrap import Services, build
from services.db.models import AuditEvent, ProcessInstance
from services.db.models_arrears import ArrearsTimer
from services.setup import initialise
from services.time.calendar import WorkingCalendar
from services.time.clock import ManualClock
from services.time.reload import KIND, load_calendar
from tests.arrears.conftest import Campaign, build_campaign
from tests.conftest import ON_POSTGRES

SH = ZoneInfo("Asia/Shanghai")
DUE = datetime(2027, 1, 20, 0, 0, tzinfo=SH).astimezone(UTC)  # the end of Tuesday 2027-01-19

TEST_2027 = """\
# 2027.toml - a test arrangement in the form of the State Council notice (not the real 2027 one)
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知（测试用）"
holidays = [
    2027-01-01, 2027-01-02, 2027-01-03,                          # 元旦
    2027-01-04, 2027-01-05, 2027-01-06, 2027-01-07, 2027-01-08,  # a test week off
]
workdays = []
"""


@pytest.fixture
def unknown_from_2027(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed chinesecalendar is taken to know no year from 2027 on, whatever its version."""
    knows = WorkingCalendar._library_knows
    monkeypatch.setattr(WorkingCalendar, "_library_knows", lambda self, year: year < 2027 and knows(self, year))


@pytest.fixture
def winter(unknown_from_2027: None, db_url: str, tmp_path: Path) -> Iterator[Campaign]:
    settings = Settings(database_url=db_url, environment="test", data_dir=tmp_path / "data", argon2_time_cost=1,
                        argon2_memory_kib=64, stage_limits={"arrears_acceptance": 10, "arrears_transfer": 10})
    services = build(settings, clock=ManualClock(datetime(2026, 12, 28, 10, 0, tzinfo=SH)))  # a Monday
    if ON_POSTGRES:
        initialise(services)
    assert not services.calendar.is_known_year(2027)
    yield build_campaign(services)
    services.db.dispose()


def timer_rows(s: Services, case_id: int) -> list[tuple[str, datetime]]:
    with s.uow() as uow:
        return [(t.event_spec, t.due_at) for t in uow.session.scalars(
            select(ArrearsTimer).where(ArrearsTimer.case_id == case_id))]


def workflow_timers(s: Services, instance_id: int) -> list[tuple[str, datetime]]:
    with s.uow() as uow:
        wf = s.engine.loads(uow.session.get_one(ProcessInstance, instance_id).state)
    return [(t.spec, t.due_at) for t in s.engine.waiting_timers(wf)]


# kills table row 3 (calendar load skips the arrears steps and timers)
def test_loading_the_year_moves_the_arrears_deadlines_and_the_sweep_follows(winter: Campaign,
                                                                            tmp_path: Path) -> None:
    c = winter
    registered = c.register(n=1)
    started = c.register(n=2)
    c.act(started, "acceptance_review", "bureau", "accept")  # the transfer clock starts now
    acceptance = c.open_steps(registered)["acceptance_review"]
    transfer = c.open_steps(started)["transfer"]
    instance = c.case(started).instance_id
    assert instance is not None
    for step in (acceptance, transfer):  # counted through 2027 on a guess: provisional, another day
        assert step.due_provisional and step.due_at != DUE
    assert [spec for spec, _ in timer_rows(c.services, started)] == ["transfer_deadline"]

    file = tmp_path / "incoming" / "2027.toml"
    file.parent.mkdir()
    file.write_text(TEST_2027, encoding="utf-8")
    report = load_calendar(c.services, file, actor="admin", now=c.now())

    assert sorted((m.table, m.row_id, m.after, m.provisional_after) for m in report.moved) == [
        ("arrears_task", acceptance.id, DUE, False), ("arrears_task", transfer.id, DUE, False)]
    assert (report.cases, report.still_provisional) == (2, 0)
    for case_id, spec in ((registered, "acceptance_review"), (started, "transfer")):
        step = c.open_steps(case_id)[spec]
        assert (step.due_at, step.due_provisional) == (DUE, False), spec
    assert timer_rows(c.services, started) == [("transfer_deadline", DUE)]
    assert workflow_timers(c.services, instance) == [("transfer_deadline", DUE)]
    with c.services.uow() as uow:  # one calendar.reload audit event per changed case
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == KIND)).all()
    assert sorted(orjson.loads(e.payload)["case"] for e in events) == sorted([registered, started])

    c.at(datetime(2027, 1, 19, 23, 30))  # the last half hour of the 10th working day: nothing fires
    report_before = c.sweep()
    assert report_before.fired == [] and not c.open_steps(started)["transfer"].overdue
    c.at(datetime(2027, 1, 20, 0, 30))
    assert c.sweep().fired == [(started, "transfer_deadline")]
    assert c.open_steps(registered)["acceptance_review"].overdue
