"""The seed's own example client, with the official socket.io-client under Node, works unchanged."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.api import Api

NODE_DIR = Path(__file__).parent / "node"


def _node_ready() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed; this test needs Node.js and npm", pytrace=False)
    if not (NODE_DIR / "node_modules" / "socket.io-client").is_dir():
        pytest.fail(
            "socket.io-client is not installed: run `npm ci` in tests/node (.ci/run does)",
            pytrace=False,
        )


async def test_seed_example_client_works_unchanged(api: Api) -> None:
    _node_ready()
    pair = await api.pair()
    env = dict(
        os.environ,
        CHATKIT_URL=api.server.url,
        MENTEE_TOKEN=pair.mentee_token,
        MENTOR_TOKEN=pair.mentor_token,
        CONVERSATION_ID=pair.conversation_id,
    )

    process = await asyncio.create_subprocess_exec(
        "node",
        "seed_client.mjs",
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 0, (stdout.decode(), stderr.decode())
    seen = json.loads(stdout)
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
