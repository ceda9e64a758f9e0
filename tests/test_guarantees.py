"""Resume without gaps, token lifetime on live sockets, typing that cannot get stuck, limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.server import running_server
from tests.support.sockets import connected, refused

Custom = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def custom_api(database_url: str, tmp_path: Path) -> Custom:
    """An Api on a server built with extra settings."""

    @asynccontextmanager
    async def build(**overrides: Any) -> AsyncIterator[Api]:
        settings = make_settings(database_url, tmp_path, **overrides)
        async with running_server(settings) as server, Api(server) as api:
            yield api

    return build


async def test_sync_returns_what_was_missed_and_read_state(api: Api) -> None:
    pair = await api.pair()
    sent = [
        (await api.send(pair.mentor_token, pair.conversation_id, f"m{i}")).body for i in range(5)
    ]
    await api.patch(f"/api/conversations/{pair.conversation_id}/read", token=pair.mentee_token)
    await api.send(pair.mentor_token, pair.conversation_id, "after reading")

    async with connected(api.server.url, pair.mentee_token) as mentee:
        answer = await mentee.call("sync", {pair.conversation_id: 3})
        bad = await mentee.call("sync", {pair.conversation_id: -1})
        foreign = await mentee.call("sync", {"00000000-0000-0000-0000-000000000001": 0})

    state = answer["conversations"][pair.conversation_id]
    assert answer["ok"] is True
    assert [m["seq"] for m in state["messages"]] == [4, 5, 6]
    assert state["messages"][0] == sent[3]
    assert state["hasMore"] is False
    assert state["lastSeq"] == 6
    assert state["unreadCount"] == 1
    assert state["readSeq"] == 5
    assert state["otherReadSeq"] == 0
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
    assert foreign["ok"] is False and foreign["error"]["code"] == "conversation_not_found"


async def test_rest_after_seq_resumes_from_a_sequence_number(api: Api) -> None:
    pair = await api.pair()
    ids = [
        (await api.send(pair.mentor_token, pair.conversation_id, str(i))).body["id"]
        for i in range(6)
    ]

    page = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages",
        token=pair.mentee_token,
        params={"afterSeq": "2", "limit": "3"},
    )

    assert [m["id"] for m in page.body["messages"]] == ids[2:5]
    assert page.body["hasMore"] is True
    assert page.body["nextCursor"] == ids[4]


async def test_reauth_swaps_in_a_fresh_token_without_reconnecting(api: Api) -> None:
    user = await api.user("Long Session")
    other = await api.user("Someone Else")

    async with connected(api.server.url, api.server.token(user, ttl=2)) as socket:
        renewed = await socket.call("reauth", {"token": api.server.token(user, ttl=120)})
        wrong_user = await socket.call("reauth", {"token": api.server.token(other)})
        expired = await socket.call("reauth", {"token": api.server.token(user, ttl=-1)})
        with pytest.raises(asyncio.TimeoutError):
            await socket.next("token_expired", timeout=3.5)  # past the first token's expiry
        assert socket.client.connected

    assert renewed["ok"] is True and renewed["expiresAt"].endswith("Z")
    assert wrong_user["error"]["code"] == "user_mismatch"
    assert expired["error"]["code"] == "token_expired"


async def test_jwt_leeway_applies_at_connect_on_rest_and_to_the_socket_expiry(
    custom_api: Custom,
) -> None:
    from chatkit.tokens import mint

    async with custom_api(jwt_leeway=8) as api:
        user = await api.user("Skewed Clock")
        # Expired 5 s ago by this server's clock: within the 8 s leeway for 3 s more.
        token = mint(api.server.settings, user_id=user, ttl_seconds=5, now=time.time() - 10)
        rest = await api.get("/api/conversations", token=token)
        async with connected(api.server.url, token) as socket:
            with pytest.raises(asyncio.TimeoutError):
                await socket.next("token_expired", timeout=1.5)  # exp has passed, leeway not
            cut = await socket.next("token_expired", timeout=10)
            await asyncio.wait_for(socket.disconnected.wait(), 5)
    async with custom_api(jwt_leeway=0) as strict:
        user = await strict.user("Skewed Clock")
        token = mint(strict.server.settings, user_id=user, ttl_seconds=5, now=time.time() - 10)
        refused_rest = await strict.get("/api/conversations", token=token)
        refused_socket = await refused(strict.server.url, auth={"token": token})

    assert rest.status == 200
    assert cut["code"] == "token_expired"
    assert refused_rest.status == 401 and refused_rest.body["error"]["code"] == "token_expired"
    assert refused_socket["data"]["code"] == "token_expired"


async def test_revocation_cuts_live_sockets_and_refuses_old_tokens(api: Api) -> None:
    from chatkit.tokens import mint

    user = await api.user("Compromised")
    # Revocation works at the resolution of `iat` (seconds): this token is from earlier.
    old_token = mint(api.server.settings, user_id=user, now=time.time() - 5)
    admin = api.server.admin_token

    async with connected(api.server.url, old_token) as socket:
        reply = await api.post(f"/api/admin/users/{user}/revoke-tokens", token=admin)
        notice = await socket.next("token_revoked")
        await asyncio.wait_for(socket.disconnected.wait(), 5)

    assert reply.status == 200
    assert notice["code"] == "token_revoked"
    error = await refused(api.server.url, auth={"token": old_token})
    assert error["data"]["code"] == "token_revoked"
    rest = await api.get("/api/conversations", token=old_token)
    assert rest.status == 401 and rest.body["error"]["code"] == "token_revoked"
    # A token issued after the revocation works again.
    later = api.server.token(user)
    assert (await api.get("/api/conversations", token=later)).status == 200


async def test_deleting_a_user_cuts_their_sockets_and_tokens(api: Api) -> None:
    user = await api.user("Leaving")
    token = api.server.token(user)

    async with connected(api.server.url, token) as socket:
        deleted = await api.request(
            "DELETE", f"/api/admin/users/{user}", token=api.server.admin_token
        )
        await asyncio.wait_for(socket.disconnected.wait(), 5)

    assert deleted.status == 204
    assert (await api.get("/api/conversations", token=token)).body["error"]["code"] == (
        "unknown_user"
    )
    in_use = await api.pair()
    blocked = await api.request(
        "DELETE", f"/api/admin/users/{in_use.mentor_id}", token=api.server.admin_token
    )
    assert blocked.status == 409


async def test_typing_expires_clears_on_message_and_on_disconnect(custom_api: Custom) -> None:
    async with custom_api(typing_timeout=0.5) as api:
        pair = await api.pair()
        cid = pair.conversation_id
        async with connected(api.server.url, pair.mentee_token) as mentee:
            async with connected(api.server.url, pair.mentor_token) as mentor:
                await mentor.call("typing", {"conversationId": cid, "isTyping": True})
                assert (await mentee.next("user_typing"))["isTyping"] is True
                expired = await mentee.next("user_typing", timeout=3)  # nobody refreshed it

                await mentor.call("typing", {"conversationId": cid, "isTyping": True})
                assert (await mentee.next("user_typing"))["isTyping"] is True
                await api.send(pair.mentor_token, cid, "done typing")
                cleared_by_message = await mentee.next("user_typing")

                await mentor.call("typing", {"conversationId": cid, "isTyping": True})
                assert (await mentee.next("user_typing"))["isTyping"] is True
            cleared_by_disconnect = await mentee.next("user_typing")

    assert expired == {"conversationId": cid, "userId": pair.mentor_id, "isTyping": False}
    assert cleared_by_message["isTyping"] is False
    assert cleared_by_disconnect["isTyping"] is False


async def test_typing_stop_from_another_tab_is_relayed(custom_api: Custom) -> None:
    # A long timeout: only the relayed stop, not the expiry, can end the indicator in time.
    async with custom_api(typing_timeout=600) as api:
        pair = await api.pair()
        cid = pair.conversation_id
        async with (
            connected(api.server.url, pair.mentee_token) as mentee,
            connected(api.server.url, pair.mentor_token) as first_tab,
            connected(api.server.url, pair.mentor_token) as second_tab,
        ):
            await first_tab.call("typing", {"conversationId": cid, "isTyping": True})
            started = await mentee.next("user_typing")
            ack = await second_tab.call("typing", {"conversationId": cid, "isTyping": False})
            stopped = await mentee.next("user_typing")
            # A stop with no start anywhere is still relayed: this process cannot know.
            again = await second_tab.call("typing", {"conversationId": cid, "isTyping": False})
            stopped_again = await mentee.next("user_typing")
            await first_tab.barrier()

    assert started["isTyping"] is True
    assert ack == again == {"ok": True}
    stop = {"conversationId": cid, "userId": pair.mentor_id, "isTyping": False}
    assert stopped == stopped_again == stop
    assert first_tab.pending("user_typing") == [], "the typer's own tabs are skipped"


async def test_typing_per_keystroke_is_throttled(api: Api) -> None:
    pair = await api.pair()
    cid = pair.conversation_id

    async with (
        connected(api.server.url, pair.mentor_token) as mentor,
        connected(api.server.url, pair.mentee_token) as mentee,
    ):
        acks = [
            await mentor.call("typing", {"conversationId": cid, "isTyping": True})
            for _ in range(20)
        ]
        await mentor.call("typing", {"conversationId": cid, "isTyping": False})
        await mentee.next("user_typing")
        events = [True]
        while True:
            event = await mentee.next("user_typing")
            events.append(event["isTyping"])
            if not event["isTyping"]:
                break

    assert all(ack == {"ok": True} for ack in acks)
    assert 2 <= len(events) <= 6, events  # a short burst, then nothing until the stop
    assert events[-1] is False


async def test_message_rate_limit_answers_429_with_retry_after(custom_api: Custom) -> None:
    # Per minute: the bucket refills one message per 20 s, not during a slow test run.
    async with custom_api(message_rate="3/minute") as api:
        pair = await api.pair()
        replies = [await api.send(pair.mentor_token, pair.conversation_id, "x") for _ in range(4)]
        other = await api.send(pair.mentee_token, pair.conversation_id, "not limited")

    assert [reply.status for reply in replies] == [201, 201, 201, 429]
    limited = replies[-1]
    assert limited.body["error"]["code"] == "rate_limited"
    assert 19 <= int(limited.headers["Retry-After"]) <= 20, "until the next message is allowed"
    assert other.status == 201, "limits are per user"


async def test_socket_event_rate_and_socket_count_limits(custom_api: Custom) -> None:
    async with custom_api(event_rate="5/minute", max_sockets_per_user=2) as api:
        pair = await api.pair()
        url = api.server.url
        async with (
            connected(url, pair.mentee_token) as first,
            connected(url, pair.mentee_token),
        ):
            acks = [
                await first.call("leave_conversation", {"conversationId": pair.conversation_id})
                for _ in range(6)
            ]
            third = await refused(url, auth={"token": pair.mentee_token})

    assert [ack["ok"] for ack in acks] == [True] * 5 + [False]
    assert acks[-1]["error"]["code"] == "rate_limited"
    assert 11 <= acks[-1]["error"]["retryAfter"] <= 12, "one event per 12 s after the burst"
    assert third["message"] == "too_many_connections"
