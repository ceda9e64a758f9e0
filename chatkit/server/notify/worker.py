"""The delivery worker: polls the outbox, claims one conversation's due notifications at a
time, re-checks them, sends one email and records the outcome.

It runs inside `chatkit serve` (create_app's lifecycle) and alone as `chatkit notify run`;
any number of them may run against one database (claims are exclusive, see
chatkit.server.data.store.notifications). The hot message path never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatkit.aiotools import BackgroundTask
from chatkit.config import Settings, signing_secret
from chatkit.ids import new_id
from chatkit.server.data.store.notifications import Claim, NotificationStore, QueuedMessage
from chatkit.server.notify.compose import EmailOptions, compose
from chatkit.server.notify.mailer import DeliveryError, Mailer, MailSession, make_mailer
from chatkit.timefmt import utcnow

log = logging.getLogger("chatkit.notify")

MAX_BACKOFF_SECONDS = 3600.0
# Claims handled in one round before the worker yields (a retry_delay of 0 must not spin).
MAX_CLAIMS_PER_ROUND = 200
# Old rows are looked for at most this often (each look is one indexed DELETE or a few).
PRUNE_INTERVAL_SECONDS = 3600.0


@dataclass(slots=True)
class RoundReport:
    emails: int = 0
    dropped: int = 0
    retried: int = 0
    failed: int = 0
    pruned: int = 0


class NotifyWorker:
    def __init__(
        self,
        store: NotificationStore,
        mailer: Mailer,
        options: EmailOptions,
        *,
        poll_interval: float,
        max_attempts: int,
        retry_delay: float,
        lease: float,
        retention: float = 0.0,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self.mailer = mailer
        self._options = options
        self._poll_interval = poll_interval
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._lease = lease
        self._retention = retention
        self._next_prune: datetime | None = None
        self.owner = owner or _default_owner()
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task = BackgroundTask("chatkit-notify", self.run)

    def start(self) -> None:
        if not self._task.running:
            self._stopping.clear()
            self._task.start()

    async def stop(self) -> None:
        """Finish the email in hand (bounded by the lease), then stop."""
        self._stopping.set()
        await self._task.stop(grace=self._lease)

    async def run(self) -> None:
        """Deliver rounds until stopped."""
        log.info("notify worker %s delivering to %s", self.owner, self.mailer.description)
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # the database may be down for a while; keep trying
                log.exception("notification round failed; trying again")
            try:
                await asyncio.wait_for(self._stopping.wait(), self._poll_interval)
            except TimeoutError:
                pass

    async def run_once(self) -> RoundReport:
        """Deliver everything due now; returns what happened."""
        report = RoundReport()
        now = self._clock()
        if self._retention > 0 and (self._next_prune is None or now >= self._next_prune):
            self._next_prune = now + timedelta(seconds=PRUNE_INTERVAL_SECONDS)
            report.pruned = await self.prune()
        async with self.mailer.session() as mail:
            for _ in range(MAX_CLAIMS_PER_ROUND):
                if self._stopping.is_set():
                    break
                claim = await self._store.claim_next(
                    owner=self.owner, now=self._clock(), lease=self._lease
                )
                if claim is None:
                    break
                await self._deliver(claim, mail, report)
        return report

    async def prune(self) -> int:
        """Delete finished notifications older than the retention period (none if it is 0)."""
        if self._retention <= 0:
            return 0
        before = self._clock() - timedelta(seconds=self._retention)
        pruned = await self._store.prune(before=before)
        if pruned:
            log.info("pruned %d finished notification(s) older than %s", pruned, before)
        return pruned

    async def _deliver(self, claim: Claim, mail: MailSession, report: RoundReport) -> None:
        store = self._store
        delivery = await store.delivery(claim)
        if delivery is None:
            reason = "the recipient or the conversation no longer exists"
            await self._drop(claim, list(claim.notification_ids), reason, report)
            return
        await self._drop(claim, delivery.orphans, "the message no longer exists", report)
        if not delivery.recipient.notify_email:
            reason = "the recipient turned email notifications off"
            await self._drop(claim, _ids(delivery.messages), reason, report)
            return
        # Read at send time: edited messages show their current text, deleted ones are left
        # out, and an email whose messages were all deleted is not sent.
        deleted = [item for item in delivery.messages if item.message.deleted_at is not None]
        await self._drop(claim, _ids(deleted), "deleted before the email was due", report)
        live = [item for item in delivery.messages if item.message.deleted_at is None]
        read = [item for item in live if item.message.seq <= delivery.read_seq]
        unread = [item for item in live if item.message.seq > delivery.read_seq]
        await self._drop(claim, _ids(read), "read before the email was due", report)
        if not unread:
            return
        ids = _ids(unread)
        if not await store.still_claimed(claim, now=self._clock()):
            # Our lease ran out (a stalled process): another worker owns these rows now.
            log.warning("claim %s expired before sending; leaving it to its new owner", claim.id)
            return
        to = delivery.recipient.email
        try:
            email = compose(delivery, unread, self._options)
            where = await mail.send(email, key=claim.id)
        except DeliveryError as exc:
            await self._failed(claim, ids, exc, to, report)
            return
        except Exception as exc:  # e.g. the secret file cannot be written: keep it, retry
            log.exception("composing the notification email to %s failed", to)
            await self._failed(claim, ids, DeliveryError(f"cannot compose: {exc}"), to, report)
            return
        await self._record_sent(claim, ids)
        report.emails += 1
        log.info(
            "notified %s of %d message(s) in conversation %s: %s",
            to,
            len(ids),
            claim.conversation_id,
            where,
        )

    async def _drop(self, claim: Claim, ids: list[str], reason: str, report: RoundReport) -> None:
        """Finish these notifications unsent (none: nothing happens)."""
        report.dropped += await self._store.mark_dropped(
            claim, ids, reason=reason, now=self._clock()
        )

    async def _failed(
        self, claim: Claim, ids: list[str], exc: DeliveryError, to: str, report: RoundReport
    ) -> None:
        attempts = claim.attempts + 1
        now = self._clock()
        if exc.permanent or attempts >= self._max_attempts:
            await self._store.mark_failed(claim, ids, error=str(exc), retry_at=None, now=now)
            report.failed += len(ids)
            log.error(
                "notification to %s failed for good after %d attempt(s): %s", to, attempts, exc
            )
            return
        wait = self.backoff(attempts)
        retry_at = now + timedelta(seconds=wait)
        await self._store.mark_failed(claim, ids, error=str(exc), retry_at=retry_at, now=now)
        report.retried += len(ids)
        log.warning(
            "notification to %s not sent (attempt %d of %d), retrying in %.0fs: %s",
            to,
            attempts,
            self._max_attempts,
            wait,
            exc,
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: retry_delay, doubling, at most an hour."""
        return float(min(self._retry_delay * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS))

    async def _record_sent(self, claim: Claim, ids: list[str]) -> None:
        # The email is out: losing this update would let the lease expire and another worker
        # send it again, so a brief database hiccup is retried before giving up.
        for attempt in range(4):
            try:
                await self._store.mark_sent(claim, ids, now=self._clock())
                return
            except Exception:
                if attempt == 3:
                    raise
                log.warning("recording a sent notification failed; retrying", exc_info=True)
                await asyncio.sleep(0.5 * 2**attempt)


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"[:100]


def build_worker(
    settings: Settings, store: NotificationStore, *, owner: str | None = None
) -> NotifyWorker:
    """A worker configured from settings. Raises ConfigError for a bad smtp_url."""
    return NotifyWorker(
        store,
        make_mailer(settings),
        EmailOptions(
            mail_from=settings.mail_from,
            base_url=settings.base_url,
            include_content=settings.notify_include_content,
            secret=lambda: signing_secret(settings),
        ),
        poll_interval=settings.notify_poll_interval,
        max_attempts=settings.notify_max_attempts,
        retry_delay=settings.notify_retry_delay,
        # Long enough for one email's SMTP conversation, short enough that a crashed worker's
        # claim is picked up again within minutes.
        lease=4 * settings.smtp_timeout + 60,
        retention=settings.notify_retention,
        owner=owner,
    )


def _ids(items: list[QueuedMessage]) -> list[str]:
    return [item.notification_id for item in items]
