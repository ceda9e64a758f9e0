"""Cross-tenant matrix: C, a real user in a conversation of their own, tries every REST
endpoint and every socket event on the conversation of A and B, and on its session.

Each attempt is refused as the contract says (404 for the conversation, as for an id that
does not exist; 403 for the session and the admin API; an error ack on the socket); the
answer is byte-for-byte the one for an unknown id, so nothing is revealed; and nothing
changes: history, unread counts, read state, users, sessions, and what A and B receive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.api import Api, Pair, Reply
from tests.support.sockets import connected

SECRET_TEXT = "for A and B only"


@dataclass
class Tenants:
    ab: Pair  # A is the mentor, B the mentee
    c_token: str
    c_conversation: str
    messages: list[str]  # ids in ab, oldest first


async def _tenants(api: Api) -> Tenants:
    ab = await api.pair()
    messages = []
    for index, token in enumerate([ab.mentor_token, ab.mentee_token, ab.mentor_token]):
        reply = await api.send(
            token, ab.conversation_id, f"{SECRET_TEXT} {index}", clientMessageId=f"k{index}"
        )
        messages.append(reply.body["id"])
    ce = await api.pair()  # C is the mentor of a conversation of their own
    await api.send(ce.mentee_token, ce.conversation_id, "for C")
    return Tenants(ab, ce.mentor_token, ce.conversation_id, messages)


async def _snapshot(api: Api, tenants: Tenants) -> dict[str, Any]:
    """Everything A and B can see, and the admin view of their users and session."""
    ab = tenants.ab
    state: dict[str, Any] = {}
    for who, token in (("a", ab.mentor_token), ("b", ab.mentee_token)):
        state[f"{who}_list"] = (await api.get("/api/conversations", token=token)).body
        history = f"/api/conversations/{ab.conversation_id}/messages"
        state[f"{who}_history"] = (await api.get(history, token=token)).body
    admin = api.server.admin_token
    for user_id in (ab.mentor_id, ab.mentee_id):
        state[user_id] = (await api.get(f"/api/admin/users/{user_id}", token=admin)).body
    state["session"] = (await api.get(f"/api/admin/sessions/{ab.session_id}", token=admin)).body
    return state


def _conversation_attempts(t: Tenants, target: str) -> list[tuple[str, str, Any]]:
    """Every conversation endpoint, aimed at `target` (A↔B's id, or one that does not exist)."""
    base = f"/api/conversations/{target}"
    first, _, last = t.messages
    return [
        ("GET", base, None),
        ("GET", f"{base}/messages", None),
        ("GET", f"{base}/messages?limit=1&before={last}", None),
        ("GET", f"{base}/messages?after={first}", None),
        ("GET", f"{base}/messages?afterSeq=0", None),
        ("POST", f"{base}/messages", {"content": "let me in"}),
        ("POST", f"{base}/messages", {"content": "replay", "clientMessageId": "k0"}),
        ("PATCH", f"{base}/read", None),
    ]


async def test_c_cannot_reach_the_conversation_of_a_and_b(api: Api) -> None:
    t = await _tenants(api)
    before = await _snapshot(api, t)
    unknown = str(uuid.uuid4())

    foreign = _conversation_attempts(t, t.ab.conversation_id)
    for (method, path, body), (_, unknown_path, _) in zip(
        foreign, _conversation_attempts(t, unknown), strict=True
    ):
        reply = await api.request(method, path, token=t.c_token, json=body)
        baseline = await api.request(method, unknown_path, token=t.c_token, json=body)

        assert reply.status == 404, (method, path, reply.body)
        assert reply.body == baseline.body, (method, path)
        assert _revealed(reply, t) == []

    listed = await api.get("/api/conversations", token=t.c_token)
    assert [item["id"] for item in listed.body] == [t.c_conversation]
    assert await _snapshot(api, t) == before


async def test_a_and_b_cursors_name_nothing_in_c_conversation(api: Api) -> None:
    t = await _tenants(api)
    own = f"/api/conversations/{t.c_conversation}/messages"

    for cursor in ("before", "after"):
        foreign = await api.get(f"{own}?{cursor}={t.messages[1]}", token=t.c_token)
        unknown = await api.get(f"{own}?{cursor}={uuid.uuid4()}", token=t.c_token)

        assert foreign.status == unknown.status == 400
        assert foreign.body == unknown.body
        assert _revealed(foreign, t) == []


async def test_c_cannot_open_or_change_the_session_of_a_and_b(api: Api) -> None:
    t = await _tenants(api)
    unopened = await api.session(t.ab.mentor_id, t.ab.mentee_id)
    before = await _snapshot(api, t)
    by_session = "/api/conversations/by-session"

    for session_id in (t.ab.session_id, unopened):
        reply = await api.post(by_session, token=t.c_token, json={"sessionId": session_id})
        # The contract's one deliberate difference: a session C is not in is 403, not 404.
        assert reply.status == 403, reply.body
        assert _revealed(reply, t) == []
    missing = await api.post(by_session, token=t.c_token, json={"sessionId": str(uuid.uuid4())})
    assert missing.status == 404

    opened = await api.post(by_session, token=t.ab.mentor_token, json={"sessionId": unopened})
    assert opened.status == 201, "C's attempt must not have created the conversation"
    after = await _snapshot(api, t)
    after["a_list"] = [c for c in after["a_list"] if c["id"] != opened.body["id"]]
    after["b_list"] = [c for c in after["b_list"] if c["id"] != opened.body["id"]]
    assert after == before


@pytest.mark.parametrize(
    ("method", "kind"),
    [("GET", "users"), ("PUT", "users"), ("GET", "sessions"), ("PUT", "sessions")],
)
async def test_c_cannot_use_the_admin_api_on_a_and_b(api: Api, method: str, kind: str) -> None:
    t = await _tenants(api)
    before = await _snapshot(api, t)
    target = t.ab.mentor_id if kind == "users" else t.ab.session_id
    body = (
        {"fullName": "Mallory", "email": "m@example.com"}
        if kind == "users"
        else {
            "mentorId": t.ab.mentor_id,
            "menteeId": t.ab.mentee_id,
            "startAt": "2030-01-01T00:00:00Z",
            "status": "cancelled",
        }
    )

    reply = await api.request(method, f"/api/admin/{kind}/{target}", token=t.c_token, json=body)
    baseline = await api.request(
        method, f"/api/admin/{kind}/{uuid.uuid4()}", token=t.c_token, json=body
    )

    assert reply.status == 403 and reply.body["error"]["code"] == "admin_required"
    assert reply.body == baseline.body
    assert await _snapshot(api, t) == before


SOCKET_ATTEMPTS = [
    ("join_conversation", {}),
    ("typing", {"isTyping": True}),
    ("typing", {"isTyping": False}),
    ("mark_read", {}),
]


async def test_c_socket_events_on_a_and_b_are_refused_and_change_nothing(api: Api) -> None:
    t = await _tenants(api)
    before = await _snapshot(api, t)
    url = api.server.url

    async with (
        connected(url, t.ab.mentor_token) as a,
        connected(url, t.ab.mentee_token) as b,
        connected(url, t.c_token) as c,
    ):
        for event, extra in SOCKET_ATTEMPTS:
            foreign = await c.call(event, {"conversationId": t.ab.conversation_id, **extra})
            unknown = await c.call(event, {"conversationId": str(uuid.uuid4()), **extra})
            assert foreign["ok"] is False, (event, foreign)
            assert foreign == unknown, event
        # Leaving is always fine, and leaves A's and B's rooms alone.
        assert await c.call("leave_conversation", {"conversationId": t.ab.conversation_id}) == {
            "ok": True
        }

        sent = await api.send(t.ab.mentor_token, t.ab.conversation_id, "still private")
        assert (await b.next("new_message"))["message"] == sent.body
        assert (await a.next("new_message"))["message"] == sent.body
        for socket in (a, b, c):
            await socket.barrier()

        assert b.pending("user_typing") == [] and a.pending("user_typing") == []
        assert a.pending("messages_read") == [] and b.pending("messages_read") == []
        for event in ("new_message", "user_typing", "messages_read"):
            assert c.pending(event) == [], event

    after = await _snapshot(api, t)
    # The one message A sent on purpose is the only change.
    assert after["b_history"]["messages"][:-1] == before["b_history"]["messages"]
    assert [c["unreadCount"] for c in after["b_list"]] == [
        c["unreadCount"] + 1 for c in before["b_list"]
    ]
    assert [c["unreadCount"] for c in after["a_list"]] == [
        c["unreadCount"] for c in before["a_list"]
    ]


async def test_c_cannot_sync_the_conversation_of_a_and_b(api: Api) -> None:
    t = await _tenants(api)

    async with connected(api.server.url, t.c_token) as c:
        foreign = await c.call("sync", {t.ab.conversation_id: 0})
        unknown = await c.call("sync", {str(uuid.uuid4()): 0})
        # Hidden among C's own conversation, it still refuses the whole request.
        mixed = await c.call("sync", {t.c_conversation: 0, t.ab.conversation_id: 0})

    assert foreign["ok"] is False and foreign == unknown
    assert mixed == foreign
    for answer in (foreign, mixed):
        assert SECRET_TEXT not in repr(answer)
        assert not any(message_id in repr(answer) for message_id in t.messages)


def _revealed(reply: Reply, t: Tenants) -> list[str]:
    """Anything of A↔B's that shows up in an answer to C."""
    text = repr(reply.body) + repr(reply.headers)
    secrets = [SECRET_TEXT, t.ab.mentor_id, t.ab.mentee_id, t.ab.conversation_id, *t.messages]
    return [secret for secret in secrets if secret in text]
