"""A server restart with clients coming back does not flap presence.

`chatkit serve` is stopped with SIGTERM while a user and their partner are connected and
started again on the same port; both clients reconnect by themselves (chatkit.client). The
partner's client is back first, so that anything said about the user on their return
reaches it.

With Redis, the stopped process leaves its users "gone since now, settle in presence_ttl
seconds" (the restart grace): the partner hears nothing at all about the user. Without
Redis, the stopped process hands the users shown online over through the database and the
restarted one adopts them with the same restart grace: again the partner hears nothing about
the user, and exactly one `online: false` about a user who does not come back.
docs/realtime.md states both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatkit.client import (
    ConnectionEvent,
    Event,
    EventStream,
    PresenceEvent,
    RealtimeClient,
    TypingEvent,
)
from chatkit.server.data.database import Database
from chatkit.server.data.store import Store
from tests.support.api import Api, Pair
from tests.support.processes import RedisServer, ServeProcess, serving, start_serve
from tests.support.server import Endpoint
from tests.support.sockets import connected
from tests.test_client import PATIENT, realtime

__all__ = ["environment", "redis_server"]  # fixtures
from tests.test_scale_out import SECRET, _endpoint, environment, redis_server

# The restart grace with Redis: a restart on a loaded machine takes a few seconds, and the
# user is held back until the restarted process has swept once (see the Redis test).
TTL = 15.0
# Ordinary grace with Redis: longer than the stopped process takes to exit (a user who left
# just before the SIGTERM is settled by the restarted process), shorter than its first sweep.
REDIS_GRACE = 4.0
GRACE = 0.5  # without Redis nothing waits for the restart, only for this
WAIT = 10.0  # for anything that is not a grace period running out


@contextlib.asynccontextmanager
async def _restart(
    first: ServeProcess, cwd: Path, env: dict[str, str], user: EventStream
) -> AsyncIterator[ServeProcess]:
    """SIGTERM `first`, wait until the user's client has found it gone, start it again on
    the same port (off the event loop, so that the clients keep running meanwhile)."""
    assert await asyncio.to_thread(first.terminate) == 0
    # The user's client has tried once and failed: from here it waits for reconnect_now().
    await _events_until(user, lambda e: isinstance(e, ConnectionEvent) and e.status.attempt > 0)
    port = first.url.rsplit(":", 1)[1]
    second = await asyncio.to_thread(start_serve, cwd, env, "--port", port)
    try:
        yield second
    finally:
        second.kill()
        if second.process.stdout is not None:
            second.process.stdout.close()


async def _events_until(
    stream: EventStream, *found: Callable[[Event], bool], timeout: float = WAIT
) -> list[Event]:
    """Every event delivered until each of `found` has accepted one, in any order."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: list[Event] = []
    missing = list(found)
    while missing:
        try:
            event = await stream.get(timeout=max(0.01, deadline - loop.time()))
        except TimeoutError:
            raise AssertionError(f"not delivered within {timeout}s; got {seen}") from None
        seen.append(event)
        missing = [wanted for wanted in missing if not wanted(event)]
    return seen


def _live(event: Event) -> bool:
    return isinstance(event, ConnectionEvent) and event.status.live


@contextlib.asynccontextmanager
async def _user_after(
    partner: EventStream, url: str, token: str
) -> AsyncIterator[tuple[RealtimeClient, EventStream]]:
    """The user's client, connected once the partner's is (so that the partner hears it).
    After a drop it tries once, then waits for reconnect_now()."""
    await _events_until(partner, _live)
    async with realtime(url, token, backoff=PATIENT, probe_interval=3600) as connection:
        yield connection


def _presence_of(user_id: str, *, online: bool) -> Callable[[Event], bool]:
    def found(event: Event) -> bool:
        return isinstance(event, PresenceEvent) and (event.user_id, event.online) == (
            user_id,
            online,
        )

    return found


def _about(user_id: str, events: list[Event]) -> list[PresenceEvent]:
    return [e for e in events if isinstance(e, PresenceEvent) and e.user_id == user_id]


async def _partner(api: Api, pair: Pair, name: str) -> tuple[str, str]:
    """Another mentor of the pair's mentee: (id, token)."""
    mentor = await api.user(name)
    session = await api.session(mentor, pair.mentee_id)
    token = api.server.token(mentor)
    await api.post("/api/conversations/by-session", token=token, json={"sessionId": session})
    return mentor, token


async def _mentors_seen(endpoint: Endpoint, pair: Pair) -> dict[str, tuple[bool, str | None]]:
    """What the mentee's conversation list says of each mentor: (online, lastSeenAt)."""
    async with Api(endpoint) as api:
        listed = (await api.get("/api/conversations", token=pair.mentee_token)).body
    return {c["mentor"]["id"]: (c["mentor"]["online"], c["mentor"]["lastSeenAt"]) for c in listed}


@pytest.mark.redis
async def test_with_redis_a_restart_says_nothing_about_users_who_come_back(
    tmp_path: Path, environment: dict[str, str], redis_server: RedisServer
) -> None:
    env = {
        **environment,
        "CHATKIT_PRESENCE_TTL": str(TTL),
        "CHATKIT_PRESENCE_GRACE": str(REDIS_GRACE),
    }
    with serving(tmp_path, env) as first:
        endpoint = _endpoint(first, env)
        async with Api(endpoint) as api:
            pair = await api.pair()
            leaver, leaver_token = await _partner(api, pair, "Leaves Before")
            stayer, stayer_token = await _partner(api, pair, "Stays Away")
            leaver_conversation = (await api.get("/api/conversations", token=leaver_token)).body[0][
                "id"
            ]
        async with (
            realtime(first.url, pair.mentee_token) as (_, partner),
            _user_after(partner, first.url, pair.mentor_token) as (user, user_events),
        ):
            await _events_until(partner, _presence_of(pair.mentor_id, online=True))
            async with connected(first.url, stayer_token):
                await _events_until(partner, _presence_of(stayer, online=True))
                # One more partner leaves just before the SIGTERM: an ordinary departure,
                # due a grace period later, which the stopped process does not live to see.
                async with connected(first.url, leaver_token) as leaving:
                    await _events_until(partner, _presence_of(leaver, online=True))
                    await leaving.call(
                        "typing", {"conversationId": leaver_conversation, "isTyping": True}
                    )
                    await _events_until(
                        partner, lambda e: isinstance(e, TypingEvent) and e.is_typing
                    )
                # The typing indicator ends as its socket's disconnect is handled, before the
                # SIGTERM: its grace is the ordinary one.
                await _events_until(
                    partner, lambda e: isinstance(e, TypingEvent) and not e.is_typing
                )
                # The stayer's socket is closed by the shutdown and never comes back.
                async with _restart(first, tmp_path, env, user_events) as second:
                    after = await _events_until(partner, _live, timeout=30)
                    # The restarted process settles the leaver in its first sweep: had the
                    # stopped process given the user only the ordinary grace, the user would
                    # be settled in the same sweep (the user is still away).
                    after += await _events_until(
                        partner, _presence_of(leaver, online=False), timeout=TTL
                    )
                    user.reconnect_now()
                    await user.wait_connected(WAIT)
                    # The stayer is settled once the restart grace is over: the user, back
                    # in time, must not be.
                    after += await _events_until(
                        partner, _presence_of(stayer, online=False), timeout=2 * TTL
                    )
                    seen = await _mentors_seen(_endpoint(second, env), pair)

    assert _about(pair.mentor_id, after) == [], "no offline, and no repeated online"
    assert _about(leaver, after)[-1].last_seen_at is not None
    assert _about(stayer, after)[-1].last_seen_at is not None
    assert seen[pair.mentor_id][0] is True


async def test_without_redis_a_restart_says_nothing_about_users_who_come_back(
    tmp_path: Path, database_url: str
) -> None:
    env = {
        "CHATKIT_DATABASE_URL": database_url,
        "CHATKIT_JWT_SECRET": SECRET,
        "CHATKIT_PRESENCE_TTL": str(TTL),
        "CHATKIT_PRESENCE_GRACE": str(GRACE),
        "CHATKIT_NOTIFY_DELAY": "3600",
    }
    with serving(tmp_path, env) as first:
        endpoint = _endpoint(first, env)
        async with Api(endpoint) as api:
            pair = await api.pair()
            marker, marker_token = await _partner(api, pair, "Marker")
            stayer, stayer_token = await _partner(api, pair, "Stays Away")
        async with (
            realtime(first.url, pair.mentee_token) as (_, partner),
            _user_after(partner, first.url, pair.mentor_token) as (user, user_events),
            connected(first.url, stayer_token),  # closed by the shutdown, never back
        ):
            before = await _events_until(
                partner,
                _presence_of(pair.mentor_id, online=True),
                _presence_of(stayer, online=True),
            )
            async with _restart(first, tmp_path, env, user_events) as second:
                after = await _events_until(partner, _live, timeout=30)
                restarted = datetime.now(UTC)
                user.reconnect_now()
                await user.wait_connected(WAIT)
                # Within the restart grace both are still shown online, as before the restart.
                within = await _mentors_seen(_endpoint(second, env), pair)
                # The stayer is settled once the restart grace is over: the user, back in
                # time, must not be (both were handed over at the same moment).
                after += await _events_until(
                    partner, _presence_of(stayer, online=False), timeout=2 * TTL
                )
                # A marker comes and goes after that: its offline, a grace period later,
                # shows that no offline for the user was on its way.
                async with connected(second.url, marker_token):
                    after += await _events_until(partner, _presence_of(marker, online=True))
                after += await _events_until(
                    partner, _presence_of(marker, online=False), timeout=GRACE + WAIT
                )
                seen = await _mentors_seen(_endpoint(second, env), pair)

    assert [(e.online, e.last_seen_at) for e in _about(pair.mentor_id, before)] == [(True, None)]
    assert _about(pair.mentor_id, after) == [], "no offline, and no repeated online"
    assert within[pair.mentor_id][0] is True and within[stayer][0] is True
    assert seen[pair.mentor_id][0] is True
    # Exactly one offline for a user who does not come back, as last seen at the shutdown.
    (gone,) = _about(stayer, after)
    assert gone.online is False
    assert gone.last_seen_at is not None and gone.last_seen_at <= restarted
    assert seen[stayer][0] is False and seen[stayer][1] is not None
    assert datetime.fromisoformat(seen[stayer][1]) == gone.last_seen_at


async def test_a_presence_handover_is_taken_once_and_only_while_fresh(database_url: str) -> None:
    """What a crash leaves behind is never replayed: the next start-up consumes the
    handover, and one older than the restart grace is dropped unread."""
    database = Database(database_url)
    store = Store(database)
    try:
        now = datetime.now(UTC)
        fresh, stale = "fresh", "stale"
        for name in (fresh, stale):
            await store.users.upsert(
                user_id=name, full_name=name, email=f"{name}@example.com", avatar_url=None
            )
        await store.users.hand_over_presence({fresh: now - timedelta(seconds=1)}, at=now)
        await store.users.hand_over_presence(
            {stale: now - timedelta(hours=1)}, at=now - timedelta(minutes=10)
        )

        taken = await store.users.take_over_presence(since=now - timedelta(seconds=TTL))
        again = await store.users.take_over_presence(since=now - timedelta(hours=2))
    finally:
        await database.dispose()

    assert taken == {fresh: now - timedelta(seconds=1)}
    assert again == {}, "taken once: a later start-up after a crash finds nothing"
