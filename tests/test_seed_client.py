"""The seed's own example client, with the official socket.io-client under Node, works unchanged."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api, Pair
from tests.support.node import run_script


async def test_seed_example_client_works_unchanged(api: Api) -> None:
    pair = await api.pair()
    seen = await _run_seed_client(api, pair)

    _assert_seed_flow(seen, pair)


async def test_seed_example_client_works_with_edits_deletes_and_presence_flowing(
    api: Api,
) -> None:
    pair = await api.pair()
    earlier = await api.send(pair.mentor_token, pair.conversation_id, "sent too early")
    seen = await _run_seed_client(api, pair, EARLIER_MESSAGE_ID=earlier.body["id"])

    _assert_seed_flow(seen, pair)
    assert seen["changes"] == [200, 200]
    assert {"message_updated", "message_deleted"} <= set(seen["any"]["mentee"])
    # Whichever side connected second, the other was told it came online.
    presence = [side for side, events in seen["any"].items() if "presence" in events]
    assert presence != []


async def _run_seed_client(api: Api, pair: Pair, **extra: str) -> dict[str, Any]:
    seen: dict[str, Any] = await run_script(
        "seed_client.mjs",
        CHATKIT_URL=api.server.url,
        MENTEE_TOKEN=pair.mentee_token,
        MENTOR_TOKEN=pair.mentor_token,
        CONVERSATION_ID=pair.conversation_id,
        **extra,
    )
    return seen


def _assert_seed_flow(seen: dict[str, Any], pair: Pair) -> None:
    assert seen["joinAck"] == {"ok": True}
    assert seen["postStatus"] == 201
    events = {(e["side"], e["event"]): e for e in seen["events"]}
    new_message = events[("mentee", "new_message")]
    assert new_message["conversationId"] == pair.conversation_id
    assert new_message["message"] == seen["posted"]
    assert events[("mentee", "user_typing")] == {
        "side": "mentee",
        "event": "user_typing",
        "conversationId": pair.conversation_id,
        "userId": pair.mentor_id,
        "isTyping": True,
    }
    read = events[("mentor", "messages_read")]
    assert (read["readBy"], read["count"]) == (pair.mentee_id, 1)
    assert seen["errors"][0]["message"] == "unauthorized"
    assert seen["errors"][0]["data"]["code"] == "malformed_token"
    assert seen["transport"] == "websocket", "the client upgraded from polling to websocket"
