"""The SMTP sender (aiosmtplib): implements `services.mail.outbox.Mailer`. Connects only when sending."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from config.settings import Settings

DEFAULT_TIMEOUT = 30.0


class SmtpMailer:
    """Sends mail through the SMTP server of the settings; one connection per batch.

    Sets From (settings.mail_from) and a Message-ID on a message that has none. Logs in when
    settings.smtp_user is set; implicit TLS with smtp_tls, STARTTLS with smtp_starttls.
    """

    def __init__(self, settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.use_tls = settings.smtp_tls
        self.start_tls = settings.smtp_starttls and not settings.smtp_tls
        self.username = settings.smtp_user or None
        self._password = settings.smtp_password if settings.smtp_user else None
        self.mail_from = settings.mail_from
        self.timeout = timeout

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(hostname=self.host, port=self.port, username=self.username, password=self._password,
                               use_tls=self.use_tls, start_tls=self.start_tls, timeout=self.timeout)

    def prepare(self, message: EmailMessage) -> EmailMessage:
        """Fill in From and Message-ID where the message has none (in place); returns the message."""
        if "From" not in message:
            message["From"] = self.mail_from
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain=self.mail_from.rpartition("@")[2] or None)
        return message

    async def send(self, message: EmailMessage) -> str:
        """Send one message; returns its Message-ID, raises on failure."""
        (result,) = await self.send_many([message])
        if isinstance(result, Exception):
            raise result
        return result

    async def send_many(self, messages: Sequence[EmailMessage]) -> list[str | Exception]:
        """Send the messages over one connection; per message its Message-ID or the exception.

        A connection that drops is reopened for the next message; when connecting fails, every
        message not yet sent fails with that error (no long series of connect timeouts).
        """
        results: list[str | Exception] = []
        client = self._client()
        try:
            for index, message in enumerate(messages):
                if not client.is_connected:
                    try:
                        await client.connect()
                    except (aiosmtplib.SMTPException, OSError) as exc:
                        results.extend([exc] * (len(messages) - index))
                        break
                try:
                    await client.send_message(self.prepare(message))
                except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
                    results.append(exc)
                else:
                    results.append(str(message["Message-ID"]))
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        return results
