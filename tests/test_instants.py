"""Regressions found by fuzzing the REST API (tests/test_fuzz_rest.py): instants at the edges
of the calendar."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from chatkit.timefmt import iso, parse_instant
from tests.support.api import Api


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
        (datetime(999, 6, 7, 2, 51, 6, 630_000, tzinfo=UTC), "0999-06-07T02:51:06.630Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "9999-12-31T23:59:59.999Z"),
    ],
)
def test_years_before_1000_keep_four_digits(instant: datetime, text: str) -> None:
    assert iso(instant) == text


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_instant_outside_the_calendar_in_utc_is_not_an_instant(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


async def test_session_start_at_the_edges_of_the_calendar(api: Api) -> None:
    mentor = await api.user("Mentor")
    mentee = await api.user("Mentee")
    fields = {"mentorId": mentor, "menteeId": mentee, "status": "scheduled"}

    async def put(start_at: str) -> tuple[int, object]:
        reply = await api.put(
            f"/api/admin/sessions/{uuid.uuid4()}",
            token=api.server.admin_token,
            json={**fields, "startAt": start_at},
        )
        return reply.status, reply.body

    # Shifting these to UTC leaves the calendar: a value error (422), not a server error.
    assert (await put("0001-01-01T00:00:00+01:00"))[0] == 422
    assert (await put("9999-12-31T23:59:59-01:00"))[0] == 422
    status, body = await put("0999-01-01T00:00:00Z")
    assert status == 201
    assert isinstance(body, dict) and body["startAt"] == "0999-01-01T00:00:00.000Z"
