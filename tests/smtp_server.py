"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it accepts, for the email tests.

Like a mail server, it takes a message once the data has ended (the handler stores it, then
answers 250), and keeps nothing of a transaction whose data never ended. Tests script what a
server would do: refuse the next messages (451 for now, 550 for good), answer slowly, and then
check what arrived, e.g. that every email arrived exactly once.

    with SmtpServer() as server:
        app.config["SMTP_URL"] = server.url
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=default)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._messages: list[Received] = []
        self._replies: deque[str] = deque()
        self._latency: tuple[float, float] = (0.0, 0.0)
        self.port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    # --- scripting ----------------------------------------------------------------------------

    def refuse_next(self, *replies: str) -> None:
        """Answer the next messages' end of data with these replies instead of taking them."""
        with self._lock:
            self._replies.extend(replies)

    def set_latency(self, low: float, high: float) -> None:
        """Seconds between taking a message and answering 250."""
        self._latency = (low, high)

    # --- what arrived -------------------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    def count(self) -> int:
        with self._lock:
            return len(self._messages)

    def wait_for_count(self, at_least: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._messages) < at_least:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    # --- aiosmtpd handler ---------------------------------------------------------------------

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            self._messages.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
            self._lock.notify_all()
        low, high = self._latency
        if high:
            await asyncio.sleep(random.uniform(low, high))
        return "250 2.0.0 Message accepted for delivery"
