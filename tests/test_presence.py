"""Presence in one process (no Redis): `online`/`lastSeenAt` on people, `presence` events to
those who share a conversation and nobody else, offline only after the grace period, no flap
on a reconnect. A short grace period keeps the tests quick; they wait on events, not time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.server import running_server
from tests.support.sockets import connected
from tests.test_rest_conversations import ISO_MS

GRACE = 1.5


@pytest.fixture
async def papi(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = make_settings(database_url, tmp_path, presence_grace=GRACE)
    async with running_server(settings) as server, Api(server) as api:
        yield api


async def test_people_carry_online_and_last_seen(papi: Api) -> None:
    pair = await papi.pair()
    path = f"/api/conversations/{pair.conversation_id}"
    before = (await papi.get(path, token=pair.mentee_token)).body["mentor"]

    async with connected(papi.server.url, pair.mentee_token) as mentee:
        async with connected(papi.server.url, pair.mentor_token):
            await mentee.next("presence")
            during = (await papi.get(path, token=pair.mentee_token)).body["mentor"]
            listed = (await papi.get("/api/conversations", token=pair.mentee_token)).body
        gone = await mentee.next("presence", timeout=GRACE + 5)
        after = (await papi.get(path, token=pair.mentee_token)).body["mentor"]

    assert (before["online"], before["lastSeenAt"]) == (False, None)
    assert during["online"] is True and listed[0]["mentor"]["online"] is True
    assert gone == {"userId": pair.mentor_id, "online": False, "lastSeenAt": gone["lastSeenAt"]}
    assert ISO_MS.match(gone["lastSeenAt"])
    assert (after["online"], after["lastSeenAt"]) == (False, gone["lastSeenAt"])


async def test_presence_goes_only_to_people_who_share_a_conversation(papi: Api) -> None:
    pair = await papi.pair()
    stranger = await papi.user("Stranger")
    url = papi.server.url

    async with (
        connected(url, pair.mentee_token) as mentee,
        connected(url, papi.server.token(stranger)) as outsider,
    ):
        async with connected(url, pair.mentor_token) as mentor, connected(url, pair.mentor_token):
            online = await mentee.next("presence")
            # A second socket of the same user is not news.
            await mentee.barrier()
        offline = await mentee.next("presence", timeout=GRACE + 5)
        # The outsider's events would have been queued before the mentee's last one.
        await outsider.barrier()
        told_outsider = outsider.pending("presence")
        told_mentor = mentor.pending("presence")
        again = mentee.pending("presence")

    assert online == {"userId": pair.mentor_id, "online": True, "lastSeenAt": None}
    assert offline["userId"] == pair.mentor_id and offline["online"] is False
    assert told_outsider == [] and again == []
    assert [event["userId"] for event in told_mentor] == [], "the mentee connected first"


async def test_a_reconnect_within_the_grace_period_does_not_flap(papi: Api) -> None:
    first = await papi.pair()
    # The observer (the mentee) shares a conversation with a second mentor too.
    other_mentor = await papi.user("Other Mentor")
    session = await papi.session(other_mentor, first.mentee_id)
    other_token = papi.server.token(other_mentor)
    await papi.post("/api/conversations/by-session", token=other_token, json={"sessionId": session})
    url = papi.server.url

    async with connected(url, first.mentee_token) as observer:
        async with connected(url, first.mentor_token):
            assert (await observer.next("presence"))["online"] is True
        async with connected(url, first.mentor_token):  # back at once, as after a blip
            async with connected(url, other_token):
                assert (await observer.next("presence"))["userId"] == other_mentor
            # The other mentor left after the blip; their offline comes a grace period later,
            # so a flap of the first mentor (due earlier) would have arrived before it.
            marker = await observer.next("presence", timeout=GRACE + 5)
            flaps = observer.pending("presence")

    assert marker == {"userId": other_mentor, "online": False, "lastSeenAt": marker["lastSeenAt"]}
    assert flaps == []
