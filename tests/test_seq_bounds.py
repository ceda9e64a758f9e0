"""Regressions found by probing the edges of `seq` (the column is a 32-bit integer): a
resume point beyond it is refused as bad input, never a server error."""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.support.sockets import connected

LARGEST_SEQ = 2**31 - 1


async def test_rest_after_seq_at_and_beyond_the_largest_seq(api: Api) -> None:
    pair = await api.pair()
    path = f"/api/conversations/{pair.conversation_id}/messages"

    largest = await api.get(path, token=pair.mentor_token, params={"afterSeq": str(LARGEST_SEQ)})
    beyond = await api.get(path, token=pair.mentor_token, params={"afterSeq": str(LARGEST_SEQ + 1)})

    assert largest.status == 200 and largest.body["messages"] == []
    assert beyond.status == 400 and beyond.body["error"]["code"] == "invalid_query"


@pytest.mark.parametrize("seq", [LARGEST_SEQ + 1, 2**63 - 1, 2**64 - 1])
async def test_sync_beyond_the_largest_seq_is_an_invalid_payload(api: Api, seq: int) -> None:
    pair = await api.pair()

    async with connected(api.server.url, pair.mentor_token) as socket:
        largest = await socket.call("sync", {pair.conversation_id: LARGEST_SEQ})
        beyond = await socket.call("sync", {pair.conversation_id: seq})

    assert largest["ok"] is True
    assert beyond["ok"] is False and beyond["error"]["code"] == "invalid_payload", beyond
