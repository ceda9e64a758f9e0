"""Hostile packets that used to leave a deaf socket (open, never answering again) or a hung
poll: each now gets an answer (an error ack, a 4xx on a poll) or the close of that one
connection, within a second, and everyone else keeps being served."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.support.api import Api
from tests.support.processes import eventually
from tests.support.rawpolling import RawPolling
from tests.support.rawsocket import raw_connected
from tests.support.server import RunningServer

WITHIN = 1.0
DEEP = 2000

# Frames after which the connection is closed: its state could not be trusted any more.
CLOSING_FRAMES: dict[str, list[str | bytes]] = {
    "disconnect with a payload": ['41/chat,{"reason":"bye"}'],
    "placeholder past the attachments": [
        '451-/chat,7["typing",{"_placeholder":true,"num":5}]',
        b"\x01\x02",
    ],
    "placeholder that is not an index": [
        '451-/chat,7["typing",{"_placeholder":true,"num":"0"}]',
        b"\x01\x02",
    ],
    "10^9 attachments": ['451000000000-/chat,7["typing",{"_placeholder":true,"num":0}]'],
    "text where an attachment belongs": [
        '451-/chat,7["typing",{"_placeholder":true,"num":0}]',
        '42/chat,8["typing",{}]',
    ],
}


@pytest.mark.parametrize("name", list(CLOSING_FRAMES))
async def test_a_packet_that_corrupts_the_session_closes_that_connection(
    api: Api, server: RunningServer, name: str
) -> None:
    pair = await api.pair()
    chat = server.services.chat

    async with (
        raw_connected(server.url, pair.mentee_token) as bystander,
        raw_connected(server.url, pair.mentor_token) as hostile,
    ):
        for frame in CLOSING_FRAMES[name]:
            await hostile.send(frame)
        outcome = await hostile.answers_or_closes(WITHIN)
        still = await bystander.call("leave_conversation", {"conversationId": "x"})

    assert outcome == "closed", name
    assert still == {"ok": True}

    async def forgotten() -> bool:
        return bool(chat.connected_sockets == 0)

    await eventually(forgotten, timeout=3)


async def test_a_binary_event_that_decodes_is_answered(api: Api) -> None:
    pair = await api.pair()

    async with raw_connected(api.server.url, pair.mentor_token) as socket:
        await socket.send('451-/chat,7["typing",{"_placeholder":true,"num":0}]')
        await socket.send(b"\x01\x02")
        ack = await socket.receive_packet(WITHIN)
        again = await socket.answers_or_closes(WITHIN)

    assert ack.startswith("3/chat,7"), ack
    assert json.loads(ack[len("3/chat,7") :])[0]["ok"] is False
    assert again == "answered"


async def test_a_payload_nested_2000_deep_gets_an_error_ack(api: Api) -> None:
    pair = await api.pair()
    nested = "[" * DEEP + "]" * DEEP

    async with raw_connected(api.server.url, pair.mentor_token) as socket:
        await socket.send(f'42/chat,5["typing",{nested}]')
        ack = await socket.receive_packet(WITHIN)
        again = await socket.answers_or_closes(WITHIN)

    assert ack.startswith("3/chat,5"), ack
    answer = json.loads(ack[len("3/chat,5") :])[0]
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload", answer
    assert again == "answered"


async def test_an_event_on_a_namespace_left_gets_an_error_ack(api: Api) -> None:
    pair = await api.pair()

    async with raw_connected(api.server.url, pair.mentor_token) as socket:
        await socket.send("41/chat,")
        await socket.send('42/chat,6["typing",{}]')
        ack = await socket.receive_packet(WITHIN)

    assert ack.startswith("3/chat,6"), ack
    assert json.loads(ack[len("3/chat,6") :])[0]["error"]["code"] == "not_connected"


@pytest.mark.parametrize("body", ["2probe", "5", "2", "0", "x", "4" + "\x1e" + "2probe"])
async def test_a_poll_with_a_packet_a_client_may_not_post_is_refused_at_once(
    api: Api, server: RunningServer, body: str
) -> None:
    pair = await api.pair()
    async with aiohttp.ClientSession() as http:
        session = RawPolling(http, server.url)
        await session.open()
        await session.connect_chat(pair.mentor_token)

        status, _ = await asyncio.wait_for(session.post(body), WITHIN)
        after, _ = await asyncio.wait_for(session.get(), WITHIN)

    assert 400 <= status < 500, status
    assert after == 400  # the session is gone, not waiting for a ping timeout

    async def forgotten() -> bool:
        return bool(server.services.chat.connected_sockets == 0)

    await eventually(forgotten, timeout=3)


async def test_a_poll_with_a_pending_get_is_woken_when_the_post_is_refused(
    api: Api, server: RunningServer
) -> None:
    pair = await api.pair()
    async with aiohttp.ClientSession() as http:
        session = RawPolling(http, server.url)
        await session.open()
        await session.connect_chat(pair.mentor_token)
        pending = asyncio.ensure_future(session.get(timeout=3 * WITHIN))
        await asyncio.sleep(0)  # let the GET go out before the POST

        status, _ = await asyncio.wait_for(session.post("2probe"), WITHIN)
        polled, packets = await asyncio.wait_for(pending, 2 * WITHIN)

    assert 400 <= status < 500
    assert polled == 400 or "1" in packets, (polled, packets)


async def test_a_deep_payload_on_a_poll_gets_an_error_ack(api: Api, server: RunningServer) -> None:
    pair = await api.pair()
    nested = "[" * DEEP + "]" * DEEP
    async with aiohttp.ClientSession() as http:
        session = RawPolling(http, server.url)
        await session.open()
        await session.connect_chat(pair.mentor_token)

        status, _ = await session.post(f'42/chat,3["typing",{nested}]')
        ack = await session.next_packet("43/chat,3", timeout=WITHIN)

    assert status == 200
    assert json.loads(ack[len("43/chat,3") :])[0]["error"]["code"] == "invalid_payload"
