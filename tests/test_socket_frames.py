"""Malformed Socket.IO and Engine.IO frames, written by hand on a raw websocket: the server
survives every one, keeps the connection where the frame is merely a bad packet, closes it
cleanly (and forgets it at once) where the frame is not Engine.IO at all, and never lets a
client play the server's own lifecycle events."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.support.api import Api
from tests.support.processes import eventually
from tests.support.rawsocket import raw_connected
from tests.support.server import RunningServer

# Each is sent on a live, authenticated /chat connection; after it the connection must still
# answer an event. The comment says what the server is given.
BAD_PACKETS: list[str | bytes] = [
    "42/chat,",  # an event without data
    "42/chat,[",  # JSON cut short
    "42/chat,{}",  # not an array
    "42/chat,[]",  # no event name
    "42/chat,[1,2]",  # an event name that is not a string
    "42/chat,[{},2]",  # ... nor hashable
    '42/chat,5["typing"',  # an ack id and broken JSON
    "42/chat,NaN",
    '42/chat,9["typing",1e400]',  # a number JSON cannot hold
    '42/chat,10["join_conversation",{"conversationId":"\\ud800"}]',  # a lone surrogate
    '42/chat,11["join_conversation",123456789012345678901234567890]',  # beyond 64 bits
    '42/chat,abc["typing",{}]',  # an ack id that is not a number
    '42/chat,-1["typing",{}]',
    '42/chat,99999999999999999999999["typing",{}]',
    '42/chat,12["no_such_event",{}]',
    "43/chat,99[]",  # an ack for nothing the server asked
    "44/chat,{}",  # CONNECT_ERROR is the server's to send
    "49/chat,",  # no such Socket.IO packet type
    "4",  # an Engine.IO message without a Socket.IO packet
    "4/chat,",
    '40/chat,{"token":"again"}',  # connecting the namespace twice
    "41/other,",  # leaving a namespace never joined
    "40/other,",  # a namespace that does not exist
    '42/other,["typing",{}]',
    "5",  # Engine.IO upgrade, when already upgraded
    "6",  # noop
    "9",  # no such Engine.IO packet type
    b"\x00\x01 not a socket.io attachment",
]


async def test_bad_packets_leave_the_connection_working(api: Api) -> None:
    pair = await api.pair()

    async with raw_connected(api.server.url, pair.mentor_token) as socket:
        for frame in BAD_PACKETS:
            await socket.send(frame)
            ack = await socket.call("leave_conversation", {"conversationId": "x"}, timeout=3)
            assert ack == {"ok": True}, frame
        typing = {"conversationId": pair.conversation_id, "isTyping": True}
        assert await socket.call("typing", typing) == {"ok": True}

    assert (await api.get("/healthz")).status == 200


@pytest.mark.parametrize("frame", ["", "x", "b!not base64!"])
async def test_a_frame_that_is_not_engineio_closes_the_connection_cleanly(
    api: Api, server: RunningServer, frame: str
) -> None:
    pair = await api.pair()
    chat = server.services.chat

    async with raw_connected(api.server.url, pair.mentor_token) as socket:
        assert chat.connected_sockets == 1
        await socket.send(frame)
        closing = await asyncio.wait_for(socket.ws.receive(), 3)

        # A websocket close, not an HTTP error page written onto the upgraded connection.
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closing

    async def forgotten() -> bool:
        return bool(chat.connected_sockets == 0)

    await eventually(forgotten, timeout=3)  # not at the ping timeout, 45 s later
    online = await server.services.presence.online([pair.mentor_id])
    assert online == set()
    async with raw_connected(api.server.url, pair.mentor_token) as again:
        assert await again.call("leave_conversation", {"conversationId": "x"}) == {"ok": True}


@pytest.mark.parametrize("event", ["disconnect", "connect", "connect_error"])
async def test_a_client_cannot_emit_the_lifecycle_events(
    api: Api, server: RunningServer, event: str
) -> None:
    pair = await api.pair()
    chat = server.services.chat
    forged = {"token": pair.mentee_token, "HTTP_AUTHORIZATION": f"Bearer {pair.mentee_token}"}

    async with raw_connected(api.server.url, pair.mentor_token) as socket:
        ack = await socket.call(event, forged)
        still = await socket.call(
            "typing", {"conversationId": pair.conversation_id, "isTyping": True}
        )
        online = await server.services.presence.online([pair.mentor_id, pair.mentee_id])

        assert isinstance(ack, dict) and ack["ok"] is False, ack
        assert still == {"ok": True}
        assert chat.connected_sockets == 1
        # Still the mentor, still online; the mentee did not become connected through it.
        assert online == {pair.mentor_id}


async def test_an_oversized_frame_closes_only_that_connection(
    api: Api, server: RunningServer
) -> None:
    pair = await api.pair()
    limit = server.settings.max_body_bytes
    payload = {"conversationId": pair.conversation_id, "padding": "x" * (limit + 1)}
    frame = '42/chat,1["typing",' + json.dumps(payload) + "]"

    async with (
        raw_connected(server.url, pair.mentee_token) as bystander,
        raw_connected(server.url, pair.mentor_token) as sender,
    ):
        await sender.send(frame)
        closing = await asyncio.wait_for(sender.ws.receive(), 5)
        ack = await bystander.call("leave_conversation", {"conversationId": "x"})

    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closing
    assert ack == {"ok": True}

    async def forgotten() -> bool:
        return bool(server.services.chat.connected_sockets == 0)

    await eventually(forgotten, timeout=3)
