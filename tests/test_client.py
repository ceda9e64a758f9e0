"""chatkit.client against a real server: REST calls, live events, acks, reconnect catch-up."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from chatkit.client import (
    ApiClient,
    ApiError,
    Attachment,
    Backoff,
    ConnectionEvent,
    ConnectionState,
    Event,
    EventError,
    EventStream,
    NewMessageEvent,
    NotConnected,
    ReadEvent,
    RealtimeClient,
    TypingEvent,
    Unreachable,
    new_client_message_id,
)
from chatkit.config import Settings
from tests.support.api import Api
from tests.support.proxy import Proxy
from tests.support.restartable import restartable_server
from tests.support.server import RunningServer
from tests.support.sockets import connected

TIMEOUT = 5.0
# Reconnects wait for `reconnect_now()` in the tests that need to act while the client is away.
PATIENT = Backoff(first=60.0, maximum=60.0, jitter=0.0)


async def next_of(stream: EventStream, kind: type[Event], timeout: float = TIMEOUT) -> Event:
    """The next event of `kind`, skipping others."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        event = await stream.get(timeout=max(0.01, deadline - loop.time()))
        if isinstance(event, kind):
            return event


async def until_state(stream: EventStream, state: ConnectionState) -> ConnectionEvent:
    """The next connection change into `state`, skipping everything else."""
    while True:
        event = await next_of(stream, ConnectionEvent)
        assert isinstance(event, ConnectionEvent)
        if event.status.state is state:
            return event


@asynccontextmanager
async def realtime(
    url: str, token: str, **kwargs: object
) -> AsyncIterator[tuple[RealtimeClient, EventStream]]:
    async with ApiClient(url, token) as api:
        client = RealtimeClient(api, **kwargs)  # type: ignore[arg-type]
        stream = client.subscribe()
        client.start()
        try:
            yield client, stream
        finally:
            await client.close()


# --- REST --------------------------------------------------------------------------------


async def test_api_client_lists_gets_and_opens_conversations(api: Api) -> None:
    pair = await api.pair()
    await api.send(pair.mentee_token, pair.conversation_id, "hello mentor")

    async with ApiClient(api.server.url, pair.mentor_token) as client:
        listed = await client.conversations()
        one = await client.conversation(pair.conversation_id)
        again, created = await client.conversation_by_session(pair.session_id)
        everything = [c async for c in client.all_conversations(page_size=1)]

    assert [c.id for c in listed] == [pair.conversation_id]
    assert listed[0].unread_count == 1
    assert listed[0].last_message is not None and listed[0].last_message.content == "hello mentor"
    assert listed[0].other(pair.mentor_id).id == pair.mentee_id
    assert one.mentor.full_name == "Mentor Person" and one.raw["id"] == pair.conversation_id
    assert (again.id, created) == (pair.conversation_id, False)
    assert [c.id for c in everything] == [pair.conversation_id]


async def test_by_session_reports_creation(api: Api) -> None:
    pair = await api.pair(open_conversation=False)
    async with ApiClient(api.server.url, pair.mentee_token) as client:
        first, created = await client.conversation_by_session(pair.session_id)
        second, created_again = await client.conversation_by_session(pair.session_id)
    assert created and not created_again and first.id == second.id


async def test_history_pages_before_and_after_cursors(api: Api) -> None:
    pair = await api.pair()
    sent = [
        (await api.send(pair.mentor_token, pair.conversation_id, f"m{i}")).body["id"]
        for i in range(7)
    ]
    async with ApiClient(api.server.url, pair.mentee_token) as client:
        newest = await client.messages(pair.conversation_id, limit=3)
        older = await client.messages(pair.conversation_id, limit=3, before=newest.next_cursor)
        after = await client.messages(pair.conversation_id, limit=10, after=sent[4])

    assert [m.id for m in newest.messages] == sent[4:]
    assert newest.has_more and newest.next_cursor == sent[4]
    assert [m.id for m in older.messages] == sent[1:4]
    assert [m.id for m in after.messages] == sent[5:] and not after.has_more


async def test_send_with_client_message_id_never_duplicates(api: Api) -> None:
    pair = await api.pair()
    client_id = new_client_message_id()
    attachment = Attachment(None, "notes.pdf", "application/pdf", "https://example.com/n.pdf", 12)
    async with ApiClient(api.server.url, pair.mentor_token) as client:
        first = await client.send(
            pair.conversation_id,
            "  with a file  ",
            attachments=[attachment],
            client_message_id=client_id,
        )
        retry = await client.send(pair.conversation_id, "with a file", client_message_id=client_id)
        history = await client.messages(pair.conversation_id)

    assert first.created and not retry.created
    assert retry.message.id == first.message.id
    assert first.message.content == "with a file"
    assert first.message.client_message_id == client_id
    (stored,) = first.message.attachments
    assert (stored.filename, stored.size, stored.url) == ("notes.pdf", 12, attachment.url)
    assert stored.id
    assert [m.id for m in history.messages] == [first.message.id]


async def test_mark_read_returns_the_count(api: Api) -> None:
    pair = await api.pair()
    for text in ("one", "two"):
        await api.send(pair.mentor_token, pair.conversation_id, text)
    async with ApiClient(api.server.url, pair.mentee_token) as client:
        receipt = await client.mark_read(pair.conversation_id)
        again = await client.mark_read(pair.conversation_id)
    assert (receipt.read_by, receipt.count, again.count) == (pair.mentee_id, 2, 0)


async def test_errors_carry_status_code_and_message(api: Api) -> None:
    pair = await api.pair()
    async with ApiClient(api.server.url, pair.mentor_token) as client:
        with pytest.raises(ApiError) as missing:
            await client.conversation("7c9e6679-7425-40de-944b-e07fc1f90ae7")
        with pytest.raises(ApiError) as bad_cursor:
            await client.messages(pair.conversation_id, before="not-an-id")
        with pytest.raises(ApiError) as empty:
            await client.send(pair.conversation_id, "   ")
    async with ApiClient(api.server.url, "not.a.token") as client:
        with pytest.raises(ApiError) as unauthorized:
            await client.conversations()

    assert (missing.value.status, missing.value.code) == (404, "conversation_not_found")
    assert bad_cursor.value.status == 400
    assert empty.value.status == 422
    assert unauthorized.value.status == 401
    assert "HTTP 404" in str(missing.value) and missing.value.message


async def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with ApiClient(f"http://127.0.0.1:{port}", "token") as client:
        with pytest.raises(Unreachable) as error:
            await client.conversations()
    assert error.value.status == 0
    assert f"127.0.0.1:{port}" in error.value.message


# --- Socket.IO ---------------------------------------------------------------------------


async def test_live_events_arrive_typed(api: Api) -> None:
    pair = await api.pair()
    async with (
        realtime(api.server.url, pair.mentee_token) as (mentee, events),
        connected(api.server.url, pair.mentor_token) as mentor,
    ):
        await mentee.wait_connected(TIMEOUT)
        seen_by_callback: list[NewMessageEvent] = []
        mentee.on(NewMessageEvent, seen_by_callback.append)

        reply = await api.send(pair.mentor_token, pair.conversation_id, "live")
        message = await next_of(events, NewMessageEvent)
        await mentor.call("typing", {"conversationId": pair.conversation_id, "isTyping": True})
        typing = await next_of(events, TypingEvent)
        await mentee.mark_read(pair.conversation_id)
        read = await next_of(events, ReadEvent)

    assert isinstance(message, NewMessageEvent) and not message.catch_up
    assert message.message.id == reply.body["id"] and message.message.content == "live"
    assert [e.message.id for e in seen_by_callback] == [reply.body["id"]]
    assert typing == TypingEvent(pair.conversation_id, pair.mentor_id, True)
    assert isinstance(read, ReadEvent)
    assert (read.receipt.read_by, read.receipt.count) == (pair.mentee_id, 1)


async def test_acknowledged_emits_raise_event_errors(api: Api) -> None:
    pair = await api.pair()
    outsider = await api.pair()
    async with realtime(api.server.url, pair.mentee_token) as (client, _events):
        await client.wait_connected(TIMEOUT)
        await client.typing(pair.conversation_id, True)
        await client.join(pair.conversation_id)
        await client.leave(pair.conversation_id)
        with pytest.raises(EventError) as error:
            await client.join(outsider.conversation_id)
    assert error.value.code == "conversation_not_found"
    with pytest.raises(NotConnected):
        await client.typing(pair.conversation_id, False)


async def test_a_refused_token_goes_offline_without_retrying(api: Api) -> None:
    user = await api.user("Expired")
    async with realtime(api.server.url, api.server.token(user, ttl=-5)) as (client, events):
        event = await until_state(events, ConnectionState.OFFLINE)
    assert not event.status.retrying
    assert "expired" in event.status.detail


async def test_first_connect_catches_up_from_the_tracked_cursor(api: Api) -> None:
    pair = await api.pair()
    ids = [
        (await api.send(pair.mentor_token, pair.conversation_id, f"m{i}")).body["id"]
        for i in range(4)
    ]
    async with ApiClient(api.server.url, pair.mentee_token) as rest:
        client = RealtimeClient(rest)
        events = client.subscribe()
        client.track(pair.conversation_id, ids[1])
        client.start()
        try:
            await client.wait_connected(TIMEOUT)
            got = [await next_of(events, NewMessageEvent) for _ in range(2)]
        finally:
            await client.close()
    assert [(e.message.id, e.catch_up) for e in got if isinstance(e, NewMessageEvent)] == [
        (ids[2], True),
        (ids[3], True),
    ]
    assert client.cursor(pair.conversation_id) == ids[3]


async def test_server_restart_reconnects_and_catches_up_without_gap_or_duplicate(
    settings: Settings,
) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            pair = await api.pair()
            before = await api.send(pair.mentor_token, pair.conversation_id, "before")
            async with realtime(server.url, pair.mentee_token, backoff=PATIENT) as (client, events):
                await client.wait_connected(TIMEOUT)
                client.track(pair.conversation_id, before.body["id"])

                await server.stop()
                lost = await until_state(events, ConnectionState.RECONNECTING)
                await server.start()
                missed = [
                    (await api.send(pair.mentor_token, pair.conversation_id, f"missed {i}")).body
                    for i in range(3)
                ]
                client.reconnect_now()
                caught = [await next_of(events, NewMessageEvent) for _ in range(3)]
                await client.wait_connected(TIMEOUT)
                live = await api.send(pair.mentor_token, pair.conversation_id, "live again")
                after = await next_of(events, NewMessageEvent)
                # A duplicate would have been queued before "live again"; none is left over.
                extra = [e for e in events.pending() if isinstance(e, NewMessageEvent)]

    assert "connection lost" in lost.status.detail
    assert [(e.message.id, e.catch_up) for e in caught if isinstance(e, NewMessageEvent)] == [
        (m["id"], True) for m in missed
    ]
    assert isinstance(after, NewMessageEvent) and after.message.id == live.body["id"]
    assert not after.catch_up and extra == []


# --- catch-up: whole conversations, new conversations, failures ---------------------------


async def test_a_conversation_without_cursor_is_caught_up_in_full(api: Api) -> None:
    pair = await api.pair()
    ids = [
        (await api.send(pair.mentor_token, pair.conversation_id, f"m{i}")).body["id"]
        for i in range(5)
    ]
    async with ApiClient(api.server.url, pair.mentee_token) as rest:
        client = RealtimeClient(rest, catch_up_page=2)
        events = client.subscribe()
        client.track(pair.conversation_id, None)  # it had no messages when the caller looked
        client.start()
        try:
            await client.wait_connected(TIMEOUT)
            got = [e for e in events.pending() if isinstance(e, NewMessageEvent)]
        finally:
            await client.close()
    assert [(e.message.id, e.catch_up) for e in got] == [(i, True) for i in ids]


async def test_following_new_conversations_catches_up_one_created_while_away(
    settings: Settings,
) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            known = await api.pair()
            async with realtime(
                server.url, known.mentee_token, backoff=PATIENT, follow_new_conversations=True
            ) as (client, events):
                await client.wait_connected(TIMEOUT)
                await server.stop()
                await until_state(events, ConnectionState.RECONNECTING)
                await server.start()
                # A second session of the same mentee, opened and written to while away.
                session = await api.session(known.mentor_id, known.mentee_id)
                opened = await api.post(
                    "/api/conversations/by-session",
                    token=known.mentor_token,
                    json={"sessionId": session},
                )
                sent = [
                    (await api.send(known.mentor_token, opened.body["id"], f"new {i}")).body
                    for i in range(2)
                ]
                client.reconnect_now()
                caught = [await next_of(events, NewMessageEvent) for _ in range(2)]
    assert [(e.message.id, e.catch_up) for e in caught if isinstance(e, NewMessageEvent)] == [
        (m["id"], True) for m in sent
    ]


async def test_a_failed_catch_up_is_retried_and_holds_live_messages_back(
    server: RunningServer,
) -> None:
    """The catch-up after a connect fails (503 from a proxy) while a newer message arrives
    live: that one must not be delivered (its id would move the cursor past the missed one);
    the next connect delivers both, in order, once."""
    async with Api(server) as api, Proxy(server.url).running() as proxy:
        pair = await api.pair()
        seen = await api.send(pair.mentor_token, pair.conversation_id, "seen")
        missed = await api.send(pair.mentor_token, pair.conversation_id, "missed")
        async with ApiClient(proxy.url, pair.mentee_token) as rest:
            client = RealtimeClient(rest, backoff=PATIENT, transports=["polling"])
            events = client.subscribe()
            client.track(pair.conversation_id, seen.body["id"])
            gate = proxy.hold(f"/api/conversations/{pair.conversation_id}/messages")
            client.start()
            try:
                await asyncio.wait_for(gate.arrived.wait(), TIMEOUT)
                live = await api.send(pair.mentor_token, pair.conversation_id, "while behind")
                await proxy.wait_for_body(live.body["id"])  # pushed to the connected socket
                gate.answer(503)
                failed = await until_state(events, ConnectionState.RECONNECTING)
                while "catching up failed" not in failed.status.detail:
                    failed = await until_state(events, ConnectionState.RECONNECTING)

                client.reconnect_now()
                caught = [await next_of(events, NewMessageEvent) for _ in range(2)]
                await client.wait_connected(TIMEOUT)
                after = await api.send(pair.mentor_token, pair.conversation_id, "live again")
                latest = await next_of(events, NewMessageEvent)
                extra = [e for e in events.pending() if isinstance(e, NewMessageEvent)]
            finally:
                await client.close()

    assert [(e.message.id, e.catch_up) for e in caught if isinstance(e, NewMessageEvent)] == [
        (missed.body["id"], True),
        (live.body["id"], True),
    ]
    assert isinstance(latest, NewMessageEvent) and latest.message.id == after.body["id"]
    assert extra == []
