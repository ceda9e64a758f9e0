"""`chatkit listen` and `chatkit typing` as processes of their own against a real server:
`listen` receives what `send` sends from another process, survives a server restart without
losing a message, filters, stops on Ctrl-C / SIGTERM, and ends on a refused token."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from chatkit.config import Settings
from tests.support.api import Api
from tests.support.commands import clean_environment, run, running
from tests.support.processes import serving
from tests.support.restartable import restartable_server
from tests.support.server import Endpoint, RunningServer, running_server
from tests.support.sockets import connected

# Tests of the client alone: one database backend is enough.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_listen_prints_what_send_sends_from_another_process(
    tmp_path: Path, database_url: str
) -> None:
    """Three processes: `chatkit serve`, `chatkit listen`, `chatkit send` (and `read`)."""
    secret = "cli-test-secret-0123456789abcdef"
    server_env = clean_environment(
        CHATKIT_DATABASE_URL=database_url, CHATKIT_JWT_SECRET=secret, CHATKIT_NOTIFY_DELAY="3600"
    )
    with serving(tmp_path, server_env) as serve:
        endpoint = Endpoint(Settings(jwt_secret=secret, database_url=database_url), serve.url)
        async with Api(endpoint) as api:
            pair = await api.pair()
        mentee = clean_environment(CHATKIT_URL=serve.url, CHATKIT_TOKEN=pair.mentee_token)
        mentor = clean_environment(CHATKIT_URL=serve.url, CHATKIT_TOKEN=pair.mentor_token)
        async with running(tmp_path, mentee, "listen", "--count", "2", "--timeout", "30") as listen:
            await listen.stderr_until("listening")
            status, out, _ = await run(
                tmp_path, mentor, "send", pair.conversation_id, "from another process", "--json"
            )
            assert status == 0
            read = await run(tmp_path, mentee, "read", pair.conversation_id)
            first, second = await listen.json_line(), await listen.json_line()
            code, rest, _ = await listen.finish()

    sent = json.loads(out)
    assert first == {
        "event": "new_message",
        "conversationId": pair.conversation_id,
        "message": sent,
        "catchUp": False,
    }
    assert sent["content"] == "from another process" and sent["senderId"] == pair.mentor_id
    assert read[:2] == (0, "1\n")
    assert second == {
        "event": "messages_read",
        "conversationId": pair.conversation_id,
        "readBy": pair.mentee_id,
        "count": 1,
    }
    assert (code, rest) == (0, "")


async def test_listen_survives_a_server_restart_without_losing_a_message(
    settings: Settings, tmp_path: Path
) -> None:
    """The server goes down; a message is stored meanwhile (by another server on the same
    database); after the restart `listen` prints it (catchUp) before what comes live."""
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            pair = await api.pair()
            c = pair.conversation_id
            env = clean_environment(CHATKIT_URL=server.url, CHATKIT_TOKEN=pair.mentee_token)
            async with running(tmp_path, env, "listen", "--events", "new_message") as listen:
                await listen.stderr_until("listening")
                before = (await api.send(pair.mentor_token, c, "before")).body
                got = [await listen.json_line()]

                await server.stop()
                await listen.stderr_until("reconnecting")
                async with running_server(settings) as other, Api(other) as elsewhere:
                    missed = (await elsewhere.send(pair.mentor_token, c, "while down")).body
                await server.start()
                await listen.stderr_until("reconnected; 1 missed message(s) caught up")
                after = (await api.send(pair.mentor_token, c, "after")).body
                got += [await listen.json_line(), await listen.json_line()]
                listen.process.send_signal(signal.SIGTERM)
                code, rest, _ = await listen.finish()

    assert [(line["message"], line["catchUp"]) for line in got] == [
        (before, False),
        (missed, True),
        (after, False),
    ]
    assert (code, rest) == (0, "")  # SIGTERM is the normal way to stop it, and nothing more


@sqlite_only
async def test_listen_filters_conversations_events_and_own_and_stops_on_ctrl_c(
    api: Api, server: RunningServer, tmp_path: Path
) -> None:
    pair = await api.pair()
    session = await api.session(pair.mentor_id, pair.mentee_id)  # a second conversation
    second = (
        await api.post(
            "/api/conversations/by-session", token=pair.mentee_token, json={"sessionId": session}
        )
    ).body["id"]
    env = clean_environment(CHATKIT_URL=server.url, CHATKIT_TOKEN=pair.mentor_token)
    args = ("--conversation", pair.conversation_id, "--events", "new_message", "--skip-own")
    async with running(tmp_path, env, "listen", *args) as listen:
        await listen.stderr_until("listening on")
        await api.send(pair.mentor_token, pair.conversation_id, "my own")
        await api.send(pair.mentee_token, second, "in the other conversation")
        async with connected(server.url, pair.mentee_token) as mentee:
            await mentee.call("typing", {"conversationId": pair.conversation_id, "isTyping": True})
        wanted = (await api.send(pair.mentee_token, pair.conversation_id, "for you")).body
        line = await listen.json_line()
        listen.process.send_signal(signal.SIGINT)  # Ctrl-C: the normal end, quietly
        code, rest, stderr = await listen.finish()
    assert line["message"] == wanted and (code, rest) == (0, "")
    assert len(stderr) == 1 and "(1 conversation)" in stderr[0]


@sqlite_only
async def test_typing_on_holds_until_off_and_stops_on_ctrl_c(
    api: Api, server: RunningServer, tmp_path: Path
) -> None:
    pair = await api.pair()
    env = clean_environment(CHATKIT_URL=server.url, CHATKIT_TOKEN=pair.mentor_token)
    c = pair.conversation_id
    async with connected(server.url, pair.mentee_token) as mentee:
        status, out, err = await run(tmp_path, env, "typing", c, "on", "--for", "0.3")
        timed = [await mentee.next("user_typing"), await mentee.next("user_typing")]
        async with running(tmp_path, env, "typing", c, "on", "--for", "0") as holding:
            started = await mentee.next("user_typing", timeout=20)
            off = await run(tmp_path, env, "typing", c, "off")
            stopped = await mentee.next("user_typing")
            holding.process.send_signal(signal.SIGINT)  # Ctrl-C
            code, _, noise = await holding.finish()

    expected = {"conversationId": c, "userId": pair.mentor_id}
    assert (status, out, err) == (0, "", "")
    assert timed == [{**expected, "isTyping": True}, {**expected, "isTyping": False}]
    assert started == {**expected, "isTyping": True}
    assert off[0] == 0 and stopped == {**expected, "isTyping": False}
    assert (code, noise) == (0, [])


@sqlite_only
async def test_listen_ends_when_the_server_refuses_its_expired_token(
    api: Api, server: RunningServer, tmp_path: Path
) -> None:
    pair = await api.pair()
    env = clean_environment(
        CHATKIT_URL=server.url, CHATKIT_TOKEN=server.token(pair.mentee_id, ttl=4)
    )
    async with running(tmp_path, env, "listen") as listen:
        await listen.stderr_until("listening")
        code, out, errors = await listen.finish()
    assert (code, out) == (1, "")
    assert errors[-1] == (
        "error: the server refused the socket connection: unauthorized (the token has expired)"
    )
