"""Socket.IO namespace /chat against a real server, with real python-socketio clients."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.api import Api
from tests.support.sockets import connected, refused


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("how", ["auth", "header", "query"])
async def test_token_in_any_of_the_three_places_connects_and_auto_joins(
    api: Api, transport: str, how: str
) -> None:
    pair = await api.pair()
    url = api.server.url

    async with connected(url, pair.mentee_token, transport=transport, how=how) as mentee:
        reply = await api.send(pair.mentor_token, pair.conversation_id, "pushed")
        event = await mentee.next("new_message")

    assert event == {"conversationId": pair.conversation_id, "message": reply.body}


@pytest.mark.parametrize(
    ("token_kind", "code"),
    [
        ("missing", "missing_token"),
        ("garbage", "malformed_token"),
        ("expired", "token_expired"),
        ("wrong_key", "invalid_signature"),
        ("unknown_user", "unknown_user"),
    ],
)
async def test_bad_tokens_are_refused_with_a_reason(api: Api, token_kind: str, code: str) -> None:
    user = await api.user("Someone")
    tokens = {
        "missing": None,
        "garbage": "not.a.jwt",
        "expired": api.server.token(user, ttl=-10),
        "wrong_key": _token_with_other_key(user),
        "unknown_user": api.server.token(str(uuid.uuid4())),
    }
    token = tokens[token_kind]

    error = await refused(api.server.url, auth={"token": token} if token else None)

    assert error["message"] == "unauthorized"
    assert error["data"]["code"] == code
    assert error["data"]["reason"]


def _token_with_other_key(user_id: str) -> str:
    import time

    import jwt

    return jwt.encode(
        {"sub": user_id, "exp": int(time.time()) + 60}, "another-secret-of-enough-length", "HS256"
    )


async def test_new_message_reaches_every_tab_of_both_participants(api: Api) -> None:
    pair = await api.pair()
    outsider = api.server.token(await api.user("Outsider"))
    url = api.server.url

    async with (
        connected(url, pair.mentor_token) as mentor_tab1,
        connected(url, pair.mentor_token, transport="polling") as mentor_tab2,
        connected(url, pair.mentee_token) as mentee,
        connected(url, outsider) as stranger,
    ):
        sent = await api.send(pair.mentor_token, pair.conversation_id, "to everyone")
        received = [await tab.next("new_message") for tab in (mentor_tab1, mentor_tab2, mentee)]
        await stranger.barrier()

        assert all(event["message"] == sent.body for event in received)
        assert stranger.pending("new_message") == []


async def test_messages_arrive_in_send_order(api: Api) -> None:
    pair = await api.pair()

    async with connected(api.server.url, pair.mentee_token) as mentee:
        sent = await asyncio.gather(
            *[api.send(pair.mentor_token, pair.conversation_id, f"m{i}") for i in range(30)]
        )
        received = [(await mentee.next("new_message"))["message"] for _ in sent]

    assert [m["seq"] for m in received] == list(range(1, 31))
    assert [m["id"] for m in received] == sorted(reply.body["id"] for reply in sent)


async def test_typing_goes_to_the_other_side_but_not_to_own_tabs(api: Api) -> None:
    pair = await api.pair()
    url = api.server.url

    async with (
        connected(url, pair.mentor_token) as typer,
        connected(url, pair.mentor_token) as typer_other_tab,
        connected(url, pair.mentee_token) as mentee,
    ):
        ack = await typer.call("typing", {"conversationId": pair.conversation_id, "isTyping": True})
        event = await mentee.next("user_typing")
        await typer_other_tab.barrier()
        await typer.barrier()

        assert ack == {"ok": True}
        assert event == {
            "conversationId": pair.conversation_id,
            "userId": pair.mentor_id,
            "isTyping": True,
        }
        assert typer.pending("user_typing") == []
        assert typer_other_tab.pending("user_typing") == []


async def test_mark_read_over_the_socket_emits_messages_read(api: Api) -> None:
    pair = await api.pair()
    for text in ("a", "b"):
        await api.send(pair.mentor_token, pair.conversation_id, text)

    async with (
        connected(api.server.url, pair.mentor_token) as mentor,
        connected(api.server.url, pair.mentee_token) as mentee,
    ):
        ack = await mentee.call("mark_read", {"conversationId": pair.conversation_id})
        receipt = await mentor.next("messages_read")
        again = await mentee.call("mark_read", {"conversationId": pair.conversation_id})
        patch = await api.patch(
            f"/api/conversations/{pair.conversation_id}/read", token=pair.mentee_token
        )
        await mentor.barrier()

        assert ack == again == {"ok": True}
        assert receipt == {
            "conversationId": pair.conversation_id,
            "readBy": pair.mentee_id,
            "count": 2,
        }
        assert patch.body["count"] == 0
        assert mentor.pending("messages_read") == [], "nothing is emitted when count is 0"


async def test_patch_read_emits_the_same_payload_as_it_returns(api: Api) -> None:
    pair = await api.pair()
    await api.send(pair.mentee_token, pair.conversation_id, "question")

    async with connected(api.server.url, pair.mentee_token) as mentee:
        patch = await api.patch(
            f"/api/conversations/{pair.conversation_id}/read", token=pair.mentor_token
        )
        receipt = await mentee.next("messages_read")

    assert (
        receipt
        == patch.body
        == {
            "conversationId": pair.conversation_id,
            "readBy": pair.mentor_id,
            "count": 1,
        }
    )


async def test_join_and_leave_with_acknowledgements(api: Api) -> None:
    pair = await api.pair()
    outsider = api.server.token(await api.user("Outsider"))

    async with (
        connected(api.server.url, pair.mentee_token) as mentee,
        connected(api.server.url, outsider) as stranger,
    ):
        left = await mentee.call("leave_conversation", {"conversationId": pair.conversation_id})
        await api.send(pair.mentor_token, pair.conversation_id, "while away")
        await mentee.barrier()
        missed = mentee.pending("new_message")
        joined = await mentee.call("join_conversation", {"conversationId": pair.conversation_id})
        back = await api.send(pair.mentor_token, pair.conversation_id, "welcome back")
        event = await mentee.next("new_message")
        refused_join = await stranger.call(
            "join_conversation", {"conversationId": pair.conversation_id}
        )
        unknown_join = await mentee.call("join_conversation", {"conversationId": str(uuid.uuid4())})
        await api.send(pair.mentor_token, pair.conversation_id, "still private")
        await stranger.barrier()

        assert left == joined == {"ok": True}
        assert missed == []
        assert event["message"]["id"] == back.body["id"]
        assert refused_join["ok"] is False
        assert refused_join["error"]["code"] == "conversation_not_found"
        assert unknown_join["ok"] is False
        assert stranger.pending("new_message") == []


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("join_conversation", None),
        ("join_conversation", "a string"),
        ("join_conversation", {"conversationId": 42}),
        ("join_conversation", {}),
        ("leave_conversation", [1, 2]),
        ("typing", {"conversationId": "x"}),
        ("typing", {"conversationId": None, "isTyping": True}),
        ("typing", {"isTyping": "yes"}),
        ("mark_read", {"conversationId": {"$ne": 1}}),
        ("mark_read", 3.5),
    ],
)
async def test_malformed_payloads_get_an_error_ack_and_keep_the_connection(
    api: Api, event: str, payload: object
) -> None:
    pair = await api.pair()

    async with connected(api.server.url, pair.mentee_token) as mentee:
        ack = await mentee.call(event, payload)
        still_there = await api.send(pair.mentor_token, pair.conversation_id, "still connected")
        delivered = await mentee.next("new_message")

        assert ack["ok"] is False
        assert set(ack["error"]) == {"code", "message"}
        assert delivered["message"]["id"] == still_there.body["id"]
        assert mentee.client.connected


async def test_events_without_payload_or_ack_do_not_break_anything(api: Api) -> None:
    pair = await api.pair()

    async with connected(api.server.url, pair.mentee_token) as mentee:
        await mentee.client.emit("typing", namespace="/chat")
        await mentee.client.emit("mark_read", namespace="/chat")
        await mentee.client.emit("no_such_event", {"x": 1}, namespace="/chat")
        unknown = await mentee.call("no_such_event", {"x": 1})
        ack = await mentee.call(
            "typing", {"conversationId": pair.conversation_id, "isTyping": False}
        )

        assert unknown["ok"] is False and unknown["error"]["code"] == "unknown_event"
        assert ack == {"ok": True}


async def test_conversation_created_after_connecting_is_joined_automatically(api: Api) -> None:
    pair = await api.pair(open_conversation=False)

    async with (
        connected(api.server.url, pair.mentor_token) as mentor,
        connected(api.server.url, pair.mentee_token) as mentee,
    ):
        created = await api.post(
            "/api/conversations/by-session",
            token=pair.mentee_token,
            json={"sessionId": pair.session_id},
        )
        sent = await api.send(pair.mentee_token, created.body["id"], "first words")
        events = [await mentor.next("new_message"), await mentee.next("new_message")]

    assert all(event["message"]["id"] == sent.body["id"] for event in events)


async def test_socket_is_disconnected_when_its_token_expires(api: Api) -> None:
    user = await api.user("Short Lived")
    token = api.server.token(user, ttl=2)

    async with connected(api.server.url, token) as socket:
        notice = await socket.next("token_expired", timeout=10)
        await asyncio.wait_for(socket.disconnected.wait(), 10)

    assert notice["code"] == "token_expired"


async def test_websocket_frames_are_not_compressed(api: Api) -> None:
    """Small JSON frames: per-message deflate would cost CPU and memory for nothing."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(
            f"{api.server.url}/socket.io/?EIO=4&transport=websocket", compress=15
        ) as ws:
            opening = await ws.receive()

    assert ws.compress == 0
    assert opening.data.startswith("0{")
