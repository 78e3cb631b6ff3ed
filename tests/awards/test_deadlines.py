"""Time travel across the 2024 National Day holiday: a district check left alone gets its reminder,
then its deadline fires, then it is escalated, all counted in working days (工作日) with the swapped
working weekend days (2024-09-29 Sunday and 2024-10-12 Saturday were working days; 10-01..10-07 not)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from notifications.smtp import SmtpMailer
from services.awards.deadlines import sweep
from services.awards.demo import Demo
from services.awards.reminders import run_reminders
from services.bootstrap import Services
from services.db.models import WorkItem
from services.db.models_mail import OutboxMail
from services.mail import outbox
from tests.helpers import apply_for, clock, open_item
from tests.smtp import SmtpServer

SH = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=SH)


@pytest.fixture
def autumn(services: Services) -> Services:
    clock(services).set(at("2024-09-20"))
    Demo(services, echo=False).load()
    with services.uow() as uow:  # the demo call is in June; reopen it for this test's dates
        from services.db.models import Call

        call = uow.session.scalars(select(Call)).one()
        call.opens_on, call.closes_on = at("2024-09-01").date(), at("2024-09-30").date()
        uow.commit()
    clock(services).set(at("2024-09-23"))  # Monday
    return services


def mails(services: Services, template: str) -> list[OutboxMail]:
    with services.uow() as uow:
        return list(uow.session.scalars(select(OutboxMail).where(OutboxMail.template == template)))


def item_state(services: Services, item_id: int) -> WorkItem:
    with services.uow() as uow:
        return uow.session.get_one(WorkItem, item_id)


def test_reminder_deadline_and_escalation_across_the_holiday_week(autumn: Services) -> None:
    s = autumn
    app_id = apply_for(s, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(s, app_id)
    # 10 working days from Mon 09-23: 24,25,26,27, Sun 29 (swapped), 30, [01-07 holiday], 08, 09, 10, 11
    assert item.due_at == at("2024-10-12", 0).astimezone(ZoneInfo("UTC"))
    assert not item.due_provisional

    clock(s).set(at("2024-10-05"))  # a holiday: no digest
    assert run_reminders(s, s.clock.now()).working_day is False
    clock(s).set(at("2024-10-10"))  # Thursday: due within 2 working days (11, Sat 12)
    report = run_reminders(s, s.clock.now())
    assert report.working_day and report.queued >= 1
    [digest] = [m for m in mails(s, "officer_digest") if m.recipients == ["district-donghu@example.gov.cn"]]
    assert "即将到期（1 件）" in digest.text_body and "已超期（0 件）" in digest.text_body
    assert run_reminders(s, s.clock.now()).queued == 0  # the same day again: nothing twice

    clock(s).set(at("2024-10-11", 23))  # the last day: not due yet
    assert sweep(s, s.clock.now()).fired == []
    clock(s).set(at("2024-10-12"))  # Saturday, a swapped working day: the deadline has passed
    first = sweep(s, s.clock.now())
    assert first.fired == [(app_id, "district_check_deadline")]
    state = item_state(s, item.id)
    assert (state.status, state.overdue, state.escalation_level) == ("open", True, 1)
    [notice] = mails(s, "task_escalated")
    assert notice.recipients == ["head-donghu@example.gov.cn", "manager@example.gov.cn"]
    assert sweep(s, s.clock.now()).fired == []  # run twice: fires once

    clock(s).set(at("2024-10-14"))  # 2 working days overdue (Sat 12, Mon 14): not escalated yet
    assert sweep(s, s.clock.now()).escalated == []
    clock(s).set(at("2024-10-15"))  # 3 working days overdue: escalated
    assert sweep(s, s.clock.now()).escalated == [item.id]
    state = item_state(s, item.id)
    assert state.escalation_level == 2 and state.escalated_at == s.clock.now()
    assert len(mails(s, "task_escalated")) == 2
    assert sweep(s, s.clock.now()).escalated == []


def test_applicant_notices_arrive_by_smtp(services: Services) -> None:
    from tests.helpers import act, pass_public_notice

    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    act(services, app_id, "district-donghu", "return", reason="缺少<script>alert(1)</script>认定文件")
    act(services, app_id, "applicant-a", "resubmit")
    act(services, app_id, "district-donghu", "approve")
    act(services, app_id, "bureau", "approve", amount_fen=250_000_00)
    pass_public_notice(services)
    act(services, app_id, "finance", "pay", reference="PAY-7")
    server = SmtpServer()
    server.start()
    try:
        settings = services.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": server.port})
        report = outbox.dispatch(services.uow, SmtpMailer(settings, timeout=5), services.clock.now())
        assert outbox.dispatch(services.uow, SmtpMailer(settings, timeout=5), services.clock.now()).sent == 0
    finally:
        server.close()
    messages = server.inbox.messages()
    assert report.sent == len(messages) == 4
    subjects = [str(m["Subject"]) for m in messages]
    assert all(str(m["To"]) == "a@example.com" for m in messages)
    assert any("退回" in x for x in subjects) and any("公示" in x for x in subjects)
    assert any("拨付" in x for x in subjects)
    returned = next(m for m in messages if "退回" in str(m["Subject"]))
    html = returned.get_body(("html",))
    assert html is not None and "&lt;script&gt;" in html.get_content() and "<script>" not in html.get_content()
    paid = next(m for m in messages if "拨付" in str(m["Subject"]))
    text = paid.get_body(("plain",))
    assert text is not None and "250,000.00" in text.get_content() and "PAY-7" in text.get_content()
