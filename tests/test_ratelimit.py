"""The limiter's semantics on a clock the test moves: rate, burst, Retry-After, idling, memory.

The end-to-end answers (429 with Retry-After on REST, an error ack with retryAfter on the
socket) are in test_guarantees.py, through the real server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatkit.config import Settings
from chatkit.server.errors import RateLimited
from chatkit.server.ratelimit import Limiter, Rate, RateLimits, parse_rates
from tests.conftest import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def allowed(limiter: Limiter, key: str, times: int) -> list[bool]:
    return [limiter.hit(key) == 0.0 for _ in range(times)]


def test_a_burst_of_n_then_one_every_period_over_n() -> None:
    clock = Clock()
    limiter = Limiter(parse_rates("30/second"), clock=clock)

    assert allowed(limiter, "u", 31) == [True] * 30 + [False]
    clock.now += 1 / 30 - 0.001
    assert limiter.hit("u") > 0, "not yet one interval"
    clock.now += 0.002
    assert allowed(limiter, "u", 2) == [True, False], "one interval buys one event"


def test_the_sustained_rate_is_the_configured_one() -> None:
    clock = Clock()
    limiter = Limiter(parse_rates("10/second"), clock=clock)
    accepted = 0
    for _ in range(1000):  # 20 s of 50 attempts per second
        accepted += limiter.hit("u") == 0.0
        clock.now += 0.02
    # The burst of 10, then 10 per second over the 19.98 s from the first attempt to the last.
    assert accepted == 10 + int(19.98 * 10)


def test_retry_after_is_the_time_until_the_next_event_is_allowed() -> None:
    clock = Clock()
    limiter = Limiter(parse_rates("5 per 10 seconds"), clock=clock)
    assert allowed(limiter, "u", 5) == [True] * 5
    clock.now += 0.5
    assert limiter.hit("u") == pytest.approx(1.5)  # one event per 2 s, the first at +0
    clock.now += 1.5
    assert limiter.hit("u") == 0.0


def test_refused_events_do_not_count() -> None:
    clock = Clock()
    limiter = Limiter(parse_rates("2/minute"), clock=clock)
    assert allowed(limiter, "u", 2) == [True, True]
    for _ in range(100):
        limiter.hit("u")
    clock.now += 30
    assert limiter.hit("u") == 0.0, "hammering while refused must not push the time out"


def test_after_idling_the_full_burst_is_back_and_the_key_is_dropped() -> None:
    clock = Clock()
    limiter = Limiter(parse_rates("3/second"), clock=clock)
    assert allowed(limiter, "idle", 4) == [True, True, True, False]
    clock.now += 1.0
    assert allowed(limiter, "other", 1) == [True]
    assert len(limiter) == 1, "the refilled key is gone without a sweep"
    assert allowed(limiter, "idle", 4) == [True, True, True, False]


def test_state_is_kept_only_for_keys_that_are_not_refilled() -> None:
    clock = Clock()
    limiter = Limiter(parse_rates("1/second"), clock=clock)
    for n in range(10_000):
        limiter.hit(f"user-{n}")
        clock.now += 0.01
    assert len(limiter) <= 101


def test_every_rate_of_a_list_is_enforced() -> None:
    clock = Clock()
    limiter = Limiter(parse_rates("2/second; 3/minute"), clock=clock)
    assert allowed(limiter, "u", 3) == [True, True, False]
    clock.now += 1
    assert allowed(limiter, "u", 2) == [True, False]
    assert limiter.hit("u") == pytest.approx(19.0), "3/minute: one more 20 s after the burst"


@pytest.mark.parametrize(
    ("text", "rates"),
    [
        ("30/second", (Rate(30, 1),)),
        ("100 per minute", (Rate(100, 60),)),
        ("5 per 10 seconds", (Rate(5, 10),)),
        ("10/2 Hours", (Rate(10, 7200),)),
        ("1/day, 2/month | 3/year", (Rate(1, 86400), Rate(2, 2592000), Rate(3, 31104000))),
    ],
)
def test_the_setting_grammar(text: str, rates: tuple[Rate, ...]) -> None:
    assert parse_rates(text) == rates


@pytest.mark.parametrize("text", ["30", "second", "30/fortnight", "0/second", "30/second;"])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rates(text)


def _limits(tmp_path: Path, clock: Clock, **overrides: str) -> RateLimits:
    settings: Settings = make_settings("sqlite+aiosqlite:///unused", tmp_path, **overrides)
    return RateLimits(settings, clock=clock)


def test_messages_per_user_and_events_per_socket(tmp_path: Path) -> None:
    clock = Clock()
    limits = _limits(tmp_path, clock, message_rate="2/minute", event_rate="1/second")

    limits.message("ann")
    limits.message("ann")
    with pytest.raises(RateLimited) as refused:
        limits.message("ann")
    assert refused.value.retry_after == 30
    assert refused.value.headers["Retry-After"] == "30"
    limits.message("bob")

    limits.event("sid-1")
    with pytest.raises(RateLimited) as too_fast:
        limits.event("sid-1")
    assert too_fast.value.retry_after == 1, "rounded up to whole seconds, at least 1"
    limits.forget("sid-1")
    limits.event("sid-1")


def test_off_disables_a_limit(tmp_path: Path) -> None:
    limits = _limits(tmp_path, Clock(), message_rate="off", event_rate="0")
    for _ in range(1000):
        limits.message("ann")
        limits.event("sid")
