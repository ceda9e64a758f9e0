"""The contract's REST sentences checked from outside: status codes, 400 versus 422, the error
shape, cursors, idempotency, admin upserts, health, and the Extensions present on main."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.support.api import Api, Pair
from tests.support.blackbox import INSTANT, UNKNOWN_ID, bad_tokens, error_code


async def test_rest_auth_is_bearer_only_and_401_with_the_error_shape(api: Api) -> None:
    pair = await api.pair()
    for kind, token in bad_tokens(api, pair.mentee_id).items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        reply = await api.get("/api/conversations", headers=headers)
        assert reply.status == 401, (kind, reply.body)
        assert error_code(reply.body) == kind
    reply = await api.get("/api/conversations", params={"token": pair.mentee_token})
    assert reply.status == 401, "REST takes the Authorization header only"


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "abc"},
        {"limit": "1.5"},
        {"limit": ""},
        {"offset": "-1"},
        {"offset": "x"},
    ],
)
async def test_conversation_list_bounds_are_400(api: Api, query: dict[str, str]) -> None:
    pair = await api.pair()
    reply = await api.get("/api/conversations", token=pair.mentee_token, params=query)
    assert reply.status == 400, reply.body
    error_code(reply.body)


async def test_messages_query_and_cursors(api: Api) -> None:
    """limit 1..100 else 400; unknown (or foreign) cursor 400; before/after strictly; oldest
    first; nextCursor the oldest returned when hasMore; ms-precision Z instants; seq 1..n."""
    pair = await api.pair()
    other = await api.pair()
    foreign = (await api.send(other.mentor_token, other.conversation_id, "elsewhere")).body["id"]
    sent = [
        (await api.send(pair.mentor_token, pair.conversation_id, f"m{i}")).body for i in range(5)
    ]
    path = f"/api/conversations/{pair.conversation_id}/messages"
    token = pair.mentee_token
    for params in (
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "x"},
        {"before": UNKNOWN_ID},
        {"after": UNKNOWN_ID},
        {"before": "not-an-id"},
        {"before": foreign},
    ):
        reply = await api.get(path, token=token, params=params)
        assert reply.status == 400, (params, reply.body)
        error_code(reply.body)

    page = (await api.get(path, token=token, params={"limit": "2"})).body
    assert [m["id"] for m in page["messages"]] == [sent[3]["id"], sent[4]["id"]]
    assert page["hasMore"] is True and page["nextCursor"] == sent[3]["id"]
    older = (await api.get(path, token=token, params={"limit": "2", "before": sent[3]["id"]})).body
    assert [m["id"] for m in older["messages"]] == [sent[1]["id"], sent[2]["id"]]
    rest = (await api.get(path, token=token, params={"before": sent[1]["id"]})).body
    assert [m["id"] for m in rest["messages"]] == [sent[0]["id"]]
    assert rest["hasMore"] is False and rest["nextCursor"] is None
    after = (await api.get(path, token=token, params={"after": sent[1]["id"]})).body
    assert [m["id"] for m in after["messages"]] == [m["id"] for m in sent[2:]]

    message = sent[0]
    assert set(message) >= {
        "id",
        "conversationId",
        "senderId",
        "content",
        "contentType",
        "attachments",
        "clientMessageId",
        "createdAt",
    }
    assert INSTANT.match(message["createdAt"]), message["createdAt"]
    assert [m["seq"] for m in sent] == [1, 2, 3, 4, 5]
    assert [m["id"] for m in sent] == sorted(m["id"] for m in sent)


async def test_send_400_for_malformed_422_for_invalid_values(api: Api) -> None:
    pair = await api.pair()
    path = f"/api/conversations/{pair.conversation_id}/messages"
    attachment = {
        "filename": "a.pdf",
        "mimeType": "application/pdf",
        "url": "https://x/a",
        "size": 5,
    }
    malformed: list[Any] = [
        [1],
        "text",
        {"content": 5},
        {"content": "a", "attachments": "x"},
        {"content": "a", "attachments": [{**attachment, "size": "5"}]},
        {"content": "a", "clientMessageId": 5},
    ]
    for body in malformed:
        reply = await api.post(path, token=pair.mentor_token, json=body)
        assert reply.status == 400, (body, reply.body)
        error_code(reply.body)
    for raw in (b"{nope", b"", b'{"content": "\\ud800"}'):
        reply = await api.post(
            path, token=pair.mentor_token, data=raw, headers={"Content-Type": "application/json"}
        )
        assert reply.status == 400, (raw, reply.body)
    invalid: list[dict[str, Any]] = [
        {"content": "   "},
        {"content": "x" * 4001},
        {"content": "a", "contentType": "video"},
        {"content": "a", "attachments": [{**attachment, "url": "ftp://x/a"}]},
        {"content": "a", "attachments": [{**attachment, "size": 100 * 1024 * 1024 + 1}]},
        {"content": "a", "attachments": [attachment] * 11},
        {"content": "a", "clientMessageId": "x" * 65},
    ]
    for body in invalid:
        reply = await api.post(path, token=pair.mentor_token, json=body)
        assert reply.status == 422, (body, reply.body)
        error_code(reply.body)
    history = (await api.get(path, token=pair.mentor_token)).body
    assert history["messages"] == [], "refused input changed nothing"

    ok = await api.send(pair.mentor_token, pair.conversation_id, "  " + "😀" * 4000 + "\n")
    assert ok.status == 201 and ok.body["content"] == "😀" * 4000
    files = await api.post(
        path, token=pair.mentor_token, json={"content": " ", "attachments": [attachment]}
    )
    assert files.status == 201 and files.body["content"] == ""
    assert files.body["contentType"] == "text"
    assert set(files.body["attachments"][0]) == {"id", "filename", "mimeType", "url", "size"}


async def test_client_message_id_is_per_sender(api: Api) -> None:
    pair = await api.pair()
    first = await api.send(pair.mentor_token, pair.conversation_id, "a", clientMessageId="k1")
    again = await api.send(pair.mentor_token, pair.conversation_id, "b", clientMessageId="k1")
    theirs = await api.send(pair.mentee_token, pair.conversation_id, "c", clientMessageId="k1")
    assert (first.status, again.status, theirs.status) == (201, 200, 201)
    assert again.body == first.body
    assert theirs.body["id"] != first.body["id"]


async def test_by_session_and_read_status_codes(api: Api) -> None:
    pair = await api.pair(open_conversation=False)
    outsider = await api.pair()
    by_session = "/api/conversations/by-session"
    created = await api.post(
        by_session, token=pair.mentee_token, json={"sessionId": pair.session_id}
    )
    existing = await api.post(
        by_session, token=pair.mentor_token, json={"sessionId": pair.session_id}
    )
    assert (created.status, existing.status) == (201, 200)
    assert existing.body["id"] == created.body["id"]
    unknown = await api.post(by_session, token=pair.mentee_token, json={"sessionId": UNKNOWN_ID})
    assert unknown.status == 404 and error_code(unknown.body)
    forbidden = await api.post(
        by_session, token=outsider.mentee_token, json={"sessionId": pair.session_id}
    )
    assert forbidden.status == 403 and error_code(forbidden.body)
    missing = await api.post(by_session, token=pair.mentee_token, json={})
    assert missing.status == 400 and error_code(missing.body)

    cid = created.body["id"]
    for path in (f"/api/conversations/{cid}", f"/api/conversations/{cid}/messages"):
        hidden = await api.get(path, token=outsider.mentee_token)
        assert hidden.status == 404 and error_code(hidden.body), path
    read = f"/api/conversations/{cid}/read"
    assert (await api.patch(read, token=outsider.mentee_token)).status == 404
    await api.send(pair.mentor_token, cid, "one")
    await api.send(pair.mentor_token, cid, "two")
    await api.send(pair.mentee_token, cid, "mine")
    listed = (await api.get("/api/conversations", token=pair.mentee_token)).body
    assert listed[0]["unreadCount"] == 2
    assert listed[0]["lastMessage"]["content"] == "mine"
    assert set(listed[0]["lastMessage"]) >= {"id", "content", "createdAt", "senderId"}
    first = await api.patch(read, token=pair.mentee_token)
    second = await api.patch(read, token=pair.mentee_token)
    assert first.body == {"conversationId": cid, "readBy": pair.mentee_id, "count": 2}
    assert second.body["count"] == 0


async def test_admin_upserts_and_422_rules(api: Api) -> None:
    admin = api.server.admin_token
    pair: Pair = await api.pair(open_conversation=False)
    user = str(uuid.uuid4())
    body = {"fullName": "New", "email": "new@example.com"}
    created = await api.put(f"/api/admin/users/{user}", token=admin, json=body)
    updated = await api.put(
        f"/api/admin/users/{user}", token=admin, json={**body, "fullName": "N2"}
    )
    assert (created.status, updated.status) == (201, 200)
    not_admin = await api.put(f"/api/admin/users/{user}", token=pair.mentor_token, json=body)
    assert not_admin.status == 403 and error_code(not_admin.body)
    bad_email = await api.put(f"/api/admin/users/{user}", token=admin, json={**body, "email": "x"})
    assert bad_email.status == 422

    path = f"/api/admin/sessions/{pair.session_id}"
    fields = {
        "mentorId": pair.mentor_id,
        "menteeId": pair.mentee_id,
        "startAt": "2024-01-15T10:00:00Z",
        "status": "completed",
    }
    assert (await api.put(path, token=admin, json=fields)).status == 200
    for change in (
        {"status": "done"},
        {"menteeId": pair.mentor_id},
        {"menteeId": str(uuid.uuid4())},
        {"startAt": "2024-02-30T10:00:00Z"},
        {"startAt": "tomorrow"},
    ):
        reply = await api.put(path, token=admin, json={**fields, **change})
        assert reply.status == 422, (change, reply.body)
        error_code(reply.body)


async def test_session_start_without_an_offset_is_not_an_instant(api: Api) -> None:
    """Contract: "`startAt` must be a real instant (otherwise 422)". A local date-time with no
    offset, or a bare date, names no instant; taking it as UTC would silently shift a
    platform's local times."""
    pair = await api.pair(open_conversation=False)
    fields = {"mentorId": pair.mentor_id, "menteeId": pair.mentee_id, "status": "scheduled"}
    for start_at in ("2024-01-15T10:00:00", "2024-01-15"):
        reply = await api.put(
            f"/api/admin/sessions/{uuid.uuid4()}",
            token=api.server.admin_token,
            json={**fields, "startAt": start_at},
        )
        assert reply.status == 422, (start_at, reply.body)
    reply = await api.put(
        f"/api/admin/sessions/{uuid.uuid4()}",
        token=api.server.admin_token,
        json={**fields, "startAt": "2024-01-15T12:00:00+02:00"},
    )
    assert reply.status == 201 and reply.body["startAt"] == "2024-01-15T10:00:00.000Z"


async def test_health_and_unknown_routes_answer_json(api: Api) -> None:
    health = await api.get("/healthz")
    assert (health.status, health.body) == (200, {"status": "ok"})
    ready = await api.get("/readyz")
    assert ready.status == 200
    pair = await api.pair()
    async with Api(api.server, check_contract=False) as raw:
        for method, path, status in (
            ("GET", "/", 404),
            ("GET", "/api/nope", 404),
            ("DELETE", "/api/conversations", 405),
        ):
            reply = await raw.request(method, path, token=pair.mentee_token)
            assert reply.status == status, (method, path)
            error_code(reply.body)


async def test_list_order_updated_at_and_body_limits(api: Api) -> None:
    """Newest `updatedAt` first; `updatedAt` = last message, else creation; `lastMessage` null
    when empty; `offset` pages; a body too large is 413 in the error shape."""
    older = await api.pair()
    newer = await api.pair()
    other = await api.pair(open_conversation=False)
    session = await api.session(older.mentor_id, other.mentee_id)
    opened = await api.post(
        "/api/conversations/by-session", token=older.mentor_token, json={"sessionId": session}
    )
    assert opened.body["lastMessage"] is None
    assert INSTANT.match(opened.body["updatedAt"])
    await api.send(newer.mentor_token, newer.conversation_id, "not this one")
    sent = (await api.send(older.mentee_token, older.conversation_id, "latest")).body
    listed = (await api.get("/api/conversations", token=older.mentor_token)).body
    assert [c["id"] for c in listed] == [older.conversation_id, opened.body["id"]]
    assert listed[0]["updatedAt"] == sent["createdAt"]
    last = listed[0]["lastMessage"]
    # Extensions may add fields (editedAt, deletedAt): the seed's four must hold.
    assert {key: last[key] for key in ("id", "content", "createdAt", "senderId")} == {
        "id": sent["id"],
        "content": "latest",
        "createdAt": sent["createdAt"],
        "senderId": older.mentee_id,
    }
    second = await api.get("/api/conversations", token=older.mentor_token, params={"offset": "1"})
    assert [c["id"] for c in second.body] == [opened.body["id"]]

    huge = await api.post(
        f"/api/conversations/{older.conversation_id}/messages",
        token=older.mentor_token,
        data=b'{"content": "' + b"a" * 3_000_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status == 413 and error_code(huge.body)


# --- Extensions -----------------------------------------------------------------------------


async def test_extension_edit_and_delete(api: Api) -> None:
    pair = await api.pair()
    message = (await api.send(pair.mentor_token, pair.conversation_id, "draft")).body
    path = f"/api/conversations/{pair.conversation_id}/messages/{message['id']}"
    edited = await api.patch(path, token=pair.mentor_token, json={"content": " final "})
    assert edited.status == 200 and edited.body["content"] == "final"
    assert INSTANT.match(edited.body["editedAt"])
    assert (await api.patch(path, token=pair.mentee_token, json={"content": "x"})).status == 403
    deleted = await api.request("DELETE", path, token=pair.mentor_token)
    assert deleted.status == 200
    assert (deleted.body["content"], deleted.body["attachments"]) == ("", [])
    again = await api.request("DELETE", path, token=pair.mentor_token)
    assert again.body == deleted.body
    assert (await api.patch(path, token=pair.mentor_token, json={"content": "y"})).status == 409


async def test_extension_presence_fields(api: Api) -> None:
    pair = await api.pair()
    conversation = (
        await api.get(f"/api/conversations/{pair.conversation_id}", token=pair.mentor_token)
    ).body
    for side in ("mentor", "mentee"):
        assert conversation[side]["online"] is False
        assert "lastSeenAt" in conversation[side]


async def test_a_default_server_takes_a_burst_of_120_concurrent_sends(api: Api) -> None:
    """Contract: "pagination never skips or repeats a message, even for messages created in the
    same millisecond": an outside tester can only check that by sending many at once."""
    pair = await api.pair()
    cid = pair.conversation_id
    replies = await asyncio.gather(
        *(
            api.send(token, cid, f"{side}{i}")
            for i in range(60)
            for side, token in (("a", pair.mentor_token), ("b", pair.mentee_token))
        )
    )
    assert [r.status for r in replies] == [201] * 120
    seen: list[str] = []
    params: dict[str, str] = {"limit": "50"}
    while True:
        page = (
            await api.get(
                f"/api/conversations/{cid}/messages", token=pair.mentee_token, params=params
            )
        ).body
        seen = [m["id"] for m in page["messages"]] + seen
        if not page["hasMore"]:
            break
        params = {"limit": "50", "before": page["nextCursor"]}
    assert sorted(seen) == seen and len(set(seen)) == 120
