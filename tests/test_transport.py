"""chatkit's own websocket transport (chatkit.server.realtime.transport): which connections
it keeps, its pings, its framing, and the official client over it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from pathlib import Path

import aiohttp

from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.node import run_script
from tests.support.processes import eventually
from tests.support.rawsocket import raw_connected
from tests.support.server import RunningServer, running_server
from tests.support.sockets import connected
from tests.test_faults import BULKY

TIMEOUT = 5.0
MAX_BULKY_MESSAGES = 600  # ~15 MB: the kernel takes up to a few MB before pushing back


async def test_a_websocket_session_is_kept_by_the_lean_transport(
    api: Api, server: RunningServer
) -> None:
    pair = await api.pair()
    sio = server.services.sio

    async with raw_connected(server.url, pair.mentor_token) as raw:
        kept = (len(sio.lean.sockets), len(sio.eio.sockets))
        ack = await raw.call("join_conversation", {"conversationId": pair.conversation_id})

    assert kept == (1, 0)
    assert ack == {"ok": True}

    async def forgotten() -> bool:
        return not sio.lean.sockets and server.services.chat.connected_sockets == 0

    await eventually(forgotten, timeout=3)


async def test_polling_and_its_upgrade_stay_with_engineio(api: Api, server: RunningServer) -> None:
    pair = await api.pair()
    sio = server.services.sio

    async with connected(server.url, pair.mentor_token, transport="polling") as client:
        kept = (len(sio.lean.sockets), len(sio.eio.sockets))
        ack = await client.call("leave_conversation", {"conversationId": "x"})

    assert kept == (0, 1)
    assert ack == {"ok": True}


async def test_a_client_that_misses_its_pongs_is_closed_by_the_ping_wheel(
    api: Api, server: RunningServer
) -> None:
    pair = await api.pair()
    wheel = server.services.sio.lean.wheel
    # The wheel ticks once a second; the timeout leaves the answering client (which expects
    # a ping within interval + timeout) room for that.
    wheel.interval, wheel.timeout = 0.2, 2.5
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"

    async with (
        connected(server.url, pair.mentee_token) as answering,
        aiohttp.ClientSession() as http,
        http.ws_connect(url, autoping=False) as silent,
    ):
        opened = await silent.receive_str(timeout=TIMEOUT)
        ping = await silent.receive_str(timeout=TIMEOUT)
        closing = await silent.receive(timeout=2 * TIMEOUT)
        # The client that answers its pings (python-socketio's) lives on.
        for _ in range(3):
            ack = await answering.call("leave_conversation", {"conversationId": "x"})
            await asyncio.sleep(wheel.interval)  # several ping rounds, each answered
        assert ack == {"ok": True}

    assert opened.startswith("0{") and ping == "2"
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closing


async def test_the_ping_wheel_always_runs_next_for_its_earliest_sockets(
    server: RunningServer,
) -> None:
    """A tick that pings some sockets (due again after `timeout`) must not push the timer
    past sockets due sooner: that made pings 20 s late and clients drop with "ping timeout"."""
    wheel = server.services.sio.lean.wheel
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"

    async with aiohttp.ClientSession() as http:
        wheel.interval, wheel.timeout = 5.0, 30.0
        async with http.ws_connect(url, autoping=False) as later:  # due in 5 s
            await later.receive_str(timeout=TIMEOUT)  # open
            wheel.interval = 0.2
            async with http.ws_connect(url, autoping=False) as sooner:  # due in 0.2 s
                await sooner.receive_str(timeout=TIMEOUT)  # open
                assert await sooner.receive_str(timeout=TIMEOUT) == "2"  # ticked: due in 30 s
                armed, earliest = wheel.armed_for, wheel.earliest

    assert armed is not None and armed == earliest  # the 5 s socket's bucket, not 30 s


def _handshake(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return conn


def _masked(opcode: int, payload: bytes, *, final: bool = True) -> bytes:
    mask = os.urandom(4)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    first = (0x80 if final else 0) | opcode
    if len(payload) < 126:
        return bytes((first, 0x80 | len(payload))) + mask + body
    return struct.pack("!BBH", first, 0x80 | 126, len(payload)) + mask + body


def _read_until(conn: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


async def test_fragmented_frames_are_put_together_and_an_unmasked_frame_closes(
    api: Api, server: RunningServer
) -> None:
    pair = await api.pair()
    port = int(server.url.rsplit(":", 1)[1])
    connect = ("40/chat," + json.dumps({"token": pair.mentor_token})).encode()
    event = b'42/chat,5["leave_conversation",{"conversationId":"x"}]'

    def exchange() -> tuple[bytes, bytes]:
        with _handshake(port) as conn:
            _read_until(conn, b'"maxPayload"')
            conn.sendall(_masked(0x1, connect))
            _read_until(conn, b"40/chat,")
            # One event in three fragments, with a ping (control frame) in the middle.
            conn.sendall(_masked(0x1, event[:10], final=False) + _masked(0x9, b"hi"))
            conn.sendall(_masked(0x0, event[10:20], final=False) + _masked(0x0, event[20:]))
            answered = _read_until(conn, b"43/chat,5")
            conn.sendall(bytes((0x81, 1)) + b"4")  # not masked: a protocol error
            closed = _read_until(conn, b"\x03\xea")  # close code 1002
            return answered, closed

    answered, closed = await asyncio.to_thread(exchange)

    assert b"\x8a\x02hi" in answered  # the pong, echoing the ping's payload
    assert b'43/chat,5[{"ok":true}]' in answered
    assert closed.startswith(b"\x88") or b"\x88\x02\x03\xea" in closed


async def test_the_official_client_works_over_websocket_only(
    api: Api, server: RunningServer
) -> None:
    pair = await api.pair()
    wheel = server.services.sio.lean.wheel
    wheel.interval = 0.3
    seen = await run_script(
        "websocket_client.mjs",
        CHATKIT_URL=server.url,
        TOKEN=pair.mentor_token,
        CONVERSATION_ID=pair.conversation_id,
        PINGS="3",
    )
    assert seen["transport"] == "websocket"
    assert seen["joinAck"] == {"ok": True}
    assert seen["postStatus"] == 201
    assert seen["message"] == "over the lean websocket"
    assert seen["pings"] >= 3


async def test_a_client_that_stops_reading_is_closed_past_the_backlog(
    database_url: str, tmp_path: Path
) -> None:
    """No queue per socket: frames wait in the transport's buffer, and a client that lets
    more than `max_backlog` bytes pile up there is closed (the server does not hold an
    unbounded backlog for it); the others keep being served."""
    settings = make_settings(database_url, tmp_path, message_rate="off")
    async with running_server(settings) as server, Api(server) as api:
        await _stalled_client_is_closed(api, server)


async def _stalled_client_is_closed(api: Api, server: RunningServer) -> None:
    pair = await api.pair()
    hub = server.services.sio.lean
    hub.max_backlog = 64 * 1024
    chat = server.services.chat

    async with (
        connected(server.url, pair.mentor_token) as reader,
        raw_connected(server.url, pair.mentee_token, receive_buffer=4096) as stalled,
    ):
        await stalled.call("join_conversation", {"conversationId": pair.conversation_id})
        # From here on `stalled` never reads again.
        sent = 0
        while chat.connected_sockets == 2 and sent < MAX_BULKY_MESSAGES:
            reply = await api.post(
                f"/api/conversations/{pair.conversation_id}/messages",
                token=pair.mentor_token,
                json={**BULKY, "clientMessageId": str(sent)},
            )
            assert reply.status == 201
            sent += 1
            await reader.next("new_message")  # the reader keeps up

        still = await reader.call("leave_conversation", {"conversationId": "x"})

    assert chat.connected_sockets <= 1, f"not closed after {sent} messages"
    assert still == {"ok": True}
