"""The contract read sentence by sentence, as an outside tester would check it: only the wire
(the official socket.io-client under Node, over polling-then-upgrade and websocket only),
never chatkit's internals. REST is in test_contract_blackbox_rest.py."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import pytest

from chatkit.config import Settings
from tests.support.api import Api
from tests.support.blackbox import TRANSPORTS, bad_tokens, run_node, signed
from tests.support.node import NODE_DIR, node_ready
from tests.support.restartable import restartable_server

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
    seen = await run_node(
        "contract_probe.mjs",
        api,
        transport,
        {
            "mentorToken": pair.mentor_token,
            "menteeToken": pair.mentee_token,
            "strangerToken": stranger_pair.mentor_token,
            "conversationId": cid,
            "badTokens": bad_tokens(api, pair.mentee_id),
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
    seen = await run_node(
        "contract_lifecycle.mjs",
        api,
        transport,
        {
            "shortToken": signed(api, {"sub": mentee, "iat": now, "exp": now + 3}),
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


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_official_client_reconnects_by_itself_and_is_joined_again(
    settings: Settings, transport: str
) -> None:
    """Seed: "Reconnection: Socket.io handles reconnection automatically" and "Auto-join: on
    connection, user automatically joins all their conversation rooms" (after a restart too)."""
    node_ready()
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


async def test_a_sweep_of_100_acked_events_on_one_connection(api: Api) -> None:
    pair = await api.pair()
    seen = await run_node(
        "contract_sweep.mjs",
        api,
        "websocket",
        {"token": pair.mentee_token, "conversationId": pair.conversation_id},
    )
    codes = [ack.get("error", {}).get("code", "ok") for ack in seen["acks"]]
    assert codes == ["invalid_payload", "ok"] * 50
