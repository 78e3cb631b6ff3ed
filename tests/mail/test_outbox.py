"""The mail outbox against a real database and a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from notifications.smtp import SmtpMailer
from services.bootstrap import Services
from services.db.models_mail import OutboxMail
from services.errors import Conflict, NotFound
from services.mail import outbox
from tests.helpers import clock
from tests.smtp import SmtpServer

PAID = {"enterprise_name": "洪城科技有限公司", "application_id": 42, "award_name": "专精特新中小企业奖励",
        "amount_fen": 30000000, "reference": "NCZF-2024-0001"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        server.start()
        yield server


@pytest.fixture
def mailer(services: Services, smtp: SmtpServer) -> SmtpMailer:
    settings = services.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "mail_from": "noreply@smeflow.test"})
    return SmtpMailer(settings, timeout=5)


def queue(services: Services, n: int = 1, *, key: str | None = None, **context: Any) -> list[int]:
    """Enqueue and commit `n` payment mails; returns the stored ids."""
    with services.uow() as uow:
        mails = [outbox.enqueue(uow.session, to=[f"ent{i}@example.com"], template="application_paid",
                                context={**PAID, "paid_at": services.clock.now(), **context},
                                now=services.clock.now(), dedupe_key=key, application_id=42) for i in range(n)]
        uow.commit()
        return [m.id for m in mails if m is not None]


def send(services: Services, mailer: SmtpMailer, **kwargs: Any) -> outbox.DispatchReport:
    return outbox.dispatch(services.uow, mailer, services.clock.now(), **kwargs)


def row(services: Services, mail_id: int) -> OutboxMail:
    with services.uow() as uow:
        return uow.session.get_one(OutboxMail, mail_id)


def counts(services: Services) -> dict[str, int]:
    with services.uow() as uow:
        return outbox.outbox_counts(uow.session)


def test_mail_of_a_rolled_back_transaction_is_not_stored(services: Services, mailer: SmtpMailer,
                                                         smtp: SmtpServer) -> None:
    with services.uow() as uow:  # left without commit
        outbox.enqueue(uow.session, to=["a@example.com"], template="application_paid",
                       context={**PAID, "paid_at": services.clock.now()}, now=services.clock.now())
    with pytest.raises(RuntimeError), services.uow() as uow:
        outbox.enqueue(uow.session, to=["a@example.com"], template="application_paid",
                       context={**PAID, "paid_at": services.clock.now()}, now=services.clock.now())
        uow.session.flush()
        raise RuntimeError("the change failed")
    assert counts(services) == {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "retrying": 0}
    assert send(services, mailer) == outbox.DispatchReport()
    assert smtp.inbox.envelopes == []


def test_committed_mail_arrives_with_subject_recipients_and_both_parts(services: Services, mailer: SmtpMailer,
                                                                        smtp: SmtpServer) -> None:
    (mail_id,) = queue(services)
    report = send(services, mailer)
    assert report == outbox.DispatchReport(sent=1)
    (envelope,) = smtp.inbox.envelopes
    assert envelope.mail_from == "noreply@smeflow.test"
    assert envelope.rcpt_tos == ["ent0@example.com"]
    (msg,) = smtp.inbox.messages()
    assert msg["Subject"] == "【中小企业奖补】奖补资金已拨付：300,000.00 元（申请编号 42）"
    assert msg["Message-ID"] == f"<outbox-{mail_id}@smeflow>"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "拨付金额：300,000.00 元" in text and "NCZF-2024-0001" in text
    assert "<strong>300,000.00 元</strong>" in html and "洪城科技有限公司" in html
    stored = row(services, mail_id)
    assert (stored.status, stored.attempts, stored.message_id) == ("sent", 0, f"<outbox-{mail_id}@smeflow>")
    assert stored.sent_at == services.clock.now()
    assert send(services, mailer) == outbox.DispatchReport()
    assert len(smtp.inbox.envelopes) == 1


def test_user_values_arrive_escaped_in_html(services: Services, mailer: SmtpMailer, smtp: SmtpServer) -> None:
    queue(services, enterprise_name='<script>alert("x")</script>&Co', reference="<img src=x onerror=alert(1)>")
    send(services, mailer)
    (msg,) = smtp.inbox.messages()
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;Co" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<script>alert("x")</script>&Co' in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_server_down_backs_off_then_every_mail_arrives_exactly_once(services: Services, mailer: SmtpMailer,
                                                                   smtp: SmtpServer) -> None:
    ids = queue(services, 3)
    smtp.stop()
    start = services.clock.now()
    assert send(services, mailer, backoff=timedelta(minutes=1)) == outbox.DispatchReport(retried=3)
    for mail_id in ids:
        stored = row(services, mail_id)
        assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 1, start + timedelta(minutes=1))
        assert stored.last_error
    assert send(services, mailer) == outbox.DispatchReport()  # not due yet: nothing tried
    clock(services).advance(timedelta(minutes=1))
    assert send(services, mailer, backoff=timedelta(minutes=1)) == outbox.DispatchReport(retried=3)
    assert row(services, ids[0]).next_attempt_at == services.clock.now() + timedelta(minutes=2)

    smtp.start()
    clock(services).advance(timedelta(minutes=2))
    assert send(services, mailer) == outbox.DispatchReport(sent=3)
    assert send(services, mailer) == outbox.DispatchReport()
    assert Counter(smtp.inbox.message_ids()) == {f"<outbox-{i}@smeflow>": 1 for i in ids}
    assert counts(services)["sent"] == 3


def test_after_max_attempts_a_mail_fails_and_retry_failed_requeues_it(services: Services, mailer: SmtpMailer,
                                                                     smtp: SmtpServer) -> None:
    (mail_id,) = queue(services)
    smtp.stop()
    assert send(services, mailer, max_attempts=2) == outbox.DispatchReport(retried=1)
    assert counts(services)["retrying"] == 1  # not sent and failing: the dashboard counts it as a problem
    clock(services).advance(timedelta(minutes=1))
    assert send(services, mailer, max_attempts=2) == outbox.DispatchReport(failed=1)
    stored = row(services, mail_id)
    assert (stored.status, stored.attempts) == ("failed", 2) and stored.last_error
    clock(services).advance(timedelta(days=1))
    assert send(services, mailer, max_attempts=2) == outbox.DispatchReport()
    with services.uow() as uow:
        assert [m.id for m in outbox.failed_mails(uow.session)] == [mail_id]
        outbox.retry_failed(uow.session, mail_id, services.clock.now())
        uow.commit()
    assert counts(services) == {"pending": 1, "sending": 0, "sent": 0, "failed": 0, "retrying": 0}
    smtp.start()
    assert send(services, mailer, max_attempts=2) == outbox.DispatchReport(sent=1)
    assert smtp.inbox.message_ids() == [f"<outbox-{mail_id}@smeflow>"]
    with services.uow() as uow:
        with pytest.raises(Conflict):
            outbox.retry_failed(uow.session, mail_id, services.clock.now())
        with pytest.raises(NotFound):
            outbox.retry_failed(uow.session, mail_id + 1000, services.clock.now())


def test_a_dispatcher_crash_while_sending_is_recovered_after_the_lease(services: Services, mailer: SmtpMailer,
                                                                      smtp: SmtpServer) -> None:
    class Crash(BaseException):
        pass

    class CrashingMailer(SmtpMailer):
        async def send_many(self, messages: Any) -> list[str | Exception]:
            raise Crash

    (mail_id,) = queue(services)
    with pytest.raises(Crash):
        send(services, CrashingMailer(services.settings))
    assert row(services, mail_id).status == "sending"
    clock(services).advance(timedelta(minutes=5))
    assert send(services, mailer) == outbox.DispatchReport()  # still within the lease
    clock(services).advance(timedelta(minutes=5))
    assert send(services, mailer, backoff=timedelta(0)) == outbox.DispatchReport(sent=1, reclaimed=1)
    assert smtp.inbox.message_ids() == [f"<outbox-{mail_id}@smeflow>"]
    assert row(services, mail_id).attempts == 1


def test_dedupe_key_stores_the_same_mail_once(services: Services) -> None:
    assert len(queue(services, key="paid:42")) == 1
    assert queue(services, key="paid:42") == []
    with services.uow() as uow:
        other = outbox.enqueue(uow.session, to=["b@example.com"], template="application_paid",
                               context={**PAID, "paid_at": services.clock.now()}, now=services.clock.now())
        assert other is not None
        assert outbox.enqueue(uow.session, to=["c@example.com"], template="application_paid",
                              context={**PAID, "paid_at": services.clock.now()}, now=services.clock.now(),
                              dedupe_key="paid:42") is None
        uow.commit()  # the caller's transaction survived the rejected duplicate
    with services.uow() as uow:
        rows = uow.session.scalars(select(OutboxMail.recipients).order_by(OutboxMail.id)).all()
    assert rows == [["ent0@example.com"], ["b@example.com"]]


def test_two_transactions_enqueueing_the_same_key_store_it_once(services: Services) -> None:
    context = {**PAID, "paid_at": services.clock.now()}
    results: list[OutboxMail | None] = []

    def second() -> None:
        with services.uow() as uow:
            results.append(outbox.enqueue(uow.session, to=["b@example.com"], template="application_paid",
                                          context=context, now=services.clock.now(), dedupe_key="k"))
            uow.commit()

    with services.uow() as uow:
        assert outbox.enqueue(uow.session, to=["a@example.com"], template="application_paid", context=context,
                              now=services.clock.now(), dedupe_key="k") is not None
        uow.session.flush()
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # waits on our uncommitted row (PostgreSQL) or write lock (SQLite)
        uow.commit()
    thread.join(timeout=30)
    assert results == [None]
    assert counts(services)["pending"] == 1


def test_concurrent_dispatchers_send_each_mail_once(services: Services, mailer: SmtpMailer,
                                                    smtp: SmtpServer) -> None:
    ids = queue(services, 12)
    reports: list[outbox.DispatchReport] = []

    def run() -> None:
        while (report := send(services, mailer, limit=3)).sent:
            reports.append(report)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r.sent for r in reports) == 12
    assert Counter(smtp.inbox.message_ids()) == {f"<outbox-{i}@smeflow>": 1 for i in ids}
