"""Editing and deleting messages (CONTRACT.md, Extensions): REST answers, events, who may
do what, repeats, hostile ids and races, against a real server and real sockets."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from chatkit.config import Settings
from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.server import running_server
from tests.support.sockets import connected
from tests.test_rest_conversations import ISO_MS


async def test_an_edit_answers_the_message_with_edited_at_and_is_pushed(api: Api) -> None:
    pair = await api.pair()
    sent = (await api.send(pair.mentor_token, pair.conversation_id, "helo")).body
    assert sent["editedAt"] is None and sent["deletedAt"] is None

    async with connected(api.server.url, pair.mentee_token) as mentee:
        reply = await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "  hello  ")
        event = await mentee.next("message_updated")

    assert reply.status == 200
    edited = reply.body
    assert edited["content"] == "hello", "trimmed, as when sending"
    assert ISO_MS.match(edited["editedAt"])
    assert edited["deletedAt"] is None
    assert {k: v for k, v in edited.items() if k not in ("content", "editedAt")} == {
        k: v for k, v in sent.items() if k not in ("content", "editedAt")
    }
    assert event == {"conversationId": pair.conversation_id, "message": edited}


async def test_the_same_content_again_changes_and_pushes_nothing(api: Api) -> None:
    pair = await api.pair()
    sent = (await api.send(pair.mentor_token, pair.conversation_id, "hello")).body
    first = await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "hello!")

    async with connected(api.server.url, pair.mentee_token) as mentee:
        again = await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], " hello! ")
        unchanged = await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "hello!")
        await api.send(pair.mentor_token, pair.conversation_id, "barrier")
        await mentee.next("new_message")

        assert mentee.pending("message_updated") == []
    assert again.status == unchanged.status == 200
    assert again.body == unchanged.body == first.body


async def test_delete_answers_the_tombstone_once_and_pushes_once(api: Api) -> None:
    pair = await api.pair()
    sent = (
        await api.send(
            pair.mentor_token,
            pair.conversation_id,
            "secret",
            attachments=[
                {
                    "filename": "a.pdf",
                    "mimeType": "application/pdf",
                    "url": "https://x.io/a",
                    "size": 1,
                }
            ],
        )
    ).body

    async with connected(api.server.url, pair.mentee_token) as mentee:
        reply = await api.remove(pair.mentor_token, pair.conversation_id, sent["id"])
        event = await mentee.next("message_deleted")
        again = await api.remove(pair.mentor_token, pair.conversation_id, sent["id"])
        await api.send(pair.mentor_token, pair.conversation_id, "barrier")
        await mentee.next("new_message")
        repeats = mentee.pending("message_deleted")

    assert reply.status == 200
    tombstone = reply.body
    assert tombstone["content"] == "" and tombstone["attachments"] == []
    assert ISO_MS.match(tombstone["deletedAt"])
    assert tombstone["id"] == sent["id"] and tombstone["seq"] == sent["seq"]
    assert event == {
        "conversationId": pair.conversation_id,
        "messageId": sent["id"],
        "deletedAt": tombstone["deletedAt"],
    }
    assert again.status == 200 and again.body == tombstone
    assert repeats == []


async def test_only_the_sender_edits_and_the_sender_or_an_admin_deletes(api: Api) -> None:
    pair = await api.pair()
    stranger = api.server.token(await api.user("Stranger"))
    sent = (await api.send(pair.mentor_token, pair.conversation_id, "mine")).body
    conversation, message = pair.conversation_id, sent["id"]

    assert (await api.edit(pair.mentee_token, conversation, message, "x")).status == 403
    assert (await api.remove(pair.mentee_token, conversation, message)).status == 403
    assert (await api.edit(stranger, conversation, message, "x")).status == 404
    assert (await api.remove(stranger, conversation, message)).status == 404
    assert (await api.edit(pair.mentor_token, conversation, message, "still mine")).status == 200

    by_admin = await api.remove(api.server.admin_token, conversation, message)

    assert by_admin.status == 200 and by_admin.body["deletedAt"] is not None
    unknown_conversation = await api.remove(api.server.admin_token, str(uuid.uuid4()), message)
    assert unknown_conversation.status == 404


async def test_hostile_ids_name_nothing(api: Api) -> None:
    pair = await api.pair()
    other = await api.pair()
    theirs = (await api.send(other.mentor_token, other.conversation_id, "elsewhere")).body
    mine = (await api.send(pair.mentor_token, pair.conversation_id, "here")).body

    # A message of another conversation, even one the caller could see there: 404.
    other_as_mine = await api.send(
        api.server.token(other.mentor_id), other.conversation_id, "also elsewhere"
    )
    for message_id in (theirs["id"], other_as_mine.body["id"], str(uuid.uuid4())):
        reply = await api.edit(pair.mentor_token, pair.conversation_id, message_id, "x")
        assert reply.status == 404 and reply.body["error"]["code"] == "message_not_found"
        reply = await api.remove(pair.mentor_token, pair.conversation_id, message_id)
        assert reply.status == 404
    for malformed in ("not-a-uuid", "1", "%00", mine["id"] + "0"):
        reply = await api.edit(pair.mentor_token, pair.conversation_id, malformed, "x")
        assert reply.status == 404, malformed
        assert (await api.remove(pair.mentor_token, pair.conversation_id, malformed)).status == 404

    history = await api.get(
        f"/api/conversations/{other.conversation_id}/messages", token=other.mentee_token
    )
    assert [m["content"] for m in history.body["messages"]] == ["elsewhere", "also elsewhere"]


async def test_edits_follow_the_sending_rules(api: Api) -> None:
    pair = await api.pair()
    sent = (await api.send(pair.mentor_token, pair.conversation_id, "hello")).body

    async def edit(content: object) -> int:
        reply = await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], content)
        return reply.status

    assert await edit("x" * 4001) == 422
    assert await edit("   ") == 422
    assert await edit(7) == 400
    assert await edit(None) == 400
    raw = await api.patch(
        f"/api/conversations/{pair.conversation_id}/messages/{sent['id']}",
        token=pair.mentor_token,
        data='{"content": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= raw.status < 500
    assert await edit("é" * 4000) == 200
    history = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages", token=pair.mentee_token
    )
    assert history.body["messages"][0]["content"] == "é" * 4000


async def test_a_tombstone_cannot_be_edited(api: Api) -> None:
    pair = await api.pair()
    sent = (await api.send(pair.mentor_token, pair.conversation_id, "hello")).body
    await api.remove(pair.mentor_token, pair.conversation_id, sent["id"])

    reply = await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "back")

    assert reply.status == 409
    assert reply.body["error"]["code"] == "message_deleted"


async def test_an_edit_racing_a_delete_ends_deleted_with_events_in_order(api: Api) -> None:
    pair = await api.pair()
    for round_ in range(5):
        sent = (await api.send(pair.mentor_token, pair.conversation_id, f"race {round_}")).body
        async with connected(api.server.url, pair.mentee_token) as mentee:
            edit, delete = await asyncio.gather(
                api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "edited"),
                api.remove(pair.mentor_token, pair.conversation_id, sent["id"]),
            )
            deleted = await mentee.next("message_deleted")
            await mentee.barrier()
            await api.send(pair.mentor_token, pair.conversation_id, "barrier")
            await mentee.next("new_message")
            updates = mentee.pending("message_updated")

        assert delete.status == 200 and deleted["messageId"] == sent["id"]
        if edit.status == 200:
            # The edit committed first: its event was received before the deletion's.
            assert len(updates) == 1 and updates[0]["message"]["editedAt"] <= deleted["deletedAt"]
        else:
            assert edit.status == 409 and updates == []
        page = await api.get(
            f"/api/conversations/{pair.conversation_id}/messages",
            token=pair.mentee_token,
            params={"limit": "2"},
        )
        assert page.body["messages"][0]["deletedAt"] is not None, "the final state is deleted"


async def test_two_concurrent_edits_last_commit_wins_both_pushed_in_order(api: Api) -> None:
    pair = await api.pair()
    sent = (await api.send(pair.mentor_token, pair.conversation_id, "v0")).body

    async with connected(api.server.url, pair.mentee_token) as mentee:
        first, second = await asyncio.gather(
            api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "v1"),
            api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "v2"),
        )
        events = [await mentee.next("message_updated") for _ in range(2)]

    assert first.status == second.status == 200
    assert {e["message"]["content"] for e in events} == {"v1", "v2"}
    history = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages", token=pair.mentee_token
    )
    assert history.body["messages"][0]["content"] == events[-1]["message"]["content"]
    assert events[0]["message"]["editedAt"] <= events[1]["message"]["editedAt"]


async def test_rate_limits_count_edits_and_deletes(database_url: str, tmp_path: Path) -> None:
    settings: Settings = make_settings(database_url, tmp_path, message_rate="3/minute")
    async with running_server(settings) as server, Api(server) as api:
        pair = await api.pair()
        sent = (await api.send(pair.mentor_token, pair.conversation_id, "one")).body
        assert (
            await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "two")
        ).status == 200
        assert (await api.remove(pair.mentor_token, pair.conversation_id, sent["id"])).status == 200

        limited = await api.edit(pair.mentor_token, pair.conversation_id, sent["id"], "three")

    assert limited.status == 429
    assert "Retry-After" in limited.headers
