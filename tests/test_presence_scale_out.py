"""Presence across `chatkit serve` processes sharing one Redis: one `presence` event per
transition whichever process the sockets use, no flap when a user's sockets move between
processes, and a killed process's users go offline once its presence entries expire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.processes import RedisServer, ServeProcess, serving
from tests.support.sockets import connected
from tests.test_scale_out import _endpoint

__all__ = ["environment", "redis_server"]  # fixtures
from tests.test_scale_out import environment, redis_server

pytestmark = pytest.mark.redis

GRACE = "0.5"
TTL = 2.0


@pytest.fixture
def presence_env(environment: dict[str, str]) -> dict[str, str]:
    return {**environment, "CHATKIT_PRESENCE_TTL": str(TTL), "CHATKIT_PRESENCE_GRACE": GRACE}


@pytest.fixture
def servers(
    tmp_path: Path, presence_env: dict[str, str], redis_server: RedisServer
) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    with serving(tmp_path, presence_env) as first, serving(tmp_path, presence_env) as second:
        yield first, second


async def test_presence_holds_across_processes_without_flapping(
    servers: tuple[ServeProcess, ServeProcess], presence_env: dict[str, str]
) -> None:
    a, b = (_endpoint(server, presence_env) for server in servers)
    async with Api(a) as api:
        pair = await api.pair()
        other = await api.user("Other Mentor")
        session = await api.session(other, pair.mentee_id)
        other_token = a.token(other)
        await api.post(
            "/api/conversations/by-session", token=other_token, json={"sessionId": session}
        )
        path = f"/api/conversations/{pair.conversation_id}"

        async with connected(b.url, pair.mentee_token) as observer:
            async with connected(b.url, pair.mentor_token):
                async with connected(a.url, pair.mentor_token):
                    online = await observer.next("presence")
                    seen_on_a = (await api.get(path, token=pair.mentee_token)).body["mentor"]
                # The mentor's socket on A closed; the one on B stays. A marker user comes and
                # goes on A afterwards: a flap of the mentor would be due before its offline.
                async with connected(a.url, other_token):
                    assert (await observer.next("presence"))["userId"] == other
                marker = await observer.next("presence", timeout=10)
                flaps = observer.pending("presence")
            offline = await observer.next("presence", timeout=10)

    assert online == {"userId": pair.mentor_id, "online": True, "lastSeenAt": None}
    assert seen_on_a["online"] is True
    assert (marker["userId"], marker["online"]) == (other, False)
    assert flaps == []
    assert (offline["userId"], offline["online"]) == (pair.mentor_id, False)
    assert offline["lastSeenAt"] is not None


async def test_a_killed_process_users_go_offline_after_expiry(
    servers: tuple[ServeProcess, ServeProcess], presence_env: dict[str, str]
) -> None:
    server_a, _ = servers
    a, b = (_endpoint(server, presence_env) for server in servers)
    async with Api(b) as api:
        pair = await api.pair()
        async with connected(b.url, pair.mentee_token) as observer:
            async with connected(a.url, pair.mentor_token):
                online = await observer.next("presence")
                server_a.kill()  # SIGKILL: it never says goodbye
                offline = await observer.next("presence", timeout=TTL * 5)
            mentor = (
                await api.get(f"/api/conversations/{pair.conversation_id}", token=pair.mentee_token)
            ).body["mentor"]

    assert online["online"] is True
    assert offline["userId"] == pair.mentor_id and offline["online"] is False
    assert offline["lastSeenAt"] is not None
    assert mentor["online"] is False and mentor["lastSeenAt"] == offline["lastSeenAt"]


async def test_presence_with_workers_is_one_event_per_transition(
    tmp_path: Path, presence_env: dict[str, str], redis_server: RedisServer
) -> None:
    with serving(tmp_path, presence_env, "--workers", "2") as server:
        endpoint = _endpoint(server, presence_env)
        async with Api(endpoint) as api:
            pair = await api.pair()
            async with connected(endpoint.url, pair.mentee_token) as observer:
                # Several sockets of one user, landing on whichever worker the kernel picks.
                async with (
                    connected(endpoint.url, pair.mentor_token),
                    connected(endpoint.url, pair.mentor_token),
                    connected(endpoint.url, pair.mentor_token),
                ):
                    online = await observer.next("presence")
                offline = await observer.next("presence", timeout=10)
                await observer.barrier()
                extra = observer.pending("presence")

    assert (online["userId"], online["online"]) == (pair.mentor_id, True)
    assert (offline["userId"], offline["online"]) == (pair.mentor_id, False)
    assert extra == []
