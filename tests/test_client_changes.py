"""chatkit.client and edits/deletions/presence: typed live events, and a client that was away
learns of the edits and deletions made meanwhile in its catch-up, each once."""

from __future__ import annotations

from chatkit.client import (
    ApiClient,
    ConnectionState,
    MessageDeletedEvent,
    MessageUpdatedEvent,
    NewMessageEvent,
    PresenceEvent,
)
from chatkit.config import Settings
from tests.support.api import Api
from tests.support.restartable import restartable_server
from tests.test_client import PATIENT, TIMEOUT, next_of, realtime, until_state


async def test_edits_deletes_and_presence_arrive_typed(api: Api) -> None:
    pair = await api.pair()
    sent = (await api.send(pair.mentor_token, pair.conversation_id, "helo")).body

    async with realtime(api.server.url, pair.mentee_token) as (client, events):
        await client.wait_connected(TIMEOUT)
        async with ApiClient(api.server.url, pair.mentor_token) as mentor:
            edited = await mentor.edit(pair.conversation_id, sent["id"], "hello")
            updated = await next_of(events, MessageUpdatedEvent)
            tombstone = await mentor.delete(pair.conversation_id, sent["id"])
            deleted = await next_of(events, MessageDeletedEvent)
        async with realtime(api.server.url, pair.mentor_token) as (other, _):
            await other.wait_connected(TIMEOUT)
            online = await next_of(events, PresenceEvent)

    assert isinstance(updated, MessageUpdatedEvent)
    assert updated.message.content == "hello" == edited.content
    assert updated.message.edited_at == edited.edited_at and not updated.catch_up
    assert isinstance(deleted, MessageDeletedEvent)
    assert deleted.message_id == sent["id"] and deleted.deleted_at == tombstone.deleted_at
    assert tombstone.deleted and tombstone.content == "" and tombstone.attachments == ()
    assert isinstance(online, PresenceEvent)
    assert online.user_id == pair.mentor_id and online.online is True


async def test_a_reconnect_catches_up_edits_and_deletions_once(settings: Settings) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            pair = await api.pair()
            one, two, three = [
                (await api.send(pair.mentor_token, pair.conversation_id, text)).body
                for text in ("one", "two", "three")
            ]
            async with realtime(server.url, pair.mentee_token, backoff=PATIENT) as (
                client,
                events,
            ):
                client.track(pair.conversation_id, three["id"])
                await client.wait_connected(TIMEOUT)
                live = await api.edit(pair.mentor_token, pair.conversation_id, one["id"], "one!")
                seen_live = await next_of(events, MessageUpdatedEvent)

                await server.stop()
                await until_state(events, ConnectionState.RECONNECTING)
                await server.start()
                await api.edit(pair.mentor_token, pair.conversation_id, two["id"], "two!")
                await api.remove(pair.mentor_token, pair.conversation_id, three["id"])
                (four,) = [(await api.send(pair.mentor_token, pair.conversation_id, "four")).body]
                client.reconnect_now()
                caught = [
                    await next_of(
                        events, NewMessageEvent | MessageUpdatedEvent | MessageDeletedEvent
                    )  # type: ignore[arg-type]
                    for _ in range(3)
                ]
                await client.wait_connected(TIMEOUT)
                await api.send(pair.mentor_token, pair.conversation_id, "barrier")
                await next_of(events, NewMessageEvent)
                extra = [
                    e
                    for e in events.pending()
                    if isinstance(e, MessageUpdatedEvent | MessageDeletedEvent)
                ]

    assert isinstance(seen_live, MessageUpdatedEvent) and live.status == 200
    assert all(getattr(event, "catch_up", False) for event in caught)
    new, *changes = caught
    assert isinstance(new, NewMessageEvent) and new.message.id == four["id"]
    described = {
        (e.message.id, e.message.content)
        if isinstance(e, MessageUpdatedEvent)
        else (e.message_id, "deleted")
        for e in changes
        if isinstance(e, MessageUpdatedEvent | MessageDeletedEvent)
    }
    # The edit seen live is not delivered again; the two made while away are, once.
    assert described == {(two["id"], "two!"), (three["id"], "deleted")}
    assert extra == []
