"""Every endpoint, walked with bad input: the contract's status and JSON error shape, and no
change to the data."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.api import Api, Pair, Reply

ERROR_KEYS = {"code", "message"}


def assert_error(reply: Reply, status: int) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert isinstance(reply.body, dict) and set(reply.body) == {"error"}, reply.body
    error = reply.body["error"]
    assert set(error) == ERROR_KEYS
    assert isinstance(error["code"], str) and error["code"].islower() and " " not in error["code"]
    assert isinstance(error["message"], str) and error["message"]


def _endpoints(pair: Pair) -> list[tuple[str, str]]:
    conversation = f"/api/conversations/{pair.conversation_id}"
    return [
        ("GET", "/api/conversations"),
        ("POST", "/api/conversations/by-session"),
        ("GET", conversation),
        ("GET", f"{conversation}/messages"),
        ("POST", f"{conversation}/messages"),
        ("PATCH", f"{conversation}/read"),
        ("GET", "/api/me/notifications"),
        ("PUT", "/api/me/notifications"),
    ]


async def test_every_endpoint_needs_a_valid_token(api: Api) -> None:
    pair = await api.pair()
    expired = api.server.token(pair.mentor_id, ttl=-5)
    for method, path in _endpoints(pair):
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": "Bearer not-a-token"},
            {"Authorization": f"Bearer {expired}"},
        ):
            reply = await api.request(method, path, json={}, headers=headers)
            assert_error(reply, 401)
    for method, path in (
        ("PUT", f"/api/admin/users/{uuid.uuid4()}"),
        ("PUT", f"/api/admin/sessions/{uuid.uuid4()}"),
    ):
        assert_error(await api.request(method, path, json={}), 401)


async def test_admin_api_needs_the_admin_role(api: Api) -> None:
    pair = await api.pair()
    body = {"fullName": "Mallory", "email": "m@example.com"}

    reply = await api.put(f"/api/admin/users/{uuid.uuid4()}", token=pair.mentor_token, json=body)

    assert_error(reply, 403)


BAD_BODIES: list[tuple[Any, int]] = [
    (b"", 400),
    (b"{not json", 400),
    (b"[1, 2]", 400),
    (b'"a string"', 400),
    (b"null", 400),
]


@pytest.mark.parametrize(("raw", "status"), BAD_BODIES)
async def test_malformed_json_bodies_are_400(api: Api, raw: bytes, status: int) -> None:
    pair = await api.pair()
    headers = {"Content-Type": "application/json"}
    for method, path in (
        ("POST", "/api/conversations/by-session"),
        ("POST", f"/api/conversations/{pair.conversation_id}/messages"),
    ):
        reply = await api.request(method, path, token=pair.mentor_token, data=raw, headers=headers)
        assert_error(reply, status)
    for path in (f"/api/admin/users/{uuid.uuid4()}", f"/api/admin/sessions/{uuid.uuid4()}"):
        reply = await api.request(
            "PUT", path, token=api.server.admin_token, data=raw, headers=headers
        )
        assert_error(reply, status)
    await _assert_untouched(api, pair)


SEND_CASES: list[tuple[dict[str, Any], int]] = [
    ({"content": 42}, 400),
    ({"content": None}, 400),
    ({"content": ["a"]}, 400),
    ({"content": ""}, 422),
    ({"content": "   \n\t "}, 422),
    ({"content": "x" * 4001}, 422),
    ({"content": "hi", "contentType": "video"}, 422),
    ({"content": "hi", "contentType": 1}, 400),
    ({"content": "hi", "attachments": "nope"}, 400),
    ({"content": "hi", "attachments": [{"filename": "a"}]}, 400),
    (
        {
            "content": "hi",
            "attachments": [
                {"filename": "a", "mimeType": "b", "url": "javascript:alert(1)", "size": 1}
            ],
        },
        422,
    ),
    (
        {
            "content": "hi",
            "attachments": [
                {"filename": "a", "mimeType": "b", "url": "https://x.example/a", "size": -1}
            ],
        },
        422,
    ),
    (
        {
            "content": "hi",
            "attachments": [
                {
                    "filename": "a",
                    "mimeType": "b",
                    "url": "https://x.example/a",
                    "size": 100 * 1024 * 1024 + 1,
                }
            ],
        },
        422,
    ),
    (
        {
            "content": "hi",
            "attachments": [
                {"filename": "a", "mimeType": "b", "url": "https://x.example/a", "size": "1"}
            ],
        },
        400,
    ),
    (
        {
            "content": "",
            "attachments": [
                {"filename": f"{i}", "mimeType": "b", "url": "https://x.example/a", "size": 1}
                for i in range(11)
            ],
        },
        422,
    ),
    ({"content": "hi", "clientMessageId": "x" * 65}, 422),
    ({"content": "hi", "clientMessageId": 7}, 400),
]


@pytest.mark.parametrize(("body", "status"), SEND_CASES)
async def test_invalid_messages_are_refused_and_nothing_is_stored(
    api: Api, body: dict[str, Any], status: int
) -> None:
    pair = await api.pair()

    reply = await api.post(
        f"/api/conversations/{pair.conversation_id}/messages", token=pair.mentor_token, json=body
    )

    assert_error(reply, status)
    await _assert_untouched(api, pair)


async def test_unpaired_surrogates_are_refused(api: Api) -> None:
    pair = await api.pair()
    raw = b'{"content": "broken \\ud800 text"}'

    reply = await api.request(
        "POST",
        f"/api/conversations/{pair.conversation_id}/messages",
        token=pair.mentor_token,
        data=raw,
        headers={"Content-Type": "application/json"},
    )

    assert 400 <= reply.status < 500
    assert_error(reply, reply.status)
    await _assert_untouched(api, pair)


async def test_content_limit_counts_code_points(api: Api) -> None:
    pair = await api.pair()
    path = f"/api/conversations/{pair.conversation_id}/messages"

    at_limit = await api.post(path, token=pair.mentor_token, json={"content": "😀" * 4000})
    over = await api.post(path, token=pair.mentor_token, json={"content": "😀" * 4001})

    assert at_limit.status == 201
    assert_error(over, 422)


async def test_body_too_large_is_413(api: Api) -> None:
    pair = await api.pair()
    huge = b'{"content": "' + b"x" * (api.server.settings.max_body_bytes + 10) + b'"}'

    reply = await api.request(
        "POST",
        f"/api/conversations/{pair.conversation_id}/messages",
        token=pair.mentor_token,
        data=huge,
        headers={"Content-Type": "application/json"},
    )

    assert_error(reply, 413)
    await _assert_untouched(api, pair)


ADMIN_USER_CASES: list[tuple[dict[str, Any], int]] = [
    ({}, 400),
    ({"fullName": "A"}, 400),
    ({"fullName": 1, "email": "a@b.c"}, 400),
    ({"fullName": "", "email": "a@b.c"}, 422),
    ({"fullName": "A", "email": "not-an-email"}, 422),
    ({"fullName": "A", "email": "a@b.c", "avatarUrl": "ftp://x"}, 422),
]


@pytest.mark.parametrize(("body", "status"), ADMIN_USER_CASES)
async def test_admin_user_validation(api: Api, body: dict[str, Any], status: int) -> None:
    user_id = str(uuid.uuid4())

    reply = await api.put(f"/api/admin/users/{user_id}", token=api.server.admin_token, json=body)

    assert_error(reply, status)
    missing = await api.get(f"/api/admin/users/{user_id}", token=api.server.admin_token)
    assert_error(missing, 404)


async def test_admin_session_validation(api: Api) -> None:
    mentor = await api.user("Mentor")
    mentee = await api.user("Mentee")
    good = {
        "mentorId": mentor,
        "menteeId": mentee,
        "startAt": "2024-01-15T10:00:00Z",
        "status": "scheduled",
    }
    cases: list[tuple[dict[str, Any], int]] = [
        ({}, 400),
        ({**good, "status": "done"}, 422),
        ({**good, "startAt": "yesterday"}, 422),
        ({**good, "startAt": "2024-02-30T10:00:00Z"}, 422),
        ({**good, "startAt": 1700000000}, 400),
        ({**good, "menteeId": mentor}, 422),
        ({**good, "mentorId": str(uuid.uuid4())}, 422),
        ({**good, "mentorId": "not-a-uuid"}, 422),
    ]
    for body, status in cases:
        session_id = str(uuid.uuid4())
        reply = await api.put(
            f"/api/admin/sessions/{session_id}", token=api.server.admin_token, json=body
        )
        assert_error(reply, status)
        missing = await api.get(f"/api/admin/sessions/{session_id}", token=api.server.admin_token)
        assert_error(missing, 404)
    created = await api.put(
        f"/api/admin/sessions/{uuid.uuid4()}", token=api.server.admin_token, json=good
    )
    assert created.status == 201
    assert_error(
        await api.put("/api/admin/sessions/not-a-uuid", token=api.server.admin_token, json=good),
        400,
    )


async def test_upserts_answer_201_then_200(api: Api) -> None:
    user_id = str(uuid.uuid4())
    path = f"/api/admin/users/{user_id}"
    token = api.server.admin_token

    first = await api.put(path, token=token, json={"fullName": "Ann", "email": "a@x.io"})
    second = await api.put(path, token=token, json={"fullName": "Ann B", "email": "a@x.io"})

    assert (first.status, second.status) == (201, 200)
    assert second.body["fullName"] == "Ann B"


async def test_session_participants_are_fixed_once_a_conversation_exists(api: Api) -> None:
    pair = await api.pair()
    newcomer = await api.user("Newcomer")
    path = f"/api/admin/sessions/{pair.session_id}"
    body = {"startAt": "2024-01-16T10:00:00Z", "status": "completed"}

    moved = await api.put(
        path,
        token=api.server.admin_token,
        json={"mentorId": newcomer, "menteeId": pair.mentee_id, **body},
    )
    status_only = await api.put(
        path,
        token=api.server.admin_token,
        json={"mentorId": pair.mentor_id, "menteeId": pair.mentee_id, **body},
    )

    assert_error(moved, 409)
    assert status_only.status == 200
    view = await api.get(f"/api/conversations/{pair.conversation_id}", token=pair.mentee_token)
    assert view.body["session"]["status"] == "completed"
    assert view.body["mentor"]["id"] == pair.mentor_id


async def test_unknown_routes_and_methods_answer_json(api: Api) -> None:
    pair = await api.pair()

    assert_error(await api.get("/api/nope", token=pair.mentor_token), 404)
    assert_error(await api.get("/no/such/page"), 404)
    assert_error(await api.request("DELETE", "/api/conversations", token=pair.mentor_token), 405)


async def _assert_untouched(api: Api, pair: Pair) -> None:
    history = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages", token=pair.mentee_token
    )
    assert history.body["messages"] == []
    listed = await api.get("/api/conversations", token=pair.mentee_token)
    assert [c["unreadCount"] for c in listed.body] == [0]


async def test_browsers_may_call_the_api_from_other_origins(api: Api) -> None:
    pair = await api.pair()
    origin = {"Origin": "https://app.example.com"}

    preflight = await api.request(
        "OPTIONS",
        "/api/conversations",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    actual = await api.get("/api/conversations", token=pair.mentor_token, headers=origin)

    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")
    assert "AUTHORIZATION" in preflight.headers["Access-Control-Allow-Headers"].upper()
    assert actual.status == 200
    assert actual.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")
