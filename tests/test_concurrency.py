"""Concurrency: many clients at once into one conversation, within one process and across two
`chatkit serve` processes sharing a database; the same clientMessageId raced to both."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chatkit.config import Settings
from tests.conftest import make_settings
from tests.support.api import Api, Pair
from tests.support.processes import serving
from tests.support.server import Endpoint, running_server
from tests.support.sockets import connected
from tests.test_faults import assert_gapless, history

CLIENTS = 50
SECRET = "concurrency-secret-0123456789abcd"


class Client:
    """One client with its own HTTP connection, opened before the race starts."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.http = aiohttp.ClientSession(url)

    async def warm(self) -> None:
        async with self.http.get("/healthz") as reply:
            assert reply.status == 200

    async def send(
        self, start: asyncio.Event, conversation_id: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        await start.wait()
        async with self.http.post(
            f"/api/conversations/{conversation_id}/messages",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        ) as reply:
            return reply.status, await reply.json()

    async def close(self) -> None:
        await self.http.close()


async def race(
    clients: list[Client], conversation_id: str, bodies: list[dict[str, Any]]
) -> list[tuple[int, Any]]:
    """Every client sends its body at the same moment; answers in client order."""
    await asyncio.gather(*(client.warm() for client in clients))
    start = asyncio.Event()
    sends = [
        asyncio.create_task(client.send(start, conversation_id, body))
        for client, body in zip(clients, bodies, strict=True)
    ]
    await asyncio.sleep(0)  # every task is now waiting on the same event
    start.set()
    try:
        return await asyncio.wait_for(asyncio.gather(*sends), 60)
    finally:
        await asyncio.gather(*(client.close() for client in clients))


async def test_fifty_clients_at_once_get_seq_1_to_50(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, message_rate="off")
    async with running_server(settings) as server, Api(server) as api:
        pair = await api.pair()
        tokens = [pair.mentor_token, pair.mentee_token]
        clients = [Client(server.url, tokens[i % 2]) for i in range(CLIENTS)]
        async with connected(server.url, pair.mentee_token) as watcher:
            answers = await race(
                clients, pair.conversation_id, [{"content": f"c{i}"} for i in range(CLIENTS)]
            )
            pushed = [(await watcher.next("new_message"))["message"] for _ in range(CLIENTS)]
        stored = await history(api, pair.mentee_token, pair.conversation_id)

    assert [status for status, _ in answers] == [201] * CLIENTS
    assert_gapless(stored)
    assert len(stored) == CLIENTS
    assert sorted(body["seq"] for _, body in answers) == list(range(1, CLIENTS + 1))
    assert pushed == stored, "events arrive in seq order, exactly as stored"


@pytest.fixture
def two_processes(tmp_path: Path, database_url: str) -> Iterator[tuple[Endpoint, Endpoint]]:
    """Two `chatkit serve` processes on one database (no Redis: rooms are not shared)."""
    env = {
        "CHATKIT_DATABASE_URL": database_url,
        "CHATKIT_JWT_SECRET": SECRET,
        "CHATKIT_MESSAGE_RATE": "off",
    }
    settings = Settings(jwt_secret=SECRET, database_url=database_url)
    with serving(tmp_path, env) as first, serving(tmp_path, env) as second:
        yield Endpoint(settings, first.url), Endpoint(settings, second.url)


async def _pair(endpoint: Endpoint) -> Pair:
    async with Api(endpoint) as api:
        return await api.pair()


async def test_fifty_clients_across_two_processes_leave_no_hole(
    two_processes: tuple[Endpoint, Endpoint],
) -> None:
    first, second = two_processes
    pair = await _pair(first)
    tokens = [pair.mentor_token, pair.mentee_token]
    clients = [Client((first, second)[i % 2].url, tokens[(i // 2) % 2]) for i in range(CLIENTS)]

    answers = await race(
        clients, pair.conversation_id, [{"content": f"c{i}"} for i in range(CLIENTS)]
    )
    async with Api(second) as api:
        stored = await history(api, pair.mentor_token, pair.conversation_id)

    assert [status for status, _ in answers] == [201] * CLIENTS
    assert_gapless(stored)
    assert sorted(m["content"] for m in stored) == sorted(f"c{i}" for i in range(CLIENTS))


KEYS = 15
COPIES = 4  # of each clientMessageId, half to each process


async def test_one_client_message_id_raced_to_two_processes_is_stored_once(
    two_processes: tuple[Endpoint, Endpoint],
) -> None:
    first, second = two_processes
    pair = await _pair(first)
    clients, bodies = [], []
    for key in range(KEYS):
        for copy in range(COPIES):
            clients.append(Client((first, second)[copy % 2].url, pair.mentor_token))
            bodies.append({"content": f"retry {key}.{copy}", "clientMessageId": f"key-{key}"})

    answers = await race(clients, pair.conversation_id, bodies)
    async with Api(second) as api:
        stored = await history(api, pair.mentee_token, pair.conversation_id)

    assert_gapless(stored)
    assert sorted(m["clientMessageId"] for m in stored) == sorted(f"key-{k}" for k in range(KEYS))
    by_key = {m["clientMessageId"]: m for m in stored}
    for key in range(KEYS):
        copies = answers[key * COPIES : (key + 1) * COPIES]
        assert sorted(status for status, _ in copies) == [200] * (COPIES - 1) + [201], copies
        assert {body["id"] for _, body in copies} == {by_key[f"key-{key}"]["id"]}
