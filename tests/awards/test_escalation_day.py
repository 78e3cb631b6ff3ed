"""Escalation (督办, level 2) happens on the exact working day the setting names, counted on the
holiday calendar, not a calendar day or a working day early.

A district check opened on Wednesday 2024-06-05 has 10 working days: Thu 6, Fri 7, [Sat 8, Sun 9,
Mon 10 端午节], Tue 11 ... Fri 14, Mon 17 ... Thu 20: the 10th is Thursday 2024-06-20, so it is due
at 2024-06-21 00:00 Shanghai. Overdue working days after Thursday 20: Fri 21 (1), [Sat 22, Sun 23],
Mon 24 (2), Tue 25 (3). With escalation after 3 working days it is escalated on Tuesday 2024-06-25,
not on Monday 24 (already more than 3 calendar days late, so the calendar-day pre-filter of the
sweep lets it through and the working-day count alone decides).

Kills issue 16, table row 5: "escalation one working day early (services/awards/deadlines.py)".
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.awards.deadlines import sweep
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import Call, WorkItem
from services.db.models_mail import OutboxMail
from tests.helpers import act, apply_for, clock, open_item, pass_public_notice

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def state(services: Services, item_id: int) -> WorkItem:
    with services.uow() as uow:
        return uow.session.get_one(WorkItem, item_id)


def escalation_mails(services: Services, item_id: int) -> list[str]:
    with services.uow() as uow:
        return sorted(m.dedupe_key for m in uow.session.scalars(select(OutboxMail).where(
            OutboxMail.template == "task_escalated")) if m.dedupe_key and m.dedupe_key.endswith(f":{item_id}"))


@pytest.fixture
def june(services: Services) -> Services:
    Demo(services, echo=False).load()
    with services.uow() as uow:  # the demo call: open it over this test's dates
        call = uow.session.scalars(select(Call)).one()
        call.opens_on, call.closes_on = at("2024-06-01T00:00").date(), at("2024-06-30T00:00").date()
        uow.commit()
    clock(services).set(at("2024-06-05T09:00"))  # Wednesday
    return services


# kills table row 5 (escalation one working day early)
def test_escalation_on_the_third_working_day_overdue_not_a_day_early(june: Services) -> None:
    s = june
    assert s.settings.escalate_after_working_days == 3
    assert s.settings.stage_limits["district_check"] == 10
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(s, app_id)
    assert item.due_at == at("2024-06-21T00:00").astimezone(UTC)

    clock(s).set(at("2024-06-21T00:30"))  # Friday: the deadline fires, level 1 (overdue)
    report = sweep(s, s.clock.now())
    assert (app_id, "district_check_deadline") in report.fired
    assert (state(s, item.id).overdue, state(s, item.id).escalation_level) == (True, 1)

    for moment in ("2024-06-22T09:00", "2024-06-23T09:00",  # the weekend: 1 working day overdue
                   "2024-06-24T09:00", "2024-06-24T23:59"):  # Monday: 2 working days overdue
        clock(s).set(at(moment))
        assert item.id not in sweep(s, s.clock.now()).escalated, moment
        assert state(s, item.id).escalation_level == 1, moment
    assert escalation_mails(s, item.id) == [f"escalate1:{item.id}"]

    clock(s).set(at("2024-06-25T00:01"))  # Tuesday: 3 working days overdue
    assert item.id in sweep(s, s.clock.now()).escalated
    escalated = state(s, item.id)
    assert (escalated.escalation_level, escalated.escalated_at) == (2, s.clock.now())
    assert escalation_mails(s, item.id) == [f"escalate1:{item.id}", f"escalate2:{item.id}"]


# row 5, the other side: not a day late either, when the working days follow the deadline at once
def test_escalation_on_three_consecutive_working_days_is_not_a_day_late(june: Services) -> None:
    """Opened Monday 2024-06-17: Tue 18 ... Fri 21, Mon 24 ... Fri 28, Mon Jul 1 is the 10th working
    day, due 2024-07-02 00:00. Overdue: Tue Jul 2 (1), Wed 3 (2), Thu 4 (3): escalated on Thursday
    2024-07-04, although it is only 2 days and 9 hours past the deadline then."""
    s = june
    with s.uow() as uow:
        uow.session.scalars(select(Call)).one().closes_on = at("2024-07-31T00:00").date()
        uow.commit()
    clock(s).set(at("2024-06-17T09:00"))
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(s, app_id)
    assert item.due_at == at("2024-07-02T00:00").astimezone(UTC)
    clock(s).set(at("2024-07-02T00:30"))
    assert (app_id, "district_check_deadline") in sweep(s, s.clock.now()).fired
    clock(s).set(at("2024-07-03T23:59"))  # Wednesday: 2 working days overdue
    assert item.id not in sweep(s, s.clock.now()).escalated
    clock(s).set(at("2024-07-04T09:00"))  # Thursday: 3 working days overdue
    assert item.id in sweep(s, s.clock.now()).escalated
    assert state(s, item.id).escalation_level == 2


# a timer that is not a deadline (the public notice) opens finance's payout: new work, not overdue work
def test_a_task_opened_when_a_timer_fires_is_not_marked_overdue_or_escalated(june: Services) -> None:
    """Only a deadline marks work overdue (level 1, a mail to the unit head and managers): the sweep
    that fires the public notice's timer leaves the payout it opens unmarked and unmailed."""
    s = june
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    act(s, app_id, "district-donghu", "approve")
    act(s, app_id, "bureau", "approve", amount_fen=150_000_00)
    fired = pass_public_notice(s).fired
    assert [spec for app, spec in fired if app == app_id] != []  # the public notice ended
    payout = open_item(s, app_id)
    assert payout.task_spec == "finance_payout"
    assert (payout.overdue, payout.escalation_level) == (False, 0)
    assert escalation_mails(s, payout.id) == []


# the worker's sweep runs in another process than the web service that opened the case
def test_a_sweep_in_another_process_fires_the_deadline(june: Services) -> None:
    """A process that has never loaded the case (nothing cached) reads its state from the database and
    fires its deadline."""
    from config.settings import Settings
    from services.bootstrap import build
    from services.time.clock import ManualClock

    s = june
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(s, app_id)
    worker = build(Settings(database_url=s.settings.database_url, environment="test", data_dir=s.settings.data_dir,
                            argon2_time_cost=1, argon2_memory_kib=64), clock=ManualClock(at("2024-06-21T00:30")))
    try:
        assert (app_id, "district_check_deadline") in sweep(worker, worker.clock.now()).fired
    finally:
        worker.db.dispose()
    assert (state(s, item.id).overdue, state(s, item.id).escalation_level) == (True, 1)
