"""The OpenAPI document: a valid OpenAPI 3.1 document, served without auth, describing every
route, and every status it lists for an operation is one a walk over the API really sees,
with a body that matches (the REST client checks each reply, tests/support/contract.py)."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from chatkit.config import signing_secret
from chatkit.server.http.openapi import document
from chatkit.server.notify.unsubscribe import UNSUBSCRIBE_PATH, unsubscribe_token
from chatkit.tokens import TokenVerifier
from tests.support.api import Api, Reply
from tests.support.contract import ContractViolation, contract
from tests.support.server import RunningServer

# Statuses another test proves, because they need a fault or a limit to happen.
RARE: dict[tuple[str, int], str] = {
    # The token was checked moments before another process deleted its user.
    ("getNotificationPrefs", 404): "a user deleted between the token check and the query",
    ("putNotificationPrefs", 404): "a user deleted between the token check and the query",
}
PROVEN_ELSEWHERE: dict[int, str] = {
    503: "tests/test_faults.py::test_database_outage_answers_503_then_recovers",
    429: "tests/test_guarantees.py::test_message_rate_limit_answers_429_with_retry_after",
}


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()

    validate(doc, cls=OpenAPIV31SpecValidator)

    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


async def test_it_is_served_without_auth(api: Api) -> None:
    reply = await api.get("/api/openapi.json")

    assert reply.status == 200
    assert reply.body == document()


async def test_every_route_is_described_and_every_description_is_a_route(
    server: RunningServer,
) -> None:
    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in server.app.router.routes()
        if route.resource is not None
        and route.method not in ("HEAD", "OPTIONS", "*")  # OPTIONS: CORS preflights
        and not route.resource.canonical.startswith("/socket.io")
    }
    described = {
        (method, template)
        for template, item in document()["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    }

    assert ("patch", "/api/conversations/{id}/read") in routes
    assert routes - described == set(), "routes the OpenAPI document does not describe"
    assert described - routes == set(), "described operations the server does not have"


def test_the_checker_refuses_what_the_document_does_not_allow() -> None:
    checker = contract()
    good_error = {"error": {"code": "not_found", "message": "no such conversation"}}
    path = f"/api/conversations/{uuid.uuid4()}"
    json = {"Content-Type": "application/json; charset=utf-8"}

    checker.check("GET", path, 404, good_error, json)
    cases: list[tuple[str, str, int, Any, dict[str, str]]] = [
        ("GET", path, 404, {"error": {"code": "Not Found", "message": "x"}}, json),
        ("GET", path, 404, {**good_error, "trace": "..."}, json),
        ("GET", path, 404, good_error, {"Content-Type": "text/html"}),
        ("GET", path, 409, good_error, json),  # a status the operation never answers
        ("GET", path, 200, {"id": "not-a-uuid"}, json),
        ("POST", f"{path}/messages", 429, good_error, json),  # no Retry-After
        ("DELETE", f"/api/admin/users/{uuid.uuid4()}", 204, {"deleted": True}, json),
        ("GET", "/api/nope", 200, {}, json),
        ("GET", "/api/nope", 404, "<html>", json),
        ("GET", "/api/nope", 404, good_error, {"Content-Type": "text/html"}),
    ]
    for method, where, status, body, headers in cases:
        with pytest.raises(ContractViolation):
            checker.check(method, where, status, body, headers)


class Walk:
    """Calls the API and records which (operationId, status) pairs were seen."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seen: set[tuple[str, int]] = set()

    async def expect(self, status: int, method: str, path: str, **kwargs: Any) -> Reply:
        reply = await self.api.request(method, path, **kwargs)  # contract-checked
        assert reply.status == status, (method, path, reply.status, reply.body)
        operation = contract().operation(method, path)
        assert operation is not None
        self.seen.add((operation.spec["operationId"], status))
        return reply


async def test_a_walk_sees_every_documented_status(api: Api, server: RunningServer) -> None:
    walk = Walk(api)
    pair = await api.pair()
    admin = server.admin_token
    stranger = server.token(await api.user("Stranger"))
    conversation = f"/api/conversations/{pair.conversation_id}"
    unknown = f"/api/conversations/{uuid.uuid4()}"
    huge = b'{"x": "' + b"x" * (server.settings.max_body_bytes + 1) + b'"}'
    raw_json = {"Content-Type": "application/json"}
    mentor = pair.mentor_token

    for path in ("/api/conversations", conversation, f"{conversation}/messages"):
        await walk.expect(401, "GET", path)
    await walk.expect(401, "POST", "/api/conversations/by-session", json={"sessionId": "x"})
    await walk.expect(401, "POST", f"{conversation}/messages", json={"content": "x"})
    await walk.expect(401, "PATCH", f"{conversation}/read")

    await walk.expect(200, "GET", "/api/conversations", token=mentor)
    await walk.expect(400, "GET", "/api/conversations?limit=0", token=mentor)

    session = await api.session(pair.mentor_id, pair.mentee_id)
    by_session = "/api/conversations/by-session"
    await walk.expect(201, "POST", by_session, token=mentor, json={"sessionId": session})
    await walk.expect(200, "POST", by_session, token=mentor, json={"sessionId": session})
    await walk.expect(400, "POST", by_session, token=mentor, json=["not", "an", "object"])
    await walk.expect(403, "POST", by_session, token=stranger, json={"sessionId": session})
    await walk.expect(404, "POST", by_session, token=mentor, json={"sessionId": str(uuid.uuid4())})
    await walk.expect(413, "POST", by_session, token=mentor, data=huge, headers=raw_json)
    await walk.expect(422, "POST", by_session, token=mentor, json={"sessionId": "x" * 201})

    await walk.expect(200, "GET", conversation, token=mentor)
    await walk.expect(404, "GET", unknown, token=mentor)
    await walk.expect(404, "GET", conversation, token=stranger)

    messages = f"{conversation}/messages"
    first = await walk.expect(201, "POST", messages, token=mentor, json={"content": "hello"})
    retry = {"content": "again", "clientMessageId": "tab-1:1"}
    await walk.expect(201, "POST", messages, token=mentor, json=retry)
    await walk.expect(200, "POST", messages, token=mentor, json=retry)
    await walk.expect(400, "POST", messages, token=mentor, json={"content": 7})
    await walk.expect(404, "POST", f"{unknown}/messages", token=mentor, json={"content": "x"})
    await walk.expect(413, "POST", messages, token=mentor, data=huge, headers=raw_json)
    await walk.expect(422, "POST", messages, token=mentor, json={"content": "  "})

    page = await walk.expect(200, "GET", f"{messages}?limit=1", token=pair.mentee_token)
    assert page.body["hasMore"] is True
    await walk.expect(200, "GET", f"{messages}?after={first.body['id']}", token=mentor)
    await walk.expect(400, "GET", f"{messages}?before={uuid.uuid4()}", token=mentor)
    await walk.expect(400, "GET", f"{messages}?limit=abc", token=mentor)
    await walk.expect(404, "GET", f"{unknown}/messages", token=mentor)

    await walk.expect(200, "PATCH", f"{conversation}/read", token=pair.mentee_token)
    await walk.expect(404, "PATCH", f"{unknown}/read", token=mentor)

    await _walk_changes(walk, conversation, unknown, first.body["id"], pair.mentee_token, admin)
    await walk.expect(401, "PATCH", f"{messages}/{first.body['id']}", json={"content": "x"})
    await walk.expect(
        413, "PATCH", f"{messages}/{first.body['id']}", token=mentor, data=huge, headers=raw_json
    )

    await _walk_admin(walk, admin, mentor, huge, raw_json, pair.mentor_id, pair.mentee_id)
    await _walk_notifications(walk, server, mentor, huge, raw_json)
    await walk.expect(200, "GET", "/healthz")
    await walk.expect(200, "GET", "/readyz")
    await walk.expect(200, "GET", "/api/openapi.json")
    await _metrics(server, walk)

    documented = {
        (operation["operationId"], int(status))
        for item in document()["paths"].values()
        for operation in item.values()
        for status in operation["responses"]
    }
    missing = {
        (operation, status)
        for operation, status in documented - walk.seen
        if status not in PROVEN_ELSEWHERE and (operation, status) not in RARE
    }
    assert missing == set(), "documented statuses the walk never saw"


async def _walk_changes(
    walk: Walk, conversation: str, unknown: str, first_id: str, mentee: str, admin: str
) -> None:
    """Edit and delete (the mentor sent `first_id`): every status but 413/429/503."""
    mentor_message = f"{conversation}/messages/{first_id}"
    mentor = walk.api.server.token(
        (await walk.api.get(conversation, token=mentee)).body["mentor"]["id"]
    )
    await walk.expect(200, "PATCH", mentor_message, token=mentor, json={"content": "hello!"})
    await walk.expect(400, "PATCH", mentor_message, token=mentor, json={"content": 7})
    await walk.expect(422, "PATCH", mentor_message, token=mentor, json={"content": " "})
    await walk.expect(403, "PATCH", mentor_message, token=mentee, json={"content": "mine?"})
    await walk.expect(
        404, "PATCH", f"{conversation}/messages/x", token=mentor, json={"content": "x"}
    )
    await walk.expect(
        404, "PATCH", f"{unknown}/messages/{first_id}", token=mentor, json={"content": "x"}
    )
    await walk.expect(403, "DELETE", mentor_message, token=mentee)
    await walk.expect(404, "DELETE", f"{conversation}/messages/{uuid.uuid4()}", token=mentor)
    await walk.expect(401, "DELETE", mentor_message)
    caught_up = await walk.expect(
        200, "GET", f"{conversation}/messages?afterSeq=5&changeSeq=0", token=mentee
    )
    assert [m["content"] for m in caught_up.body["changes"]] == ["hello!"]
    await walk.expect(200, "DELETE", mentor_message, token=admin)
    await walk.expect(200, "DELETE", mentor_message, token=mentor)
    await walk.expect(409, "PATCH", mentor_message, token=mentor, json={"content": "back"})


async def _walk_admin(
    walk: Walk,
    admin: str,
    user_token: str,
    huge: bytes,
    raw_json: dict[str, str],
    mentor_id: str,
    mentee_id: str,
) -> None:
    user_id = str(uuid.uuid4())
    user = f"/api/admin/users/{user_id}"
    body = {"fullName": "Ann", "email": "ann@example.com"}
    for method, path in (
        ("GET", "/api/admin/users"),
        ("GET", user),
        ("PUT", user),
        ("GET", f"/api/admin/sessions/{uuid.uuid4()}"),
        ("PUT", f"/api/admin/sessions/{uuid.uuid4()}"),
    ):
        await walk.expect(401, method, path, json=body)
        await walk.expect(403, method, path, token=user_token, json=body)
    await walk.expect(404, "GET", user, token=admin)
    await walk.expect(201, "PUT", user, token=admin, json=body)
    await walk.expect(200, "PUT", user, token=admin, json={**body, "fullName": "Ann B"})
    await walk.expect(200, "GET", user, token=admin)
    await walk.expect(400, "PUT", "/api/admin/users/nope", token=admin, json=body)
    await walk.expect(413, "PUT", user, token=admin, data=huge, headers=raw_json)
    await walk.expect(422, "PUT", user, token=admin, json={**body, "email": "nope"})
    await walk.expect(200, "GET", "/api/admin/users?limit=2", token=admin)
    await walk.expect(400, "GET", "/api/admin/users?offset=-1", token=admin)
    prefs = f"{user}/notifications"
    await walk.expect(401, "PUT", prefs, json={"email": False})
    await walk.expect(403, "PUT", prefs, token=user_token, json={"email": False})
    await walk.expect(200, "PUT", prefs, token=admin, json={"email": False})
    await walk.expect(400, "PUT", prefs, token=admin, json={"email": "no"})
    await walk.expect(
        404,
        "PUT",
        f"/api/admin/users/{uuid.uuid4()}/notifications",
        token=admin,
        json={"email": True},
    )
    await walk.expect(413, "PUT", prefs, token=admin, data=huge, headers=raw_json)
    await walk.expect(401, "GET", "/api/admin/sessions")
    await walk.expect(403, "GET", "/api/admin/sessions", token=user_token)
    await walk.expect(200, "GET", f"/api/admin/sessions?user={mentor_id}&limit=5", token=admin)
    await walk.expect(400, "GET", "/api/admin/sessions?user=nope", token=admin)

    session = f"/api/admin/sessions/{uuid.uuid4()}"
    fields = {"mentorId": mentor_id, "menteeId": mentee_id, "status": "scheduled"}
    fields["startAt"] = "2024-01-15T10:00:00Z"
    await walk.expect(404, "GET", session, token=admin)
    await walk.expect(201, "PUT", session, token=admin, json=fields)
    await walk.expect(200, "PUT", session, token=admin, json={**fields, "status": "completed"})
    await walk.expect(200, "GET", session, token=admin)
    await walk.expect(400, "PUT", session, token=admin, json={**fields, "startAt": 5})
    await walk.expect(413, "PUT", session, token=admin, data=huge, headers=raw_json)
    await walk.expect(422, "PUT", session, token=admin, json={**fields, "menteeId": mentor_id})
    # A session with a conversation keeps its participants.
    opened = await walk.api.post(
        "/api/conversations/by-session",
        token=walk.api.server.token(mentor_id),
        json={"sessionId": session.rsplit("/", 1)[1]},
    )
    assert opened.status == 201
    await walk.expect(409, "PUT", session, token=admin, json={**fields, "menteeId": user_id})
    await walk.expect(409, "DELETE", f"/api/admin/users/{mentor_id}", token=admin)
    for method, path in (
        ("DELETE", f"/api/admin/users/{user_id}"),
        ("POST", f"/api/admin/users/{user_id}/revoke-tokens"),
    ):
        await walk.expect(401, method, path)
        await walk.expect(403, method, path, token=user_token)
    await walk.expect(200, "POST", f"{user}/revoke-tokens", token=admin)
    await walk.expect(204, "DELETE", user, token=admin)
    await walk.expect(404, "DELETE", user, token=admin)
    await walk.expect(404, "POST", f"{user}/revoke-tokens", token=admin)


async def _walk_notifications(
    walk: Walk, server: RunningServer, token: str, huge: bytes, raw_json: dict[str, str]
) -> None:
    me = "/api/me/notifications"
    await walk.expect(401, "GET", me)
    await walk.expect(401, "PUT", me, json={"email": False})
    await walk.expect(200, "GET", me, token=token)
    await walk.expect(200, "PUT", me, token=token, json={"email": False})
    await walk.expect(400, "PUT", me, token=token, json={"email": "no"})
    await walk.expect(413, "PUT", me, token=token, data=huge, headers=raw_json)

    secret = signing_secret(server.settings)
    user_id = token_subject(server, token)
    link = f"{UNSUBSCRIBE_PATH}?token={unsubscribe_token(secret, user_id)}"
    gone = f"{UNSUBSCRIBE_PATH}?token={unsubscribe_token(secret, str(uuid.uuid4()))}"
    forged = f"{UNSUBSCRIBE_PATH}?token={user_id}.forged"
    for method in ("GET", "POST"):
        await walk.expect(400, method, forged)
        await walk.expect(404, method, gone)
    await walk.expect(200, "POST", link)
    # The page and the HTML answer are text, which the JSON client does not read.
    await _raw(walk, server, "GET", link, 200, "text/html")
    await _raw(walk, server, "POST", link, 200, "text/html", headers={"Accept": "text/html"})


def token_subject(server: RunningServer, token: str) -> str:
    return TokenVerifier(server.settings).verify(token).user_id


async def _raw(
    walk: Walk,
    server: RunningServer,
    method: str,
    path: str,
    status: int,
    media: str,
    headers: dict[str, str] | None = None,
) -> str:
    """A call whose answer is not JSON, checked against the document by hand."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.url}{path}", headers=headers) as response,
    ):
        text = await response.text()
    assert (response.status, response.content_type) == (status, media), text[:200]
    operation = contract().check(method, path, response.status, None, dict(response.headers))
    assert operation is not None
    walk.seen.add((operation.spec["operationId"], status))
    return text


async def _metrics(server: RunningServer, walk: Walk) -> None:
    text = await _raw(walk, server, "GET", "/metrics", 200, "text/plain")
    assert "chatkit" in text
