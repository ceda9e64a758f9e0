"""Faults, for real: SIGKILL of `chatkit serve` mid-traffic, PostgreSQL cut away behind a TCP
proxy of the test's own, and a socket that stops reading. (Concurrency: test_concurrency.py.)"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from chatkit.config import Settings
from tests.conftest import make_settings
from tests.support import backends
from tests.support.api import Api, Pair
from tests.support.databases import fresh_database
from tests.support.processes import eventually, start_serve
from tests.support.rawsocket import raw_connected
from tests.support.server import Endpoint, RunningServer, running_server
from tests.support.sockets import connected
from tests.support.tcp_proxy import TcpProxy, proxied

SECRET = "faults-test-secret-0123456789abcd"
SENDERS = 6
KILL_AFTER = 60  # acknowledged messages before the SIGKILL


async def history(api: Api, token: str, conversation_id: str) -> list[dict[str, Any]]:
    """Every message of the conversation, oldest first, paging backwards."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"before": cursor} if cursor else {})}
        page = await api.get(
            f"/api/conversations/{conversation_id}/messages", token=token, params=params
        )
        assert page.status == 200, page.body
        found = page.body["messages"] + found
        if not page.body["hasMore"]:
            return found
        cursor = page.body["nextCursor"]


def assert_gapless(messages: list[dict[str, Any]]) -> None:
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


# --- (a) SIGKILL while clients send -----------------------------------------------------------


@dataclass
class Sender:
    """Sends until the server goes away; remembers what was acknowledged and what was not."""

    name: str
    token: str
    acknowledged: dict[str, str] = field(default_factory=dict)  # clientMessageId -> id
    unanswered: list[str] = field(default_factory=list)  # clientMessageIds in flight at the kill

    async def run(self, url: str, conversation_id: str) -> None:
        async with aiohttp.ClientSession(url) as http:
            for index in range(10_000):
                key = f"{self.name}-{index}"
                try:
                    async with http.post(
                        f"/api/conversations/{conversation_id}/messages",
                        json={"content": key, "clientMessageId": key},
                        headers={"Authorization": f"Bearer {self.token}"},
                    ) as reply:
                        body = await reply.json()
                except (aiohttp.ClientError, OSError):
                    self.unanswered.append(key)
                    return
                assert reply.status == 201, body
                self.acknowledged[key] = body["id"]


async def test_sigkill_loses_no_acknowledged_message_and_leaves_no_hole(
    tmp_path: Path, database_url: str
) -> None:
    env = {
        "CHATKIT_DATABASE_URL": database_url,
        "CHATKIT_JWT_SECRET": SECRET,
        "CHATKIT_MESSAGE_RATE": "off",  # six senders flat out: the limit is not under test
    }
    settings = Settings(jwt_secret=SECRET, database_url=database_url)
    first = start_serve(tmp_path, env)
    try:
        async with Api(Endpoint(settings, first.url)) as api:
            pair = await api.pair()
        tokens = [pair.mentor_token, pair.mentee_token]
        senders = [Sender(f"s{i}", tokens[i % 2]) for i in range(SENDERS)]
        async with connected(first.url, pair.mentee_token) as watcher:
            tasks = [asyncio.create_task(s.run(first.url, pair.conversation_id)) for s in senders]

            async def enough() -> bool:
                return sum(len(s.acknowledged) for s in senders) >= KILL_AFTER

            await eventually(enough, timeout=30, interval=0.005)
            first.kill()  # SIGKILL: no shutdown hook runs
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
            seen = [event["message"] for event in watcher.pending("new_message")]
    finally:
        if first.process.poll() is None:
            first.kill()

    second = start_serve(tmp_path, env)
    try:
        async with Api(Endpoint(settings, second.url)) as api:
            # Retrying what got no answer, with the same clientMessageId, never duplicates.
            for sender in senders:
                for key in sender.unanswered:
                    retry = await api.send(
                        sender.token, pair.conversation_id, key, clientMessageId=key
                    )
                    assert retry.status in (200, 201), retry.body
                    sender.acknowledged[key] = retry.body["id"]
            stored = await history(api, pair.mentee_token, pair.conversation_id)
            # A client that saw some events resumes after the last one and misses nothing.
            last_seen = seen[-1]["id"] if seen else None
            resumed = await api.get(
                f"/api/conversations/{pair.conversation_id}/messages",
                token=pair.mentee_token,
                params={"limit": "100", **({"after": last_seen} if last_seen else {})},
            )
    finally:
        second.kill()

    assert_gapless(stored)
    keys = [m["clientMessageId"] for m in stored]
    assert len(keys) == len(set(keys)), "a message was stored twice"
    by_key = {m["clientMessageId"]: m["id"] for m in stored}
    for sender in senders:
        for key, message_id in sender.acknowledged.items():
            assert by_key.get(key) == message_id, f"acknowledged {key} is missing or changed"
    assert len(stored) == sum(len(s.acknowledged) for s in senders)
    assert seen == stored[: len(seen)], "events arrived out of order or differ from the store"
    assert not resumed.body["hasMore"]
    assert seen + resumed.body["messages"] == stored


# --- (b) the database goes away ---------------------------------------------------------------

OUTAGE_BOUND_SECONDS = 10.0


@pytest.fixture
def postgres_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if "postgres" not in backends.selected():
        pytest.skip("the database outage is a PostgreSQL test")
    with fresh_database(request, "postgres", tmp_path) as url:
        yield url


@pytest.fixture
async def behind_proxy(
    postgres_only: str, tmp_path: Path
) -> AsyncIterator[tuple[RunningServer, TcpProxy]]:
    """A server whose every database connection goes through a proxy the test can cut."""
    direct = make_url(postgres_only)
    async with proxied(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        through = direct.set(host="127.0.0.1", port=proxy.port)
        settings = make_settings(through.render_as_string(hide_password=False), tmp_path)
        async with running_server(settings) as server:
            yield server, proxy


async def _timed(api: Api, method: str, path: str, **kwargs: Any) -> tuple[float, Any]:
    started = time.monotonic()
    reply = await asyncio.wait_for(api.request(method, path, **kwargs), 30)
    return time.monotonic() - started, reply


async def test_readiness_reports_a_database_outage_and_the_recovery(
    behind_proxy: tuple[RunningServer, TcpProxy],
) -> None:
    server, proxy = behind_proxy
    async with Api(server) as api:
        assert (await api.get("/readyz")).status == 200
        proxy.cut()
        elapsed, down = await _timed(api, "GET", "/readyz")
        proxy.restore()

        assert down.status == 503 and down.body["checks"]["database"] == "unavailable"
        assert down.body["error"]["code"] == "not_ready", "every error status has `error`"
        assert elapsed < OUTAGE_BOUND_SECONDS

        async def ready() -> bool:
            return (await api.get("/readyz")).status == 200

        await eventually(ready, timeout=10)


async def test_database_outage_answers_503_then_recovers(
    behind_proxy: tuple[RunningServer, TcpProxy],
) -> None:
    server, proxy = behind_proxy
    async with Api(server) as api:  # every reply is checked against the OpenAPI document
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "before")
        spare = await api.session(pair.mentor_id, pair.mentee_id)
        calls = _every_kind_of_call(api, pair, spare)

        proxy.cut()
        outage = [(what, await _timed(api, method, path, **kw)) for what, method, path, kw in calls]
        # Again, with the authenticator's short-lived "this user exists" cache emptied, as it
        # is a couple of seconds into a real outage: now the token check needs the database.
        for user_id in (pair.mentor_id, pair.mentee_id):
            server.services.authenticator.forget(user_id)
        outage += [(f"{what}, uncached", await _timed(api, m, p, **kw)) for what, m, p, kw in calls]
        proxy.restore()

        for what, (elapsed, reply) in outage:
            assert reply.status == 503, (what, reply.status, reply.body)
            assert elapsed < OUTAGE_BOUND_SECONDS, (what, elapsed)

        async def recovered() -> bool:
            return (await api.get("/api/conversations", token=pair.mentor_token)).status == 200

        await eventually(recovered, timeout=15)
        after = await api.send(pair.mentor_token, pair.conversation_id, "after")
        stored = await history(api, pair.mentee_token, pair.conversation_id)

    assert after.status == 201
    assert [m["content"] for m in stored] == ["before", "after"], "a 503 send was stored"
    assert_gapless(stored)


def _every_kind_of_call(api: Api, pair: Pair, spare: str) -> list[tuple[str, str, str, Any]]:
    conversation = f"/api/conversations/{pair.conversation_id}"
    user = {"token": pair.mentor_token}
    admin = {"token": api.server.admin_token}
    return [
        ("list", "GET", "/api/conversations", user),
        ("get", "GET", conversation, user),
        ("history", "GET", f"{conversation}/messages", user),
        ("send", "POST", f"{conversation}/messages", {**user, "json": {"content": "lost"}}),
        ("read", "PATCH", f"{conversation}/read", {"token": pair.mentee_token}),
        ("open", "POST", "/api/conversations/by-session", {**user, "json": {"sessionId": spare}}),
        ("user", "GET", f"/api/admin/users/{pair.mentor_id}", admin),
    ]


# --- (c) a consumer that stops reading -----------------------------------------------------

MAX_SLOW_MESSAGES = 600  # ~15 MB: the kernel takes up to a few MB before pushing back
AFTER_STALL = 40  # messages the others must still get promptly once the stall is proven
STALLED_BYTES = 64 * 1024  # past this, aiohttp waits for the transport to drain
PROMPT_SECONDS = 2.0
# About 25 kB per event, 5 MB in all: more than the kernel and aiohttp buffer for a socket.
BULKY = {
    "content": "x" * 4000,
    "attachments": [
        {
            "filename": f"f{i}",
            "mimeType": "text/plain",
            "url": "https://x.example/" + "a" * 2000,
            "size": 1,
        }
        for i in range(10)
    ],
}


async def test_a_socket_that_stops_reading_does_not_stall_the_others(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, message_rate="off")
    async with running_server(settings) as server, Api(server) as api:
        await _slow_consumer(api, server)


async def _slow_consumer(api: Api, server: RunningServer) -> None:
    pair = await api.pair()
    async with (
        raw_connected(server.url, pair.mentee_token, receive_buffer=4096) as stalled,
        connected(server.url, pair.mentee_token) as mentee,
        connected(server.url, pair.mentor_token) as mentor,
    ):
        assert await stalled.call("join_conversation", {"conversationId": pair.conversation_id})
        # From here on `stalled` never reads again.
        lags: list[float] = []
        stalled_at: int | None = None
        for index in range(MAX_SLOW_MESSAGES):
            sent = await api.post(
                f"/api/conversations/{pair.conversation_id}/messages",
                token=pair.mentor_token,
                json={**BULKY, "clientMessageId": str(index)},
            )
            sent_at = time.monotonic()
            for socket in (mentee, mentor):
                event = await socket.next("new_message", timeout=PROMPT_SECONDS)
                assert event["message"]["id"] == sent.body["id"]
            lags.append(time.monotonic() - sent_at)
            if stalled_at is None and index % 20 == 19:
                if _largest_write_backlog() > STALLED_BYTES:
                    stalled_at = index
            if stalled_at is not None and index >= stalled_at + AFTER_STALL:
                break

    assert stalled_at is not None, "the stalled socket was never behind: the test proved nothing"
    assert max(lags) < PROMPT_SECONDS
    assert (await api.get("/healthz")).status == 200


def _largest_write_backlog() -> int:
    """Bytes waiting in the fullest transport of this process (the server's included)."""
    transports = [
        item
        for item in gc.get_objects()
        if isinstance(item, asyncio.WriteTransport) and not item.is_closing()
    ]
    return max((transport.get_write_buffer_size() for transport in transports), default=0)
