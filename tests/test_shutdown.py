"""Graceful shutdown: SIGTERM loses no acknowledged message and clients reconnect by themselves."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import socketio

from chatkit.config import Settings
from tests.support.api import Api
from tests.support.processes import serving
from tests.support.server import Endpoint

SECRET = "shutdown-test-secret-0123456789ab"


async def _send_until_refused(url: str, token: str, conversation_id: str, tag: str) -> list[str]:
    """POST as fast as possible until the server goes away; return the acknowledged ids."""
    acknowledged: list[str] = []
    async with aiohttp.ClientSession(url) as http:
        for index in range(100_000):
            try:
                async with http.post(
                    f"/api/conversations/{conversation_id}/messages",
                    json={"content": f"{tag}-{index}"},
                    headers={"Authorization": f"Bearer {token}"},
                ) as reply:
                    if reply.status != 201:
                        break
                    acknowledged.append((await reply.json())["id"])
            except (TimeoutError, aiohttp.ClientError):
                break
    return acknowledged


async def test_sigterm_keeps_every_acknowledged_message(tmp_path: Path, database_url: str) -> None:
    env = {
        "CHATKIT_DATABASE_URL": database_url,
        "CHATKIT_JWT_SECRET": SECRET,
        "CHATKIT_MESSAGE_RATE": "off",
    }
    settings = Settings(jwt_secret=SECRET, database_url=database_url)
    with serving(tmp_path, env) as first:
        endpoint = Endpoint(settings=settings, url=first.url)
        async with Api(endpoint) as api:
            pair = await api.pair()
            reconnected = asyncio.Event()
            client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2)
            client.on("connect", reconnected.set, namespace="/chat")
            await client.connect(
                first.url,
                namespaces=["/chat"],
                auth={"token": pair.mentee_token},
                transports=["websocket"],
                wait_timeout=5,
            )
            reconnected.clear()
            senders = [
                asyncio.create_task(
                    _send_until_refused(first.url, token, pair.conversation_id, f"s{i}")
                )
                for i, token in enumerate([pair.mentor_token, pair.mentee_token] * 4)
            ]
            while await _count(api, pair) < 50:  # a steady stream is flowing
                await asyncio.sleep(0.01)
            first.process.send_signal(15)
            acknowledged = [m for ids in await asyncio.gather(*senders) for m in ids]
            assert await asyncio.to_thread(first.process.wait, 30) == 0

    port = first.url.rsplit(":", 1)[1]
    with serving(tmp_path, env, "--port", port) as second:
        endpoint = Endpoint(settings=settings, url=second.url)
        await asyncio.wait_for(reconnected.wait(), 20)  # the client came back by itself
        async with Api(endpoint) as api:
            stored = await _all_ids(api, pair)
    await client.disconnect()

    assert len(acknowledged) >= 50
    assert len(stored) == len(set(stored)), "nothing stored twice"
    assert set(acknowledged) <= set(stored), "every 201 survived the shutdown"


async def _count(api: Api, pair) -> int:  # type: ignore[no-untyped-def]
    listed = await api.get("/api/conversations", token=pair.mentee_token)
    return int(listed.body[0]["unreadCount"]) if listed.status == 200 and listed.body else 0


async def _all_ids(api: Api, pair) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = []
    cursor = None
    while True:
        params = {"limit": "100", **({"before": cursor} if cursor else {})}
        page = await api.get(
            f"/api/conversations/{pair.conversation_id}/messages",
            token=pair.mentee_token,
            params=params,
        )
        ids = [m["id"] for m in page.body["messages"]] + ids
        if not page.body["hasMore"]:
            return ids
        cursor = page.body["nextCursor"]
