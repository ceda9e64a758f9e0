"""After edits and deletions: history keeps tombstones in place, lists show the latest state,
deleted messages stop counting as unread, and a client that was away learns of every change
through `afterSeq` and `sync` without re-reading history."""

from __future__ import annotations

from tests.support.api import Api, Pair
from tests.support.sockets import connected


async def _send(api: Api, pair: Pair, *texts: str) -> list[dict]:
    return [(await api.send(pair.mentor_token, pair.conversation_id, text)).body for text in texts]


async def test_history_keeps_tombstones_in_place(api: Api) -> None:
    pair = await api.pair()
    one, two, three = await _send(api, pair, "one", "two", "three")
    await api.remove(pair.mentor_token, pair.conversation_id, two["id"])
    await api.edit(pair.mentor_token, pair.conversation_id, three["id"], "three!")

    history = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages", token=pair.mentee_token
    )
    older = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages",
        token=pair.mentee_token,
        params={"before": three["id"], "limit": "1"},
    )

    messages = history.body["messages"]
    assert [m["seq"] for m in messages] == [1, 2, 3]
    assert [m["content"] for m in messages] == ["one", "", "three!"]
    assert messages[1]["deletedAt"] is not None and messages[1]["id"] == two["id"]
    assert messages[2]["editedAt"] is not None and messages[0]["editedAt"] is None
    assert [m["id"] for m in older.body["messages"]] == [two["id"]]


async def test_last_message_shows_the_latest_state(api: Api) -> None:
    pair = await api.pair()
    (last,) = await _send(api, pair, "typo")
    path = f"/api/conversations/{pair.conversation_id}"

    await api.edit(pair.mentor_token, pair.conversation_id, last["id"], "fixed")
    edited = (await api.get(path, token=pair.mentee_token)).body["lastMessage"]
    await api.remove(pair.mentor_token, pair.conversation_id, last["id"])
    listed = (await api.get("/api/conversations", token=pair.mentee_token)).body

    assert edited["content"] == "fixed" and edited["editedAt"] is not None
    deleted = listed[0]["lastMessage"]
    assert deleted["id"] == last["id"]
    assert deleted["content"] == "" and deleted["deletedAt"] is not None


async def test_a_deleted_message_no_longer_counts_as_unread(api: Api) -> None:
    pair = await api.pair()
    first, second, third = await _send(api, pair, "a", "b", "c")
    path = f"/api/conversations/{pair.conversation_id}"
    assert (await api.get(path, token=pair.mentee_token)).body["unreadCount"] == 3

    await api.remove(pair.mentor_token, pair.conversation_id, second["id"])
    await api.remove(pair.mentor_token, pair.conversation_id, second["id"])  # a repeat
    after_delete = (await api.get(path, token=pair.mentee_token)).body["unreadCount"]
    read = await api.patch(f"{path}/read", token=pair.mentee_token)
    # Deleting a message that was already read changes nothing.
    await api.remove(pair.mentor_token, pair.conversation_id, first["id"])
    after_read = (await api.get(path, token=pair.mentee_token)).body["unreadCount"]

    assert after_delete == 2
    assert read.body["count"] == 2
    assert after_read == 0


async def test_after_seq_brings_the_changes_made_while_away(api: Api) -> None:
    pair = await api.pair()
    one, two, three = await _send(api, pair, "one", "two", "three")
    messages = f"/api/conversations/{pair.conversation_id}/messages"
    seen = await api.get(messages, token=pair.mentee_token, params={"afterSeq": "3"})
    assert seen.body["changes"] == [] and seen.body["messages"] == []
    cursor = seen.body["changeSeq"]

    await api.edit(pair.mentor_token, pair.conversation_id, one["id"], "one!")
    await api.remove(pair.mentor_token, pair.conversation_id, two["id"])
    (four,) = await _send(api, pair, "four")
    await api.edit(pair.mentor_token, pair.conversation_id, four["id"], "four!")
    back = await api.get(
        messages, token=pair.mentee_token, params={"afterSeq": "3", "changeSeq": str(cursor)}
    )
    again = await api.get(
        messages,
        token=pair.mentee_token,
        params={"afterSeq": "4", "changeSeq": str(back.body["changeSeq"])},
    )

    changes = back.body["changes"]
    assert [(m["id"], m["content"]) for m in changes] == [(one["id"], "one!"), (two["id"], "")]
    assert changes[1]["deletedAt"] is not None
    assert [m["content"] for m in back.body["messages"]] == ["four!"], "new ones come current"
    assert back.body["changesHasMore"] is False
    assert again.body["changes"] == [] and again.body["messages"] == []


async def test_changes_page_by_the_change_cursor(api: Api) -> None:
    pair = await api.pair()
    sent = await _send(api, pair, "a", "b", "c")
    for message in sent:
        await api.edit(
            pair.mentor_token, pair.conversation_id, message["id"], "x" + message["content"]
        )
    messages = f"/api/conversations/{pair.conversation_id}/messages"

    seen: list[str] = []
    cursor, more = 0, True
    while more:
        page = await api.get(
            messages,
            token=pair.mentee_token,
            params={"afterSeq": "3", "changeSeq": str(cursor), "limit": "2"},
        )
        seen += [m["content"] for m in page.body["changes"]]
        cursor, more = page.body["changeSeq"], page.body["changesHasMore"]

    assert seen == ["xa", "xb", "xc"]


async def test_sync_brings_the_changes_made_while_away(api: Api) -> None:
    pair = await api.pair()
    one, two = await _send(api, pair, "one", "two")
    url = api.server.url
    async with connected(url, pair.mentee_token) as mentee:
        first = await mentee.call("sync", {pair.conversation_id: 2})
    cursor = first["conversations"][pair.conversation_id]["changeSeq"]

    await api.edit(pair.mentor_token, pair.conversation_id, one["id"], "one!")
    await api.remove(pair.mentor_token, pair.conversation_id, two["id"])
    async with connected(url, pair.mentee_token) as mentee:
        resumed = await mentee.call(
            "sync", {pair.conversation_id: {"lastSeq": 2, "changeSeq": cursor}}
        )
        seed_style = await mentee.call("sync", {pair.conversation_id: 2})
        nothing_new = await mentee.call(
            "sync",
            {
                pair.conversation_id: {
                    "lastSeq": 2,
                    "changeSeq": resumed["conversations"][pair.conversation_id]["changeSeq"],
                }
            },
        )
        bad = await mentee.call("sync", {pair.conversation_id: {"lastSeq": "2"}})

    state = resumed["conversations"][pair.conversation_id]
    assert state["messages"] == []
    assert [(m["content"], m["deletedAt"] is not None) for m in state["changes"]] == [
        ("one!", False),
        ("", True),
    ]
    assert state["unreadCount"] == 1, "the deleted message is no longer unread"
    # Without a change cursor (the bare-number form) every change up to lastSeq comes back.
    assert seed_style["conversations"][pair.conversation_id]["changes"] == state["changes"]
    assert nothing_new["conversations"][pair.conversation_id]["changes"] == []
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
