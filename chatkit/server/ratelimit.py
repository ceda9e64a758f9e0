"""Rate limits: messages per user, socket events per connection, kept in this process.

A rate "N per P" (`30/second`, `100/minute`, `5 per 10 seconds`) is enforced with GCRA, the
token bucket written as one number per key: a key may burst N events at once, then one more
every P/N seconds. A check costs a dict lookup and some arithmetic on the loop; nothing runs
between checks. A key whose bucket has refilled is the same as no key, so it is dropped: the
least recently allowed keys are looked at on each allowed hit (insertion order of an
OrderedDict), and sockets are forgotten when they disconnect.

Limits are per process, also when Redis is configured: with N workers a user can reach N
times the rate at most. The limits stop floods; they are not metering, and sharing them
through Redis would put a network round trip on every message and every socket event.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatkit.config import Settings
from chatkit.server.errors import RateLimited

# Grammar of the setting, as the `limits` library accepted it before (so that no existing
# configuration breaks): "N/unit", "N per unit", "N/M units", several joined by , ; or |.
_ONE = r"\s*([0-9]+)\s*(?:/|\s*per\s*)\s*([0-9]+)?\s*([a-z]+)\s*"
_ALL = re.compile(rf"^{_ONE}(?:[,;|]{_ONE})*$", re.IGNORECASE)
_SPLIT = re.compile(r"[,;|]")
_UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "month": 30 * 86400,
    "year": 360 * 86400,
}
# Float sums of P/N must not refuse the Nth event of a burst by a rounding error.
_EPSILON = 1e-9

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Rate:
    amount: int
    period: float

    @property
    def interval(self) -> float:
        return self.period / self.amount


def parse_rates(text: str) -> tuple[Rate, ...]:
    """`30/second`, `100 per minute`, `5/10 seconds`, `1/second; 20/minute` (all enforced)."""
    if not _ALL.match(text):
        raise ValueError(f"not a rate: {text!r}")
    rates = []
    for part in _SPLIT.split(text):
        found = re.fullmatch(_ONE, part, re.IGNORECASE)
        assert found is not None  # the whole string matched the grammar above
        amount, multiples, unit = found.groups()
        seconds = _UNITS.get(unit.lower().removesuffix("s"))
        if seconds is None:
            raise ValueError(f"unknown time unit {unit!r}")
        if int(amount) < 1:
            raise ValueError("a rate allows at least one event")
        rates.append(Rate(int(amount), seconds * int(multiples or 1)))
    return tuple(rates)


class Limiter:
    """GCRA for every key, against one or more rates; state only for keys not yet refilled."""

    def __init__(self, rates: Sequence[Rate], *, clock: Clock = time.monotonic) -> None:
        self._rates = tuple(rates)
        self._clock = clock
        # key -> per rate, the "theoretical arrival time" of the next event; ordered by the
        # last allowed hit, so that the front holds the keys most likely refilled.
        self._due: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._due)

    def hit(self, key: str) -> float:
        """Count one event of `key`: 0.0 if allowed, else the seconds until one would be."""
        now = self._clock()
        due = self._due.get(key)
        wait = 0.0
        following = []
        for index, rate in enumerate(self._rates):
            start = now if due is None or due[index] < now else due[index]
            after = start + rate.interval
            over = after - now - rate.period
            if over > _EPSILON:
                wait = max(wait, over)
            following.append(after)
        if wait > 0.0:
            return wait  # refused: a refused event does not count
        self._due[key] = following
        self._due.move_to_end(key)
        self._drop_refilled(now)
        return 0.0

    def forget(self, key: str) -> None:
        self._due.pop(key, None)

    def _drop_refilled(self, now: float) -> None:
        # Amortised O(1): each key is dropped at most once per time it was stored.
        while self._due:
            key, due = next(iter(self._due.items()))
            if max(due) > now + _EPSILON:
                return
            del self._due[key]


class RateLimits:
    """The two limits of the settings; `off` (empty) disables one."""

    def __init__(self, settings: Settings, *, clock: Clock = time.monotonic) -> None:
        self._message_rate = settings.message_rate
        self._event_rate = settings.event_rate
        self._messages = (
            Limiter(parse_rates(settings.message_rate), clock=clock)
            if settings.message_rate
            else None
        )
        self._events = (
            Limiter(parse_rates(settings.event_rate), clock=clock) if settings.event_rate else None
        )

    def message(self, user_id: str) -> None:
        """Count one message of `user_id`; raises RateLimited (429) past the limit."""
        if self._messages is not None and (wait := self._messages.hit(user_id)):
            raise RateLimited(
                f"too many messages; the limit is {self._message_rate}", retry_after=wait
            )

    def event(self, sid: str) -> None:
        """Count one socket event of connection `sid`; raises RateLimited past the limit."""
        if self._events is not None and (wait := self._events.hit(sid)):
            raise RateLimited(
                f"too many events on this connection; the limit is {self._event_rate}",
                retry_after=wait,
            )

    def forget(self, sid: str) -> None:
        """The connection `sid` is gone: drop its state."""
        if self._events is not None:
            self._events.forget(sid)
