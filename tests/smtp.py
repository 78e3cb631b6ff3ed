"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, which can be stopped and started again.

The port is never chosen by bind-then-close (another process could take it in between): a socket
bound to port 0 with SO_REUSEPORT, never listening, holds the port for the server's whole life.
aiosmtpd listens on that port beside it while started; while stopped, the holder keeps the port, so
a connection is refused (an outage) and nobody else can take the port before the restart.
"""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the aiosmtpd hook name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages()]


class _SharedPortController(Controller):
    """aiosmtpd listening on a port that another (non-listening) socket of ours also holds."""

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, host=self.hostname, port=self.port,
                                       reuse_port=True)


class SmtpServer:
    """A real SMTP server that can be stopped and started again on the same port.

    `port` is known from construction on; until `close()` nothing else can bind it. Use it as a
    context manager, or call `close()`, to release the port.
    """

    def __init__(self) -> None:
        self._holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self._holder.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        self.port: int = self._holder.getsockname()[1]
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = _SharedPortController(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def close(self) -> None:
        self.stop()
        self._holder.close()

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self._holder.close()
