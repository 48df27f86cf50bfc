"""A local mail catcher (SMTP on 127.0.0.1): where the sandbox's notification e-mails land."""

from __future__ import annotations

import logging
import socket
import threading
from email import message_from_bytes
from email.message import Message
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


class MailSink:
    """A real SMTP server that keeps every message it accepts (no TLS, no auth)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        # aiosmtpd logs every connection at INFO.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller = Controller(self, hostname=host, port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: keep the message."""
        content = envelope.original_content or b""
        with self._lock:
            self.messages.append(message_from_bytes(content))
        return "250 OK"

    def received(self) -> list[Message]:
        """The messages so far."""
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> MailSink:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
