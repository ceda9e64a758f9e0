"""The contract read sentence by sentence, as an outside tester would check it: only the wire
(REST over HTTP, the official socket.io-client under Node over both transports), never
chatkit's internals. Each test names the contract sentence it holds the server to."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from chatkit.config import Settings
from tests.support.api import Api, Pair
from tests.support.restartable import restartable_server

NODE_DIR = Path(__file__).parent / "node"
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
TRANSPORTS = ["default", "websocket"]


def _node_ready() -> None:
    if (
        shutil.which("node") is None
        or not (NODE_DIR / "node_modules" / "socket.io-client").is_dir()
    ):
        pytest.fail("needs Node.js and `npm ci` in tests/node", pytrace=False)


async def _node(script: str, api: Api, transport: str, probe_input: dict[str, Any]) -> Any:
    _node_ready()
    env = dict(
        os.environ,
        CHATKIT_URL=api.server.url,
        TRANSPORT=transport,
        PROBE_INPUT=json.dumps(probe_input),
    )
    process = await asyncio.create_subprocess_exec(
        "node",
        script,
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, (stdout.decode()[-3000:], stderr.decode()[-3000:])
    return json.loads(stdout)


def _signed(api: Api, claims: dict[str, Any], key: str | None = None) -> str:
    configured = api.server.settings.jwt_secret
    assert configured is not None
    secret = key if key is not None else configured.get_secret_value()
    return jwt.encode(claims, secret, algorithm="HS256")


def _bad_tokens(api: Api, user_id: str) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "missing_token": None,
        "malformed_token": "abc.def",
        "token_expired": _signed(api, {"sub": user_id, "iat": now - 200, "exp": now - 100}),
        "invalid_signature": _signed(api, {"sub": user_id, "exp": now + 600}, key="x" * 32),
        "unknown_user": _signed(api, {"sub": str(uuid.uuid4()), "exp": now + 600}),
        "invalid_claims": _signed(api, {"sub": user_id}),
    }


def _error(body: Any) -> str:
    """The contract's error shape, exactly; returns the code."""
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["error"]["code"]), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return str(body["error"]["code"])


# --- Socket.IO ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_socket_events_acks_and_refusals(api: Api, transport: str) -> None:
    """Handshake: auth.token / Authorization / ?token=, each failure → connect_error
    "unauthorized" with a reason in data. Every client event acks {ok:true} or
    {ok:false,error:{code,message}}, malformed payloads included, and never kills the
    connection. user_typing skips the sender's own sockets; an isTyping:false is always
    relayed. new_message reaches all participants' sockets, the sender's other tabs too; a
    repeated clientMessageId pushes nothing. messages_read only when count > 0."""
    pair = await api.pair()
    stranger_pair = await api.pair()
    cid = pair.conversation_id
    seen = await _node(
        "contract_probe.mjs",
        api,
        transport,
        {
            "mentorToken": pair.mentor_token,
            "menteeToken": pair.mentee_token,
            "strangerToken": stranger_pair.mentor_token,
            "conversationId": cid,
            "badTokens": _bad_tokens(api, pair.mentee_id),
        },
    )

    for key, refusal in seen["refusals"].items():
        kind = key.split("@")[0]
        assert refusal["message"] == "unauthorized", (key, refusal)
        assert refusal["data"]["code"] == kind, (key, refusal)
        assert refusal["data"]["reason"], (key, refusal)
    assert len(seen["refusals"]) == 6 * 3
    assert seen["goodLocations"] == {
        loc: {"connected": True} for loc in ("auth", "header", "query")
    }

    acks = seen["acks"]
    for event in ("join_conversation", "leave_conversation", "mark_read", "typing"):
        assert acks[f"{event}:valid"] == {"ok": True}, event
        for malformed in ("string", "number", "null", "array", "missingId", "numericId", "nullId"):
            ack = acks[f"{event}:{malformed}"]
            assert ack["ok"] is False and set(ack["error"]) == {"code", "message"}, (event, ack)
        assert acks[f"{event}:noPayload"]["ok"] is False, event
        if event != "leave_conversation":
            for unknown in ("unknown", "notUuid", "emptyId"):
                assert acks[f"{event}:{unknown}"]["ok"] is False, (event, unknown)
    assert acks["typing:isTypingString"]["ok"] is False
    assert acks["typing:isTypingMissing"]["ok"] is False
    for event in ("join_conversation", "typing", "mark_read"):
        assert acks[f"{event}:stranger"]["ok"] is False, event
    assert acks["unknownEvent"]["ok"] is False
    assert seen["aliveAfterNoAck"] == {"ok": True}
    assert seen["carelessConnected"] is True

    typing = {"conversationId": cid, "userId": pair.mentor_id}
    assert seen["typingAck"] == {"ok": True}
    assert seen["typingAtMentee"] == {**typing, "isTyping": True}
    assert seen["stopAtMentee"] == {**typing, "isTyping": False}
    assert seen["stopAgainAtMentee"] == {**typing, "isTyping": False}

    posted = seen["post"]
    assert posted["status"] == 201
    for where in ("newMessageAtA", "newMessageAtB", "newMessageAtMentee"):
        assert seen[where] == {"conversationId": cid, "message": posted["body"]}, where
    assert seen["repeat"] == {"status": 200, "body": posted["body"]}
    assert seen["afterRepeatAtMentee"]["message"] == seen["barrierPost"]["body"]

    assert seen["markReadAck"] == {"ok": True}
    assert seen["messagesReadAtMentor"] == {
        "conversationId": cid,
        "readBy": pair.mentee_id,
        "count": 2,
    }
    assert seen["markReadAgainAck"] == {"ok": True}
    assert seen["patchAgain"]["body"]["count"] == 0
    assert seen["messagesReadBarrier"] == seen["patchOne"]["body"]
    assert seen["patchOne"]["body"]["count"] == 1

    assert seen["leaveAck"] == {"ok": True}
    assert seen["afterLeaveAtMentee"] is not None
    logs = seen["logs"]
    for tab in ("A", "B"):
        assert not [e for e in logs[tab] if e["event"] == "user_typing"], logs[tab]
        assert [e["payload"]["count"] for e in logs[tab] if e["event"] == "messages_read"] == [2, 1]
    # The left tab missed only the message sent after it left.
    assert len([e for e in logs["B"] if e["event"] == "new_message"]) == 3
    assert len([e for e in logs["A"] if e["event"] == "new_message"]) == 4
    assert logs["stranger"] == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_socket_lifecycle(api: Api, transport: str) -> None:
    """A token that expires while connected is cut at expiry; by-session creation joins both
    participants' connected sockets to the new room; 201 then 200."""
    mentor = await api.user("Mentor")
    mentee = await api.user("Mentee")
    session = await api.session(mentor, mentee)
    now = int(time.time())
    seen = await _node(
        "contract_lifecycle.mjs",
        api,
        transport,
        {
            "shortToken": _signed(api, {"sub": mentee, "iat": now, "exp": now + 3}),
            "mentorToken": api.server.token(mentor),
            "menteeToken": api.server.token(mentee),
            "sessionId": session,
        },
    )
    assert seen["createdStatus"] == 201
    assert seen["again"]["status"] == 200
    message = seen["post"]["body"]
    assert seen["newMessageAtMentee"] == {
        "conversationId": message["conversationId"],
        "message": message,
    }
    assert seen["newMessageAtMentor"] == seen["newMessageAtMentee"]
    assert seen["expiredDisconnect"] == "io server disconnect"
    assert seen["shortConnected"] is False


# --- REST -----------------------------------------------------------------------------------


async def test_rest_auth_is_bearer_only_and_401_with_the_error_shape(api: Api) -> None:
    pair = await api.pair()
    for kind, token in _bad_tokens(api, pair.mentee_id).items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        reply = await api.get("/api/conversations", headers=headers)
        assert reply.status == 401, (kind, reply.body)
        assert _error(reply.body) == kind
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
    _error(reply.body)


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
        _error(reply.body)

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
        _error(reply.body)
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
        _error(reply.body)
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
    assert unknown.status == 404 and _error(unknown.body)
    forbidden = await api.post(
        by_session, token=outsider.mentee_token, json={"sessionId": pair.session_id}
    )
    assert forbidden.status == 403 and _error(forbidden.body)
    missing = await api.post(by_session, token=pair.mentee_token, json={})
    assert missing.status == 400 and _error(missing.body)

    cid = created.body["id"]
    for path in (f"/api/conversations/{cid}", f"/api/conversations/{cid}/messages"):
        hidden = await api.get(path, token=outsider.mentee_token)
        assert hidden.status == 404 and _error(hidden.body), path
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
    assert not_admin.status == 403 and _error(not_admin.body)
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
        _error(reply.body)


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
            _error(reply.body)


# --- Extensions -----------------------------------------------------------------------------


@pytest.mark.xfail(strict=True, reason="edit/delete (issue 18, features) not merged into main yet")
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


@pytest.mark.xfail(strict=True, reason="presence (issue 18, features) not merged into main yet")
async def test_extension_presence_fields(api: Api) -> None:
    pair = await api.pair()
    conversation = (
        await api.get(f"/api/conversations/{pair.conversation_id}", token=pair.mentor_token)
    ).body
    for side in ("mentor", "mentee"):
        assert conversation[side]["online"] is False
        assert "lastSeenAt" in conversation[side]


@pytest.mark.xfail(
    strict=True,
    reason="default message_rate (30/second, burst 30; perf, issue 12) answers 429 to a test "
    "harness posting a burst; allowed by the contract's 429, but outside testers will trip it",
)
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
    assert huge.status == 413 and _error(huge.body)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_official_client_reconnects_by_itself_and_is_joined_again(
    settings: Settings, transport: str
) -> None:
    """Seed: "Reconnection: Socket.io handles reconnection automatically" and "Auto-join: on
    connection, user automatically joins all their conversation rooms" (after a restart too)."""
    _node_ready()
    async with restartable_server(settings) as server:
        running = server.running
        assert running is not None
        async with Api(running) as api:
            pair = await api.pair()
        process = await asyncio.create_subprocess_exec(
            "node",
            "contract_reconnect.mjs",
            cwd=NODE_DIR,
            env=dict(
                os.environ,
                CHATKIT_URL=server.url,
                TRANSPORT=transport,
                PROBE_INPUT=json.dumps({"token": pair.mentee_token}),
            ),
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None

        async def step() -> Any:
            assert process.stdout is not None
            return json.loads(await asyncio.wait_for(process.stdout.readline(), 30))

        try:
            assert (await step())["step"] == "connected"
            await server.stop()
            await server.start()
            assert (await step())["step"] == "reconnected"
            assert server.running is not None
            async with Api(server.running) as api:
                sent = await api.send(pair.mentor_token, pair.conversation_id, "after restart")
            seen = await step()
            assert seen == {
                "step": "message",
                "payload": {"conversationId": pair.conversation_id, "message": sent.body},
            }
            assert await asyncio.wait_for(process.wait(), 10) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


@pytest.mark.xfail(
    strict=True,
    reason="default event_rate (50/second per connection; perf, issue 12) answers rate_limited "
    "to a harness sweeping payloads on one connection; allowed, but outside testers will trip it",
)
async def test_a_sweep_of_100_acked_events_on_one_connection(api: Api) -> None:
    pair = await api.pair()
    seen = await _node(
        "contract_sweep.mjs",
        api,
        "websocket",
        {"token": pair.mentee_token, "conversationId": pair.conversation_id},
    )
    codes = [ack.get("error", {}).get("code", "ok") for ack in seen["acks"]]
    assert codes == ["invalid_payload", "ok"] * 50
