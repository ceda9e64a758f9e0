"""Fuzz the /chat events with hypothesis against a real server.

Random JSON values (and wrong numbers of arguments) go to join_conversation,
leave_conversation, typing and mark_read, from a participant and from a stranger. Properties:
every call is acknowledged with `{"ok": true}` or `{"ok": false, "error": {code, message}}`
(never internal_error), no socket is dropped, nothing is logged as an error, the stranger never
succeeds, and every event lands only where it belongs: a socket that has watched the whole time
sees only events of its own user's conversations, a stranger sees nothing, and no one gets
their own typing back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.support import backends
from tests.support.api import Api, Pair
from tests.support.databases import fresh_database
from tests.support.loopthread import LoopThread
from tests.support.processes import eventually
from tests.support.server import RunningServer, running_server
from tests.support.sockets import EVENTS, Recorder, connected

# CI runs a fixed set; CHATKIT_TEST_FUZZ_EXAMPLES=3000 CHATKIT_TEST_FUZZ_SEED=<int> hunts longer.
EXAMPLES = int(os.environ.get("CHATKIT_TEST_FUZZ_EXAMPLES", "100"))
SEED = os.environ.get("CHATKIT_TEST_FUZZ_SEED")
CLIENT_EVENTS = ("join_conversation", "leave_conversation", "typing", "mark_read", "sync", "reauth")
# Events a stranger must never get through with a valid-looking id.
GUARDED_EVENTS = ("join_conversation", "typing", "mark_read")
ACK_TIMEOUT = 5.0
SECRET_TEXT = "hello A, from inside"


class ErrorLog(logging.Handler):
    """Every record at ERROR or above, from any logger, while the world runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class World:
    """One server; A talks with B (conversation ab) and with D (ad); C is in nothing."""

    thread: LoopThread
    server: RunningServer
    ab: Pair
    ad: Pair
    stranger_token: str
    sockets: dict[str, Recorder] = field(default_factory=dict)
    # What each watching socket may receive: the conversations of its user.
    allowed: dict[str, set[str]] = field(default_factory=dict)
    # Whose presence each watching socket may hear of: the people it shares a conversation with.
    partners: dict[str, set[str]] = field(default_factory=dict)
    received: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)  # event -> ok acks (the fuzzer's)
    message_ids: list[str] = field(default_factory=list)
    calls: int = 0

    @property
    def conversation_ids(self) -> list[str]:
        return [self.ab.conversation_id, self.ad.conversation_id]

    def leaked(self, ack: Any, sent: Any) -> list[str]:
        """What of A's conversations a stranger's answer shows, beyond what it sent itself
        (an error may quote the input; the tenancy tests prove such answers are the same for
        ids that exist and ids that do not)."""
        told, asked = repr(ack), repr(sent)
        secrets = [SECRET_TEXT, *self.message_ids]
        secrets += [cid for cid in self.conversation_ids if cid not in asked]
        return [secret for secret in secrets if secret in told]

    def received_counts(self) -> dict[str, int]:
        return {name: len(events) for name, events in self.received.items()}

    async def collect(self) -> None:
        """Take what every socket received so far and check it went to the right place."""
        for name, socket in self.sockets.items():
            for event in EVENTS:
                for payload in socket.pending(event):
                    self.received.setdefault(name, []).append((event, payload))
                    if event == "presence":
                        assert payload["userId"] in self.partners[name], (name, payload)
                        continue
                    where = payload.get("conversationId") if isinstance(payload, dict) else None
                    assert where in self.allowed[name], (name, event, payload)
                    if event == "user_typing":
                        own = {"a_fuzzer": self.ab.mentor_id, "a_watcher": self.ab.mentor_id}
                        assert payload["userId"] != own.get(name), ("own typing echoed", payload)
            assert socket.client.connected and not socket.disconnected.is_set(), name


@contextlib.contextmanager
def _world(url: str, folder: Path) -> Iterator[World]:
    thread = LoopThread()
    stack = contextlib.AsyncExitStack()
    try:
        # No rate limits here: the fuzzer is fast, and its calls should reach the handlers.
        settings = make_settings(url, folder, event_rate="off", message_rate="off")
        server = thread.run(stack.enter_async_context(running_server(settings)))
        api = thread.run(stack.enter_async_context(Api(server)))
        ab, ad, stranger, message_ids = thread.run(_provision(api))
        world = World(thread, server, ab, ad, server.token(stranger), message_ids=message_ids)
        sockets = {
            "a_fuzzer": (ab.mentor_token, set(world.conversation_ids)),
            "a_watcher": (ab.mentor_token, set(world.conversation_ids)),
            "b_watcher": (ab.mentee_token, {ab.conversation_id}),
            "d_watcher": (ad.mentee_token, {ad.conversation_id}),
            "c_fuzzer": (world.stranger_token, set()),
            "c_watcher": (world.stranger_token, set()),
        }
        partners = {"a": {ab.mentee_id, ad.mentee_id}, "b": {ab.mentor_id}, "d": {ad.mentor_id}}
        for name, (token, allowed) in sockets.items():
            world.sockets[name] = thread.run(
                stack.enter_async_context(connected(server.url, token))
            )
            world.allowed[name] = allowed
            world.partners[name] = partners.get(name[0], set())
        yield world
    finally:
        thread.run(stack.aclose())
        thread.close()


async def _provision(api: Api) -> tuple[Pair, Pair, str, list[str]]:
    ab = await api.pair()
    d = await api.user("D")
    session = await api.session(ab.mentor_id, d)
    opened = await api.post(
        "/api/conversations/by-session", token=ab.mentor_token, json={"sessionId": session}
    )
    ad = Pair(ab.mentor_id, d, session, opened.body["id"], ab.mentor_token, api.server.token(d))
    message_ids = []
    for pair in (ab, ad):  # unread for A, so that A's first mark_read emits messages_read
        sent = await api.send(pair.mentee_token, pair.conversation_id, SECRET_TEXT)
        message_ids.append(sent.body["id"])
    return ab, ad, await api.user("C"), message_ids


@pytest.fixture(scope="module", params=backends.selected())
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    folder = tmp_path_factory.mktemp("socket-fuzz")
    try:
        with fresh_database(request, request.param, folder) as url, _world(url, folder) as world:
            yield world
            # Flush: a message in each conversation arrives after every earlier event.
            world.thread.run(_final_check(world))
    finally:
        logging.getLogger().removeHandler(errors)
    assert [record.getMessage() for record in errors.records] == []


async def _final_check(world: World) -> None:
    fuzzer = world.sockets["a_fuzzer"]
    async with Api(world.server) as api:
        for pair, watcher in ((world.ab, "b_watcher"), (world.ad, "d_watcher")):
            # A control: the watchers do see what is meant for them, so their silence about
            # everything else means something.
            await fuzzer.call("join_conversation", {"conversationId": pair.conversation_id})
            typing = {"conversationId": pair.conversation_id, "isTyping": True}
            assert await fuzzer.call("typing", typing) == {"ok": True}
            # A message arrives after every event pushed before it: everything is in.
            sent = await api.send(pair.mentee_token, pair.conversation_id, "flush")
            assert sent.status == 201

            async def flushed(watcher: str = watcher, message: Any = sent.body) -> bool:
                await world.collect()
                return ("new_message", _flush(message)) in world.received.get(watcher, [])

            await eventually(flushed, timeout=5)
            events = {event for event, _ in world.received[watcher]}
            assert {"user_typing", "new_message"} <= events, (watcher, world.received[watcher])
        health = await api.get("/healthz")
        assert health.status == 200
    for name in ("c_fuzzer", "c_watcher"):
        await world.sockets[name].barrier()
    await world.collect()
    assert world.received.get("c_watcher", []) == [] and world.received.get("c_fuzzer", []) == []
    # The fuzzer got through to the handlers, not only to the validation in front of them.
    assert len(world.accepted) >= 4 and sum(world.accepted.values()) >= world.calls // 20, (
        world.calls,
        world.accepted,
    )
    print(f"socket fuzz: {world.calls} calls, accepted", world.accepted, world.received_counts())


# --- what to send ------------------------------------------------------------------------

_leaves = (
    st.none()
    | st.booleans()
    # 64-bit: an in-process client encodes with the server's orjson (python-socketio's packet
    # JSON module is global); bigger numbers go in raw frames (test_socket_frames.py).
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.binary(max_size=8)  # sent as a Socket.IO binary event
)
_json = st.recursive(
    _leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _id_like(known: list[str], *, text_only: bool = False) -> st.SearchStrategy[Any]:
    """Ids that exist, spelled in every way a UUID can be, and ones that do not."""
    real = st.sampled_from(known)
    spelled = st.one_of(
        real.map(str.upper),
        real.map(lambda value: "{" + value + "}"),
        real.map(lambda value: value.replace("-", "")),
        real.map(lambda value: f" {value} "),
        real.map(lambda value: f"urn:uuid:{value}"),
    )
    unknown = st.one_of(st.uuids().map(str), st.text(max_size=50))
    if not text_only:
        unknown = st.one_of(unknown, _json)
    return st.one_of(real, spelled, unknown)


def _shapes(known: list[str], tokens: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    """Payloads shaped like each event's, with every field's value fuzzed."""
    reference = st.fixed_dictionaries(
        {"conversationId": _id_like(known)}, optional={"extra": _json}
    )
    typing = st.fixed_dictionaries(
        {"conversationId": _id_like(known), "isTyping": st.one_of(st.booleans(), _json)},
        optional={"extra": _json},
    )
    # sync: {conversationId: lastSeq}, with seqs around every edge a column can have.
    seqs = st.one_of(
        st.integers(-2, 10), st.integers(2**31 - 2, 2**31 + 1), st.integers(0, 2**64 - 1)
    )
    sync = st.dictionaries(_id_like(known, text_only=True), st.one_of(seqs, _json), max_size=3)
    reauth = st.fixed_dictionaries({"token": st.one_of(st.sampled_from(tokens), _json)})
    return {
        "join_conversation": reference,
        "leave_conversation": reference,
        "typing": typing,
        "mark_read": reference,
        "sync": sync,
        "reauth": reauth,
    }


@st.composite
def _calls(
    draw: st.DrawFn, known: list[str], tokens: list[str]
) -> tuple[str, str, tuple[Any, ...]]:
    sender = draw(st.sampled_from(["a_fuzzer", "c_fuzzer"]))
    event = draw(st.sampled_from(CLIENT_EVENTS))
    shapes = _shapes(known, tokens)
    # Mostly the event's own shape; sometimes another event's, or any JSON at all.
    payload = st.one_of(shapes[event], shapes[event], st.one_of(*shapes.values()), _json)
    arguments = draw(
        st.one_of(
            st.tuples(payload),
            st.just(()),
            st.tuples(payload, payload),
            st.tuples(payload, payload, payload),
        )
    )
    return sender, event, arguments


# What a success may carry besides "ok".
SUCCESS_KEYS = {"sync": {"conversations"}, "reauth": {"expiresAt"}}


def _is_ack(event: str, value: Any) -> bool:
    if isinstance(value, dict) and value.get("ok") is True:
        return set(value) - {"ok"} <= SUCCESS_KEYS.get(event, set())
    if not (isinstance(value, dict) and set(value) == {"ok", "error"} and value["ok"] is False):
        return False
    error = value["error"]
    extra = {"retryAfter"} if error.get("code") == "rate_limited" else set()
    return (
        isinstance(error, dict)
        and set(error) - extra == {"code", "message"}
        and isinstance(error["code"], str)
        and error["code"] not in ("", "internal_error")
        and isinstance(error["message"], str)
        and error["message"] != ""
    )


async def _play(world: World, calls: list[tuple[str, str, tuple[Any, ...]]]) -> None:
    for sender, event, arguments in calls:
        socket = world.sockets[sender]
        ack = await socket.client.call(event, arguments, namespace="/chat", timeout=ACK_TIMEOUT)
        world.calls += 1
        assert _is_ack(event, ack), (sender, event, arguments, ack)
        if ack["ok"]:
            world.accepted[event] = world.accepted.get(event, 0) + 1
        if not arguments:
            assert ack["ok"] is False, ("no payload accepted", event)
        if sender == "c_fuzzer" and event in GUARDED_EVENTS:
            assert ack["ok"] is False, ("a stranger got through", event, arguments)
        if sender == "c_fuzzer":
            leaked = world.leaked(ack, arguments)
            assert leaked == [], ("a stranger was told", leaked, event, arguments, ack)
    for socket in world.sockets.values():
        await socket.barrier()
    await world.collect()


def _flush(message: Any) -> dict[str, Any]:
    return {"conversationId": message["conversationId"], "message": message}


def _known_ids(world: World) -> list[str]:
    # Known to the server, not to a stranger: a stranger guessing right must still fail.
    return world.conversation_ids


def _tokens(world: World) -> list[str]:
    a, b = world.ab.mentor_token, world.ab.mentee_token
    expired = world.server.token(world.ab.mentor_id, ttl=-10)
    return [a, b, world.stranger_token, expired, "not-a-token"]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=SEED is None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_payloads_are_answered_and_never_leak(world: World, data: st.DataObject) -> None:
    calls = data.draw(st.lists(_calls(_known_ids(world), _tokens(world)), min_size=1, max_size=8))

    world.thread.run(_play(world, calls))


if SEED is not None:
    test_random_payloads_are_answered_and_never_leak = seed(int(SEED))(
        test_random_payloads_are_answered_and_never_leak
    )


def test_a_stranger_guessing_real_ids_gets_the_same_answer_as_for_unknown_ids(
    world: World,
) -> None:
    async def answers() -> list[Any]:
        stranger = world.sockets["c_fuzzer"]
        found = []
        for event in GUARDED_EVENTS:
            for conversation_id in (world.ab.conversation_id, str(uuid.uuid4())):
                payload = {"conversationId": conversation_id, "isTyping": True}
                found.append(await stranger.call(event, payload))
        return found

    results = world.thread.run(answers())

    assert results[0::2] == results[1::2]
    assert all(result["ok"] is False for result in results)
