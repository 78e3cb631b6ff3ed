"""The mail outbox: mail is rendered and stored in the transaction of the change it reports, and sent
afterwards by `dispatch`, so a rolled-back change sends nothing and a sent mail is never lost.

Delivery is at least once, made as close to exactly once as SMTP allows: a row is claimed (committed
as `sending`) before it is sent and marked `sent` right after; only a crash between the two resends
it, and then with the same deterministic Message-ID (`<outbox-<id>@<domain>>`), so the copy is
recognisable. Failures go back to `pending` with exponential backoff until `max_attempts`, then the
row is parked as `failed` for a manager to `retry_failed`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from notifications.render import render
from services.db.dialect import sql
from services.db.models_mail import MAIL_STATUSES, OutboxMail
from services.db.writes import Write, at_commit
from services.errors import Conflict, InvalidInput, NotFound
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)
_ADDRESS = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+")


class Mailer(Protocol):
    """Sends mail. `send_many` may reuse one connection for a batch and reports each message apart."""

    async def send(self, message: EmailMessage) -> str:
        """Send one message; return its Message-ID, raise on failure."""
        ...

    async def send_many(self, messages: Sequence[EmailMessage]) -> list[str | Exception]:
        """Send each message; per message its Message-ID or the exception that stopped it."""
        ...


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0  # parked as failed in this run (attempts used up)
    retried: int = 0  # back to pending, with backoff
    reclaimed: int = 0  # found stuck in `sending` past the lease (a dispatcher crashed)


def message_id(mail_id: int, domain: str = "smeflow") -> str:
    """The deterministic Message-ID of outbox row `mail_id`."""
    return f"<outbox-{mail_id}@{domain}>"


def _recipients(to: Sequence[str]) -> list[str]:
    if isinstance(to, str):
        raise InvalidInput("to", "应为邮箱地址列表，而不是一个字符串")
    seen: dict[str, None] = {}
    for raw in to:
        address = raw.strip()
        if not address:
            continue
        if not _ADDRESS.fullmatch(address):
            raise InvalidInput("to", f"不是有效的邮箱地址：{address!r}")
        seen.setdefault(address, None)
    return list(seen)


_DEDUPED: dict[str, Any] = {}


def enqueue(session: Session, *, to: Sequence[str], template: str, context: Mapping[str, Any], now: datetime,
            dedupe_key: str | None = None, application_id: int | None = None,
            with_commit: bool = False) -> OutboxMail | None:
    """Render mail `template` and add it to the outbox in the caller's transaction (no commit).

    Returns None without storing anything when no recipient is left after dropping blank addresses,
    or when a mail with the same `dedupe_key` exists (also one another transaction commits meanwhile):
    the unique constraint decides, in the one INSERT ... ON CONFLICT DO NOTHING that stores the mail,
    so the caller's transaction stays usable and nothing is read first.
    Raises InvalidInput for a malformed address, ValueError for an unknown template and
    jinja2.UndefinedError for a missing context value.

    `with_commit` (a mail with a `dedupe_key` that nothing in the transaction reads back: a step's
    notice): the same INSERT is sent with the transaction's COMMIT (services.db.writes.at_commit;
    on PostgreSQL in the one flight of the audit append and the COMMIT), and None is returned.
    """
    recipients = _recipients(to)
    if not recipients:
        log.warning("mail %s not queued: no recipient address", template)
        return None
    rendered = render(template, context)
    values = {"created_at": now, "recipients": recipients, "subject": rendered.subject, "text_body": rendered.text,
              "html_body": rendered.html, "template": template, "status": "pending", "attempts": 0,
              "next_attempt_at": now, "dedupe_key": dedupe_key, "application_id": application_id}
    if dedupe_key is None:
        mail = OutboxMail(**values)
        session.add(mail)
        return mail
    dialect = sql(session)
    statement = _DEDUPED.get(dialect.__name__)
    if statement is None:  # built once per dialect, plain Core
        table: Any = OutboxMail.__table__
        statement = _DEDUPED[dialect.__name__] = dialect.insert_ignoring(table, "dedupe_key").returning(table.c.id)
    if with_commit:
        at_commit(session, Write(_deduped_plain(dialect), values))
        return None
    stored = session.connection().execute(statement, values).scalar()
    if stored is None:
        log.info("mail %s not queued: dedupe key %r already used", template, dedupe_key)
        return None
    return OutboxMail(id=stored, **values)  # the row as stored (not attached to the session)


_DEDUPED_PLAIN: dict[str, Any] = {}


def _deduped_plain(dialect: Any) -> Any:
    """The deduplicated INSERT without RETURNING (nothing reads its answer), built once per dialect."""
    statement = _DEDUPED_PLAIN.get(dialect.__name__)
    if statement is None:
        statement = _DEDUPED_PLAIN[dialect.__name__] = dialect.insert_ignoring(OutboxMail.__table__, "dedupe_key")
    return statement


def build_message(mail: OutboxMail, *, now: datetime, domain: str = "smeflow") -> EmailMessage:
    """The message of an outbox row: text with an HTML alternative; From is left to the mailer."""
    msg = EmailMessage()
    msg["To"] = ", ".join(mail.recipients)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(mail.id, domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text_body, subtype="plain", charset="utf-8")
    msg.add_alternative(mail.html_body, subtype="html", charset="utf-8")
    return msg


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _record_failure(mail: OutboxMail, error: str, now: datetime, *, max_attempts: int, backoff: timedelta) -> bool:
    """Count a failed attempt; True when the mail is parked as failed, False when it will be retried."""
    mail.attempts += 1
    mail.last_error = error[:2000]
    if mail.attempts >= max_attempts:
        mail.status = "failed"
        return True
    mail.status = "pending"
    mail.next_attempt_at = now + min(backoff * 2 ** (mail.attempts - 1), MAX_BACKOFF)
    return False


def _reclaim(session: Session, now: datetime, report: DispatchReport, *, max_attempts: int,
             backoff: timedelta) -> None:
    query = select(OutboxMail).where(OutboxMail.status == "sending", OutboxMail.next_attempt_at <= now)
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    for mail in session.scalars(query):
        report.reclaimed += 1
        parked = _record_failure(mail, "lease expired: the dispatcher stopped while sending (it may have been sent)",
                                 now, max_attempts=max_attempts, backoff=backoff)
        report.failed += parked


def _claim(session: Session, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxMail]:
    query = (select(OutboxMail.id)
             .where(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)
             .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit))
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    claimed = session.scalars(
        update(OutboxMail).where(OutboxMail.id.in_(ids), OutboxMail.status == "pending")
        .values(status="sending", next_attempt_at=now + lease).returning(OutboxMail.id)).all()
    rows = session.scalars(select(OutboxMail).where(OutboxMail.id.in_(claimed)).order_by(OutboxMail.id)
                           .execution_options(populate_existing=True))
    return list(rows)


async def _send_batch(mailer: Mailer, messages: list[EmailMessage]) -> list[str | Exception]:
    try:
        results = await mailer.send_many(messages)
    except Exception as exc:  # the mailer failed as a whole: every message failed with it
        return [exc] * len(messages)
    if len(results) != len(messages):
        raise RuntimeError(f"mailer returned {len(results)} results for {len(messages)} messages")
    return results


def dispatch(uow_factory: Callable[[], UnitOfWork], mailer: Mailer, now: datetime, *, limit: int = 100,
             max_attempts: int = 5, backoff: timedelta = timedelta(minutes=1), lease: timedelta = DEFAULT_LEASE,
             domain: str = "smeflow") -> DispatchReport:
    """Send up to `limit` due mails in one batch (idempotent; safe to run concurrently).

    Synchronous: runs the async mailer with asyncio.run, so call it from sync code or a worker thread.
    """
    report = DispatchReport()
    with uow_factory() as uow:
        _reclaim(uow.session, now, report, max_attempts=max_attempts, backoff=backoff)
        batch = _claim(uow.session, now, limit=limit, lease=lease)
        uow.commit()
    if not batch:
        return report
    results = asyncio.run(_send_batch(mailer, [build_message(m, now=now, domain=domain) for m in batch]))
    with uow_factory() as uow:
        session = uow.session
        for claimed, result in zip(batch, results, strict=True):
            mail = session.get(OutboxMail, claimed.id, with_for_update=_is_postgres(session))
            if mail is None or mail.status != "sending" or mail.next_attempt_at != claimed.next_attempt_at:
                continue  # our lease ran out and another dispatcher took the mail over
            if isinstance(result, Exception):
                log.info("mail %s not sent: %s", mail.id, result)
                parked = _record_failure(mail, f"{type(result).__name__}: {result}", now,
                                         max_attempts=max_attempts, backoff=backoff)
                report.failed += parked
                report.retried += not parked
            else:
                mail.status, mail.message_id, mail.sent_at, mail.last_error = "sent", result, now, None
                report.sent += 1
        uow.commit()
    return report


def retry_failed(session: Session, mail_id: int, now: datetime) -> OutboxMail:
    """Put a failed mail back in the queue with a fresh count of attempts (for managers; no commit)."""
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        raise NotFound(f"邮件 #{mail_id} 不存在")
    if mail.status != "failed":
        raise Conflict(f"邮件 #{mail_id} 未处于发送失败状态，只有发送失败的邮件可以重发")
    mail.status, mail.attempts, mail.next_attempt_at = "pending", 0, now
    return mail


def failed_mails(session: Session, *, limit: int = 50) -> list[OutboxMail]:
    """The most recent failed mails, for the manager's dashboard."""
    query = select(OutboxMail).where(OutboxMail.status == "failed").order_by(OutboxMail.id.desc()).limit(limit)
    return list(session.scalars(query))


def outbox_counts(session: Session) -> dict[str, int]:
    """Number of mails per status (every status present, zero included), and `retrying`: mail not sent
    yet that has failed at least once (a problem too: no SMTP server, or it refuses)."""
    counts = dict.fromkeys(MAIL_STATUSES, 0)
    for status, n in session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)):
        counts[status] = n
    counts["retrying"] = session.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.status.in_(("pending", "sending")), OutboxMail.attempts > 0)) or 0
    return counts


class Wiring(Protocol):
    """What `send_pending` needs of the wired service (services.bootstrap.Services has it); the
    mailer is handed in, so this module never imports the wiring back."""

    settings: Settings

    @property
    def mailer(self) -> Mailer: ...

    def uow(self) -> UnitOfWork: ...


def send_pending(services: Wiring, now: datetime, *, rounds: int = 50) -> DispatchReport:
    """Dispatch due mail with the configured mailer until nothing due is left (or `rounds` batches)."""
    total = DispatchReport()
    for _ in range(rounds):
        report = dispatch(services.uow, services.mailer, now, max_attempts=services.settings.outbox_max_attempts)
        total.sent += report.sent
        total.failed += report.failed
        total.retried += report.retried
        total.reclaimed += report.reclaimed
        if not (report.sent or report.failed):
            break
    return total
