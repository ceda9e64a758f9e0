"""REST: conversations (list, get-or-create by session, get) against a real server."""

from __future__ import annotations

import asyncio
import re
import uuid

from tests.support.api import Api

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CONVERSATION_KEYS = {
    "id",
    "mentor",
    "mentee",
    "session",
    "lastMessage",
    "unreadCount",
    "updatedAt",
}


async def test_by_session_creates_then_returns_the_same_conversation(api: Api) -> None:
    mentor = await api.user("Ada Mentor", avatar="https://example.com/ada.png")
    mentee = await api.user("Linus Mentee")
    session_id = await api.session(mentor, mentee, status="completed")
    token = api.server.token(mentee)

    created = await api.post(
        "/api/conversations/by-session", token=token, json={"sessionId": session_id}
    )
    again = await api.post(
        "/api/conversations/by-session",
        token=api.server.token(mentor),
        json={"sessionId": session_id},
    )

    assert created.status == 201
    assert again.status == 200
    assert again.body["id"] == created.body["id"]
    body = created.body
    assert set(body) == CONVERSATION_KEYS
    assert body["mentor"] == {
        "id": mentor,
        "fullName": "Ada Mentor",
        "avatarUrl": "https://example.com/ada.png",
        "online": False,
        "lastSeenAt": None,
    }
    assert body["mentee"] == {
        "id": mentee,
        "fullName": "Linus Mentee",
        "avatarUrl": None,
        "online": False,
        "lastSeenAt": None,
    }
    assert body["session"] == {
        "id": session_id,
        "startAt": "2024-01-15T10:00:00.000Z",
        "status": "completed",
    }
    assert body["lastMessage"] is None
    assert body["unreadCount"] == 0
    assert ISO_MS.match(body["updatedAt"])
    uuid.UUID(body["id"])


async def test_by_session_refuses_unknown_sessions_and_outsiders(api: Api) -> None:
    pair = await api.pair(open_conversation=False)
    outsider = await api.user("Outsider")

    unknown = await api.post(
        "/api/conversations/by-session",
        token=pair.mentor_token,
        json={"sessionId": str(uuid.uuid4())},
    )
    not_a_uuid = await api.post(
        "/api/conversations/by-session", token=pair.mentor_token, json={"sessionId": "nope"}
    )
    forbidden = await api.post(
        "/api/conversations/by-session",
        token=api.server.token(outsider),
        json={"sessionId": pair.session_id},
    )

    assert unknown.status == 404
    assert not_a_uuid.status == 404
    assert forbidden.status == 403
    assert forbidden.body["error"]["code"] == "not_a_participant"
    listed = await api.get("/api/conversations", token=pair.mentor_token)
    assert listed.body == []


async def test_concurrent_by_session_calls_create_one_conversation(api: Api) -> None:
    pair = await api.pair(open_conversation=False)
    calls = [
        api.post(
            "/api/conversations/by-session",
            token=pair.mentor_token if i % 2 else pair.mentee_token,
            json={"sessionId": pair.session_id},
        )
        for i in range(12)
    ]

    replies = await asyncio.gather(*calls)

    assert sorted(reply.status for reply in replies) == [200] * 11 + [201]
    assert len({reply.body["id"] for reply in replies}) == 1


async def test_list_shows_last_message_unread_count_and_newest_first(api: Api) -> None:
    first = await api.pair()
    second = await api.pair()
    # The mentee of `first` is also mentee of a second session with another mentor.
    other_mentor = await api.user("Other Mentor")
    session = await api.session(other_mentor, first.mentee_id)
    third = await api.post(
        "/api/conversations/by-session", token=first.mentee_token, json={"sessionId": session}
    )
    third_id = third.body["id"]

    await api.send(first.mentor_token, first.conversation_id, "one")
    await api.send(first.mentor_token, first.conversation_id, "two")
    await api.send(first.mentee_token, first.conversation_id, "my own reply")
    await api.send(api.server.token(other_mentor), third_id, "hello from the other mentor")

    listed = await api.get("/api/conversations", token=first.mentee_token)

    assert listed.status == 200
    assert [item["id"] for item in listed.body] == [third_id, first.conversation_id]
    newest, older = listed.body
    assert newest["unreadCount"] == 1
    assert newest["lastMessage"]["content"] == "hello from the other mentor"
    assert newest["lastMessage"]["senderId"] == other_mentor
    assert set(newest["lastMessage"]) == {
        "id",
        "content",
        "createdAt",
        "senderId",
        "editedAt",
        "deletedAt",
    }
    assert older["unreadCount"] == 2, "own messages are never unread"
    assert older["lastMessage"]["content"] == "my own reply"
    assert older["updatedAt"] == older["lastMessage"]["createdAt"]
    # The mentor of `second` sees only their own conversation.
    theirs = await api.get("/api/conversations", token=second.mentor_token)
    assert [item["id"] for item in theirs.body] == [second.conversation_id]


async def test_list_pagination_and_limits(api: Api) -> None:
    mentee = await api.user("Busy Mentee")
    ids = []
    for index in range(5):
        mentor = await api.user(f"Mentor {index}")
        session = await api.session(mentor, mentee)
        reply = await api.post(
            "/api/conversations/by-session",
            token=api.server.token(mentee),
            json={"sessionId": session},
        )
        ids.append(reply.body["id"])
    token = api.server.token(mentee)

    page1 = await api.get("/api/conversations", token=token, params={"limit": "2"})
    page2 = await api.get("/api/conversations", token=token, params={"limit": "2", "offset": "2"})
    page3 = await api.get("/api/conversations", token=token, params={"limit": "2", "offset": "4"})

    seen = [item["id"] for item in page1.body + page2.body + page3.body]
    assert seen == list(reversed(ids))
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"offset": "-1"}):
        reply = await api.get("/api/conversations", token=token, params=bad)
        assert reply.status == 400, bad
        assert reply.body["error"]["code"] == "invalid_query"


async def test_get_conversation_is_404_for_outsiders_and_unknown_ids(api: Api) -> None:
    pair = await api.pair()
    outsider = api.server.token(await api.user("Outsider"))

    mine = await api.get(f"/api/conversations/{pair.conversation_id}", token=pair.mentee_token)
    theirs = await api.get(f"/api/conversations/{pair.conversation_id}", token=outsider)
    unknown = await api.get(f"/api/conversations/{uuid.uuid4()}", token=pair.mentee_token)
    garbage = await api.get("/api/conversations/not-an-id", token=pair.mentee_token)

    assert mine.status == 200
    assert mine.body["id"] == pair.conversation_id
    assert set(mine.body) == CONVERSATION_KEYS
    assert theirs.status == unknown.status == garbage.status == 404
    assert theirs.body == unknown.body, "an outsider cannot tell a real id from a made-up one"
