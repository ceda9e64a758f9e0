"""Fuzz the Engine.IO and Socket.IO packet layer with raw frames, on both transports.

Hypothesis writes sequences of frames a real client never sends: every packet type (and
types that do not exist), attachment counts up to 10^12, placeholders pointing anywhere,
payloads nested thousands deep, cut or huge JSON, unknown namespaces, ack ids beyond 64 bits,
probes and upgrades in the wrong place, batched polling payloads, frames after a close.
Properties, for each fresh authenticated connection: after its frames it answers an event
(an ack) or is closed within a second, never deaf; a poll is answered within a second; a
bystander connection keeps being served; and no connection outlives its client.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.databases import fresh_database
from tests.support.loopthread import LoopThread
from tests.support.processes import eventually
from tests.support.rawpolling import SEPARATOR, RawPolling
from tests.support.rawsocket import RawSocket, raw_connected
from tests.support.server import RunningServer, running_server

EXAMPLES = int(os.environ.get("CHATKIT_TEST_FUZZ_EXAMPLES", "100"))
SEED = os.environ.get("CHATKIT_TEST_FUZZ_SEED")
WITHIN = 1.0

namespaces = st.sampled_from(["/chat", "/other", "", "/chat?x=1", "/", "/chat/"])
ack_ids = st.one_of(
    st.none(), st.integers(0, 2**70).map(str), st.sampled_from(["-1", "abc", "007"])
)
attachment_counts = st.one_of(
    st.none(), st.integers(0, 12).map(str), st.sampled_from(["1000000000", "10" * 6, "-1"])
)
placeholders = st.builds(
    lambda num: {"_placeholder": True, "num": num},
    st.one_of(st.integers(-3, 12), st.text(max_size=3), st.none(), st.booleans()),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | placeholders,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@st.composite
def event_data(draw: st.DrawFn) -> str:
    name = draw(
        st.sampled_from(["typing", "join_conversation", "disconnect", "connect", "nope"])
        | st.text(max_size=5)
    )
    body = json.dumps([name, *draw(st.lists(json_values, max_size=3))])
    depth = draw(st.sampled_from([0, 0, 0, 5, 1100, 3000]))
    if depth:
        body = f'["{name}",' + "[" * depth + "]" * depth + "]"
    cut = draw(st.sampled_from([None, None, None, 1, 5]))
    return body[:-cut] if cut else body


@st.composite
def socketio_packets(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from("0123456789") | st.text(max_size=1))
    count = draw(attachment_counts)
    namespace = draw(namespaces)
    packet = kind + (f"{count}-" if count is not None else "")
    packet += f"{namespace}," if namespace.startswith("/") else namespace
    packet += draw(ack_ids) or ""
    data = draw(st.one_of(st.just(""), event_data(), json_values.map(json.dumps)))
    return packet + data


engineio_text = st.one_of(
    socketio_packets().map(lambda packet: "4" + packet),
    st.sampled_from(["2probe", "3probe", "2", "3", "5", "6", "0", "9", "4", "b", "bAAE=", "1"]),
    st.text(max_size=30),
)
frames = st.one_of(engineio_text, st.binary(max_size=30))


@dataclass
class World:
    thread: LoopThread
    server: RunningServer
    token: str
    bystander: RawSocket


@contextlib.asynccontextmanager
async def _world_parts(server: RunningServer) -> AsyncIterator[tuple[str, RawSocket]]:
    async with Api(server) as api:
        pair = await api.pair()
    async with raw_connected(server.url, pair.mentee_token) as bystander:
        yield pair.mentor_token, bystander


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("packet-fuzz")
    thread = LoopThread()
    stack = contextlib.AsyncExitStack()
    try:
        with fresh_database(request, "sqlite", folder) as url:
            # No rate limits: the fuzzer's probes must reach the handlers.
            settings_ = make_settings(url, folder, event_rate="off", message_rate="off")
            server = thread.run(stack.enter_async_context(running_server(settings_)))
            token, bystander = thread.run(stack.enter_async_context(_world_parts(server)))
            yield World(thread, server, token, bystander)
            thread.run(stack.aclose())
    finally:
        thread.close()


def _fuzz_settings(test):  # type: ignore[no-untyped-def]
    configured = settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(test)
    return seed(int(SEED))(configured) if SEED else configured


async def _no_leftover_connections(world: World) -> None:
    async def only_the_bystander() -> bool:
        return bool(world.server.services.chat.connected_sockets == 1)

    await eventually(only_the_bystander, timeout=5)
    ack = await world.bystander.call("leave_conversation", {"conversationId": "x"}, timeout=WITHIN)
    assert ack == {"ok": True}


@_fuzz_settings
@given(sent=st.lists(frames, min_size=1, max_size=6))
def test_websocket_frames_never_leave_a_deaf_socket(world: World, sent: list[str | bytes]) -> None:
    async def example() -> None:
        async with raw_connected(world.server.url, world.token) as socket:
            for frame in sent:
                try:
                    await socket.send(frame)
                except (ConnectionError, aiohttp.ClientError, RuntimeError):
                    break  # closed already: the frames after a close go nowhere
            try:
                outcome = await socket.answers_or_closes(WITHIN)
            except TimeoutError:
                raise AssertionError(f"a deaf socket after {sent!r}") from None
            assert outcome in ("answered", "closed")
        await _no_leftover_connections(world)

    world.thread.run(example())


polling_payloads = st.lists(engineio_text, min_size=1, max_size=4).map(SEPARATOR.join)


@_fuzz_settings
@given(payloads=st.lists(polling_payloads, min_size=1, max_size=3))
def test_polling_payloads_never_hang_a_request(world: World, payloads: list[str]) -> None:
    async def example() -> None:
        async with aiohttp.ClientSession() as http:
            session = RawPolling(http, world.server.url)
            await session.open()
            await session.connect_chat(world.token)
            closed = False
            for payload in payloads:
                status, _ = await session.post(payload, timeout=WITHIN)
                if status != 200:
                    assert 400 <= status < 500, status
                    closed = True
                    break
            if not closed:
                status, _ = await session.post(
                    '42/chat,77["leave_conversation",{"conversationId":"probe"}]', timeout=WITHIN
                )
                if status == 200:
                    try:
                        await session.next_packet("43/chat,77", timeout=WITHIN)
                    except ConnectionError:
                        pass  # closed, which is an outcome
                else:
                    assert 400 <= status < 500, status
            await session.post("1", timeout=WITHIN)  # goodbye (refused if already closed)
        await _no_leftover_connections(world)

    world.thread.run(example())
