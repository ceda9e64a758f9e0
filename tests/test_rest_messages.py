"""REST: sending, paginating and reading messages against a real server."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.api import Api, Pair
from tests.test_rest_conversations import ISO_MS

MESSAGE_KEYS = {
    "id",
    "conversationId",
    "seq",
    "senderId",
    "content",
    "contentType",
    "attachments",
    "clientMessageId",
    "createdAt",
    "editedAt",
    "deletedAt",
}


async def _history(api: Api, pair: Pair, **params: str) -> dict:
    reply = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages",
        token=pair.mentee_token,
        params=params,
    )
    assert reply.status == 200, reply.body
    return reply.body


async def test_send_returns_the_stored_message(api: Api) -> None:
    pair = await api.pair()

    reply = await api.post(
        f"/api/conversations/{pair.conversation_id}/messages",
        token=pair.mentor_token,
        json={
            "content": "  Hello, mentee! 👋  ",
            "contentType": "file",
            "attachments": [
                {
                    "filename": "doc.pdf",
                    "mimeType": "application/pdf",
                    "url": "https://files.example.com/doc.pdf",
                    "size": 12345,
                }
            ],
        },
    )

    assert reply.status == 201
    message = reply.body
    assert set(message) == MESSAGE_KEYS
    assert message["content"] == "Hello, mentee! 👋", "surrounding whitespace is trimmed"
    assert message["contentType"] == "file"
    assert message["senderId"] == pair.mentor_id
    assert message["conversationId"] == pair.conversation_id
    assert message["clientMessageId"] is None
    assert message["seq"] == 1
    assert ISO_MS.match(message["createdAt"])
    (attachment,) = message["attachments"]
    uuid.UUID(attachment["id"])
    assert {k: v for k, v in attachment.items() if k != "id"} == {
        "filename": "doc.pdf",
        "mimeType": "application/pdf",
        "url": "https://files.example.com/doc.pdf",
        "size": 12345,
    }
    history = await _history(api, pair)
    assert history["messages"] == [message], "history returns exactly what the send returned"


async def test_attachment_only_message_may_have_empty_content(api: Api) -> None:
    pair = await api.pair()
    attachment = {
        "filename": "a.png",
        "mimeType": "image/png",
        "url": "http://x.example/a.png",
        "size": 0,
    }

    reply = await api.post(
        f"/api/conversations/{pair.conversation_id}/messages",
        token=pair.mentee_token,
        json={"content": "   ", "contentType": "image", "attachments": [attachment]},
    )

    assert reply.status == 201
    assert reply.body["content"] == ""


async def test_client_message_id_makes_sends_idempotent(api: Api) -> None:
    pair = await api.pair()
    path = f"/api/conversations/{pair.conversation_id}/messages"
    body = {"content": "only once", "clientMessageId": "tab-1:42"}

    first = await api.post(path, token=pair.mentor_token, json=body)
    again = await api.post(path, token=pair.mentor_token, json=body)
    concurrent = await asyncio.gather(
        *[
            api.post(path, token=pair.mentor_token, json={"content": "x", "clientMessageId": "c"})
            for _ in range(8)
        ]
    )
    # The same client id from the other participant is a different message.
    theirs = await api.post(path, token=pair.mentee_token, json=body)

    assert first.status == 201
    assert again.status == 200
    assert again.body == first.body
    assert sorted(reply.status for reply in concurrent) == [200] * 7 + [201]
    assert len({reply.body["id"] for reply in concurrent}) == 1
    assert theirs.status == 201
    history = await _history(api, pair)
    assert [m["content"] for m in history["messages"]] == ["only once", "x", "only once"]
    assert [m["seq"] for m in history["messages"]] == [1, 2, 3]


async def test_history_pages_backwards_without_gaps_or_repeats(api: Api) -> None:
    pair = await api.pair()
    sent = []
    for index in range(23):
        token = pair.mentor_token if index % 3 else pair.mentee_token
        reply = await api.send(token, pair.conversation_id, f"message {index}")
        sent.append(reply.body["id"])
    assert sent == sorted(sent), "ids sort as plain strings in send order"

    newest = await _history(api, pair, limit="10")
    middle = await _history(api, pair, limit="10", before=newest["nextCursor"])
    oldest = await _history(api, pair, limit="10", before=middle["nextCursor"])

    assert [m["id"] for m in newest["messages"]] == sent[13:]
    assert newest["hasMore"] is True
    assert newest["nextCursor"] == sent[13]
    assert [m["id"] for m in middle["messages"]] == sent[3:13]
    assert [m["id"] for m in oldest["messages"]] == sent[:3]
    assert oldest["hasMore"] is False
    assert oldest["nextCursor"] is None
    everything = await _history(api, pair)
    assert [m["id"] for m in everything["messages"]] == sent
    assert everything["hasMore"] is False


async def test_after_cursor_returns_newer_messages_oldest_first(api: Api) -> None:
    pair = await api.pair()
    sent = [
        (await api.send(pair.mentor_token, pair.conversation_id, str(i))).body["id"]
        for i in range(7)
    ]

    newer = await _history(api, pair, after=sent[2], limit="3")
    rest = await _history(api, pair, after=newer["nextCursor"])
    none = await _history(api, pair, after=sent[-1])

    assert [m["id"] for m in newer["messages"]] == sent[3:6]
    assert newer["hasMore"] is True
    assert newer["nextCursor"] == sent[5]
    assert [m["id"] for m in rest["messages"]] == sent[6:]
    assert rest["hasMore"] is False
    assert none == {"messages": [], "hasMore": False, "nextCursor": None}


async def test_bad_cursors_and_limits_are_400(api: Api) -> None:
    pair = await api.pair()
    other = await api.pair()
    foreign = (await api.send(other.mentor_token, other.conversation_id, "elsewhere")).body["id"]
    path = f"/api/conversations/{pair.conversation_id}/messages"

    for params in (
        {"before": str(uuid.uuid4())},
        {"before": "garbage"},
        {"after": foreign},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "1.5"},
        {"before": foreign, "after": foreign},
    ):
        reply = await api.get(path, token=pair.mentor_token, params=params)
        assert reply.status == 400, params
        assert set(reply.body["error"]) == {"code", "message"}


async def test_mark_read_counts_what_it_newly_marked(api: Api) -> None:
    pair = await api.pair()
    for text in ("a", "b", "c"):
        await api.send(pair.mentor_token, pair.conversation_id, text)
    await api.send(pair.mentee_token, pair.conversation_id, "mine")
    path = f"/api/conversations/{pair.conversation_id}/read"

    first = await api.patch(path, token=pair.mentee_token)
    second = await api.patch(path, token=pair.mentee_token)
    mentor_side = await api.patch(path, token=pair.mentor_token)

    assert first.status == 200
    assert first.body == {
        "conversationId": pair.conversation_id,
        "readBy": pair.mentee_id,
        "count": 3,
    }
    assert second.body["count"] == 0
    assert mentor_side.body["count"] == 1
    listed = await api.get("/api/conversations", token=pair.mentee_token)
    assert listed.body[0]["unreadCount"] == 0
    await api.send(pair.mentor_token, pair.conversation_id, "d")
    listed = await api.get("/api/conversations", token=pair.mentee_token)
    assert listed.body[0]["unreadCount"] == 1


async def test_outsiders_can_neither_read_nor_write(api: Api) -> None:
    pair = await api.pair()
    await api.send(pair.mentor_token, pair.conversation_id, "private")
    outsider = api.server.token(await api.user("Outsider"))
    base = f"/api/conversations/{pair.conversation_id}"

    replies = [
        await api.get(f"{base}/messages", token=outsider),
        await api.post(f"{base}/messages", token=outsider, json={"content": "hi"}),
        await api.patch(f"{base}/read", token=outsider),
    ]

    assert [reply.status for reply in replies] == [404, 404, 404]
    history = await _history(api, pair)
    assert [m["content"] for m in history["messages"]] == ["private"]
    listed = await api.get("/api/conversations", token=pair.mentee_token)
    assert listed.body[0]["unreadCount"] == 1
