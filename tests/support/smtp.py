"""A real SMTP server for tests (aiosmtpd's Controller, in its own thread) and an inbox to
await what it accepted from the test's event loop."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "notify"
PASSWORD = "s3cret pass"
TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    at: float  # time.monotonic() when accepted

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return cast(str, cast(EmailMessage, body).get_content())


class Inbox:
    """The handler of the SMTP server; collects messages for the test's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, refuse: set[str] | None = None) -> None:
        self.messages: list[Received] = []
        self.logins: list[str] = []
        self._loop = loop
        self._changed = asyncio.Event()
        # Mailboxes to refuse with a 550 (tests change it while the server runs).
        self.refuse = set(refuse or ())

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message, 0.0)
        self._loop.call_soon_threadsafe(self._add, received)
        return "250 OK"

    def _add(self, received: Received) -> None:
        self.messages.append(
            Received(
                received.mail_from,
                received.rcpt_tos,
                received.raw,
                received.message,
                time.monotonic(),
            )
        )
        self._changed.set()

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if login == USER and password == PASSWORD:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[Received]:
        """Wait until at least `count` messages have arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{len(self.messages)} emails arrived, expected {count}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return list(self.messages)


@contextmanager
def smtp_server(inbox: Inbox, port: int | None = None) -> Iterator[int]:
    """Run an SMTP server (AUTH required, as USER / PASSWORD) on `port`; yields the port."""
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port or free_port(),
        authenticator=inbox.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()
