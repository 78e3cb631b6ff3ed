"""The local mail sink of development: an aiosmtpd server on the SMTP host and port of the settings
that keeps every message under `<data_dir>/mailbox` (services.mail.mailbox), where the demo users
read their mail at /mailbox. `smeflow up` starts it when the settings ask for it (`mail_sink`);
`smeflow mailsink` runs it alone. It delivers nothing anywhere: it is not a relay."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from config.settings import Settings
from services.mail.mailbox import MAX_BYTES, mailbox_dir, store_message


class MailSinkError(RuntimeError):
    """The sink cannot listen where the settings send mail."""


class _Keep:
    """aiosmtpd handler: store each accepted message in the mailbox directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the aiosmtpd hook name
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        store_message(self.directory, content, [str(r) for r in envelope.rcpt_tos])
        return "250 Message accepted for delivery"


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class _Controller(Controller):
    """aiosmtpd's controller, which may also be given port 0 (the system picks one; `port` tells which)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]  # an asyncio.Server
        super()._trigger_server()


def start_sink(settings: Settings, *, port: int | None = None) -> Controller:
    """Listen on smtp_host:smtp_port (a loopback address; `port` overrides the port, 0 lets the system
    pick one) and keep every message; MailSinkError if the port is taken or the host is not this
    machine."""
    host = "127.0.0.1" if settings.smtp_host.strip().lower() == "localhost" else settings.smtp_host.strip()
    if host not in ("127.0.0.1", "::1"):
        raise MailSinkError(f"本地邮件接收器只在本机监听；SMEFLOW_SMTP_HOST 现为 {settings.smtp_host}")
    port = settings.smtp_port if port is None else port
    if port and not _port_free(host, port):
        raise MailSinkError(
            f"端口 {port}（{host}）已被占用，本地邮件接收器无法启动；请停止占用该端口的程序，或把 SMEFLOW_SMTP_PORT "
            f"设为空闲端口，或设 SMEFLOW_MAIL_SINK=off 改由在该端口监听的 SMTP 服务器发送")
    directory = mailbox_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    controller = _Controller(_Keep(directory), hostname=host, port=port, data_size_limit=MAX_BYTES)
    controller.start()
    return controller
