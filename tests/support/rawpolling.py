"""An Engine.IO v4 long-polling session spoken by hand (aiohttp requests), for what
socket.io-client never sends on a poll: probes in the wrong place, broken payloads."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

TIMEOUT = 5.0
# Engine.IO v4 separates the packets of one polling payload with a record separator.
SEPARATOR = "\x1e"


class RawPolling:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.base = url + "/socket.io/?EIO=4&transport=polling"
        self.sid = ""

    async def open(self) -> dict[str, Any]:
        async with self.http.get(self.base, timeout=aiohttp.ClientTimeout(TIMEOUT)) as reply:
            body = await reply.text()
        assert reply.status == 200 and body.startswith("0{"), (reply.status, body)
        handshake: dict[str, Any] = json.loads(body[1:])
        self.sid = handshake["sid"]
        return handshake

    async def post(self, body: str | bytes, timeout: float = TIMEOUT) -> tuple[int, str]:
        async with self.http.post(
            f"{self.base}&sid={self.sid}", data=body, timeout=aiohttp.ClientTimeout(timeout)
        ) as reply:
            return reply.status, await reply.text()

    async def get(self, timeout: float = TIMEOUT) -> tuple[int, list[str]]:
        async with self.http.get(
            f"{self.base}&sid={self.sid}", timeout=aiohttp.ClientTimeout(timeout)
        ) as reply:
            text = await reply.text()
        return reply.status, text.split(SEPARATOR) if reply.status == 200 else [text]

    async def connect_chat(self, token: str) -> None:
        status, _ = await self.post("40/chat," + json.dumps({"token": token}))
        assert status == 200
        status, packets = await self.get()
        assert status == 200 and packets[0].startswith("40/chat,"), (status, packets)

    async def next_packet(self, prefix: str, timeout: float = TIMEOUT) -> str:
        """Poll until a packet starting with `prefix` arrives (pings are answered)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            status, packets = await self.get(timeout=remaining)
            if status != 200:
                raise ConnectionError(f"the poll ended: {status} {packets}")
            for packet in packets:
                if packet == "2":
                    await self.post("3")
                elif packet == "1":
                    raise ConnectionError("the server closed the Engine.IO session")
                elif packet.startswith(prefix):
                    return packet
        raise TimeoutError(prefix)
