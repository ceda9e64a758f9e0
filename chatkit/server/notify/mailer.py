"""Where emails go: an SMTP server (aiosmtplib), or .eml files in a folder when none is set.

A worker opens one mail session per round and sends every email of the round through it; the
SMTP session connects on the first email only, so an idle round costs no connection.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from chatkit.config import ConfigError, Settings

log = logging.getLogger("chatkit.notify")


class DeliveryError(Exception):
    """An email was not accepted. `permanent`: trying again will not help (e.g. 550)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailSession(Protocol):
    async def send(self, email: EmailMessage, *, key: str) -> str:
        """Hand over one email; returns where it went (for the log). Raises DeliveryError."""
        ...


class Mailer(Protocol):
    @property
    def description(self) -> str: ...

    def session(self) -> AbstractAsyncContextManager[MailSession]: ...


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool | None  # None: when the server offers it
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTarget:
        parts = urlsplit(settings.smtp_url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if not parts.hostname or port == -1:
            raise ConfigError(
                "invalid setting smtp_url: must look like smtp://[user:pass@]host:port"
            )
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            implicit_tls=implicit,
            starttls=None
            if implicit or settings.smtp_starttls == "auto"
            else settings.smtp_starttls == "always",
            timeout=settings.smtp_timeout,
        )


class SmtpMailer:
    def __init__(self, target: SmtpTarget) -> None:
        self.target = target

    @property
    def description(self) -> str:
        tls = (
            "TLS"
            if self.target.implicit_tls
            else "STARTTLS "
            + {
                None: "when offered",
                True: "required",
                False: "off",
            }[self.target.starttls]
        )
        return f"SMTP {self.target.host}:{self.target.port} ({tls})"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        session = _SmtpSession(self.target)
        try:
            yield session
        finally:
            await session.close()


class _SmtpSession:
    def __init__(self, target: SmtpTarget) -> None:
        self._target = target
        self._client: aiosmtplib.SMTP | None = None
        # After a failed connection the rest of the round fails fast with the same error
        # instead of waiting for the same timeout once per email.
        self._unreachable: DeliveryError | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._client is not None:
            return self._client
        if self._unreachable is not None:
            raise self._unreachable
        target = self._target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.implicit_tls,
            start_tls=False if target.implicit_tls else target.starttls,
            timeout=target.timeout,
        )
        try:
            await client.connect()
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            self._unreachable = DeliveryError(
                f"cannot reach SMTP server {target.host}:{target.port}: {_describe(exc)}"
            )
            raise self._unreachable from exc
        self._client = client
        return client

    async def send(self, email: EmailMessage, *, key: str) -> str:
        client = await self._connect()
        try:
            await client.send_message(email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._drop_connection()
            permanent = all(refusal.code >= 500 for refusal in exc.recipients)
            raise DeliveryError(_describe(exc), permanent=permanent) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._drop_connection()
            # A 5xx to the message itself will be refused again; other 5xx (authentication,
            # sender) are configuration problems an operator can fix, so they are retried.
            permanent = exc.code >= 500 and isinstance(exc, aiosmtplib.SMTPDataError)
            raise DeliveryError(_describe(exc), permanent=permanent) from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._drop_connection()
            raise DeliveryError(_describe(exc)) from exc
        return f"via {self._target.host}:{self._target.port}"

    async def _drop_connection(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            client.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.recipient} refused: {r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class FileMailer:
    """The out-of-the-box mailer: each email becomes `<folder>/<key>.eml`, logged in one line.

    Writing the same key twice replaces the file, so a retried claim never makes two files.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def description(self) -> str:
        return f".eml files in {self.folder}/ (no smtp_url set)"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        yield self

    async def send(self, email: EmailMessage, *, key: str) -> str:
        path = self.folder / f"{key}.eml"
        try:
            await asyncio.to_thread(_write_atomically, path, email.as_bytes())
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return f"written to {path}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def make_mailer(settings: Settings) -> SmtpMailer | FileMailer:
    """SMTP when smtp_url is set, else .eml files in notify_outbox. Raises ConfigError."""
    if settings.smtp_url:
        return SmtpMailer(SmtpTarget.from_settings(settings))
    return FileMailer(settings.notify_outbox)
