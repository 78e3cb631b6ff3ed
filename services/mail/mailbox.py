"""The local mailbox of the development mail sink: every message the sink received, one file each
under `<data_dir>/mailbox`, read back for the page where demo users read their mail.

The sink itself (an aiosmtpd server, `app/mailsink.py`) writes each message as received, with the
envelope recipients in a first header line `X-Mailbox-Rcpt-To`, to a temporary name and then renames
it, so a reader never sees half a message. Reading is bounded: the newest `SCAN_LIMIT` files, and
messages up to `MAX_BYTES` each.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from config.settings import Settings
from services.errors import NotFound

__all__ = ["LOOPBACK", "MAX_BYTES", "MailboxMessage", "mailbox_dir", "read_message", "recent_messages",
           "sink_enabled", "store_message"]

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
RCPT_HEADER = "X-Mailbox-Rcpt-To"
MAX_BYTES = 5 * 1024 * 1024  # a message larger than this is refused by the sink (552)
SCAN_LIMIT = 2000  # the page reads at most the newest 2,000 messages
_NAME = re.compile(r"^\d{8}T\d{6}\d{6}Z-[0-9a-f]{32}\.eml$")


def sink_enabled(settings: Settings) -> bool:
    """Whether the local mail sink is part of this installation (`mail_sink`: on, off, or auto = in
    development and test when the SMTP host is this machine)."""
    if settings.mail_sink != "auto":
        return settings.mail_sink == "on"
    return settings.environment in ("development", "test") and settings.smtp_host.strip().lower() in LOOPBACK


def mailbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "mailbox"


def store_message(directory: Path, content: bytes, recipients: list[str], *, now: datetime | None = None) -> Path:
    """Keep one received message (atomically: a temporary file renamed into place)."""
    directory.mkdir(parents=True, exist_ok=True)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    name = f"{at:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex}.eml"
    header = f"{RCPT_HEADER}: {', '.join(recipients)}\r\n".encode("utf-8", "replace")
    tmp = directory / f".{name}.tmp"
    with tmp.open("wb") as fh:
        fh.write(header + content)
        fh.flush()
        os.fsync(fh.fileno())
    final = directory / name
    tmp.replace(final)
    return final


@dataclass(frozen=True)
class MailboxMessage:
    key: str  # the file name (the page's id)
    received_at: datetime
    sent_at: datetime  # the message's Date header (the service's clock: the demo clock in the demo)
    recipients: tuple[str, ...]
    sender: str
    subject: str
    text: str  # the plain-text body (or the HTML part's text when there is none)


def _parse(path: Path, *, body: bool) -> MailboxMessage | None:
    try:
        raw = path.read_bytes()[:MAX_BYTES]
    except OSError:
        return None
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    recipients = tuple(a.strip().lower() for a in str(msg.get(RCPT_HEADER, "")).split(",") if a.strip())
    text = ""
    if body:
        part = msg.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
    stamp = path.name.split("Z-", 1)[0]
    received = datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    try:
        sent = email.utils.parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else received
    except (TypeError, ValueError):
        sent = received
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return MailboxMessage(path.name, received, sent, recipients, str(msg.get("From", "")), str(msg.get("Subject", "")),
                          text)


def _newest(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    names = sorted((n for n in os.listdir(directory) if _NAME.match(n)), reverse=True)[:SCAN_LIMIT]
    return [directory / n for n in names]


def recent_messages(directory: Path, *, address: str | None, limit: int = 200) -> list[MailboxMessage]:
    """The newest messages sent to `address` (every message when None), newest first."""
    wanted = address.strip().lower() if address else None
    found: list[MailboxMessage] = []
    for path in _newest(directory):
        msg = _parse(path, body=False)
        if msg is None or (wanted is not None and wanted not in msg.recipients):
            continue
        found.append(msg)
        if len(found) >= limit:
            break
    return found


def read_message(directory: Path, key: str, *, address: str | None) -> MailboxMessage:
    """One message with its body, if it was sent to `address` (any, when None); NotFound otherwise."""
    if not _NAME.match(key):
        raise NotFound("no such message")
    msg = _parse(directory / key, body=True)
    if msg is None or (address is not None and address.strip().lower() not in msg.recipients):
        raise NotFound("no such message")
    return msg
