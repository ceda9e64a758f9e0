"""Every REST operation: parameters, bodies and each status it can answer.

Read together with chatkit/server/http/routes/*.py: a route added there without an entry here
fails tests/test_openapi.py::test_every_route_is_described.

Each operation is one row of a table (`_Op`); `_operation` builds its OpenAPI object. The
statuses a row does not name follow from what it has: its tag's access (a token: 401; an
admin token: 403; the database: 503), its parameters (each says what a bad value gets: 400,
or 404 for an id that names nothing) and its body (400 when malformed, 413 when too large).
An operation that cannot answer 401 needs no token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from chatkit.server.http.openapi.components import UUID, ref
from chatkit.server.http.routes.params import MAX_OFFSET
from chatkit.server.wire.schemas import MAX_SEQ

JSON = "application/json"

ERRORS: dict[int, str] = {
    400: "Malformed input: a body that is not a JSON object, a field of the wrong JSON type or "
    "missing, a bad query parameter or cursor.",
    401: "No bearer token, or a refused one (the code says why).",
    403: "Authenticated but not allowed.",
    404: "Unknown id, or one the caller may not see: the two answers are the same.",
    409: "Conflicts with the current state.",
    413: "The body is larger than max_body_bytes (1 MiB by default).",
    422: "A field of the right type with a value that is not allowed.",
    429: "Rate limited; retry after Retry-After seconds.",
    503: "The database is unavailable; nothing was changed, retry.",
}
_RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
# What an operation may answer before it runs: every one that reaches the database can answer
# 503 while it is away.
_AUTHENTICATED = (401, 503)
_ADMIN = (401, 403, 503)
_PUBLIC_WITH_DATABASE = (503,)
_PUBLIC = ()


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {JSON: {"schema": ref("Error")}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {**_RETRY_AFTER, "required": True}}
    elif status == 503:
        response["headers"] = {"Retry-After": _RETRY_AFTER}
    return response


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _array_of(name: str, description: str) -> dict[str, Any]:
    return _json({"type": "array", "items": ref(name)}, description)


@dataclass(frozen=True)
class _Param:
    """A parameter and the status a bad value of it is refused with."""

    spec: dict[str, Any]
    refused_with: int = 400


def _query(name: str, schema: dict[str, Any], description: str) -> _Param:
    return _Param({"name": name, "in": "query", "schema": schema, "description": description})


def _limit(default: int, maximum: int) -> _Param:
    schema = {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}
    return _query("limit", schema, f"How many, 1–{maximum} (else 400).")


_OFFSET = _query(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    "How many to skip (else 400).",
)


def _cursor(name: str, description: str) -> _Param:
    return _query(name, UUID, description)


def _path(name: str, description: str, *, refused_with: int) -> _Param:
    spec = {"name": name, "in": "path", "required": True, "schema": UUID}
    return _Param({**spec, "description": description}, refused_with)


def _id(what: str, *, creates: bool = False) -> _Param:
    otherwise = "anything else is 400" if creates else "anything else names nothing (404)"
    return _path("id", f"The {what} id, a UUID; {otherwise}.", refused_with=400 if creates else 404)


_MESSAGE_ID = _path(
    "messageId",
    "A message of this conversation; anything else names nothing (404).",
    refused_with=404,
)


class _Op(NamedTuple):
    """One operation: `route` is "METHOD /path"; a response given as a string is the error of
    that status with this description."""

    route: str
    operation_id: str
    summary: str
    responses: dict[int, dict[str, Any] | str]
    errors: tuple[int, ...] = ()
    parameters: tuple[_Param, ...] = ()
    body: str | None = None
    description: str | None = None


def _operation(op: _Op, *, tag: str, access: tuple[int, ...]) -> dict[str, Any]:
    implied = {*access, *op.errors, *(param.refused_with for param in op.parameters)}
    if op.body is not None:
        implied |= {400, 413}
    every = {status: _error(status) for status in implied}
    for status, response in op.responses.items():
        every[status] = (
            {**_error(status), "description": response} if isinstance(response, str) else response
        )
    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [tag],
    }
    if op.parameters:
        operation["parameters"] = [param.spec for param in op.parameters]
    if op.body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(op.body)}}}
    if op.description is not None:
        operation["description"] = op.description
    operation["responses"] = {str(status): every[status] for status in sorted(every)}
    if 401 not in access:
        operation["security"] = []
    return operation


def _described(tag: str, access: tuple[int, ...], ops: list[_Op]) -> dict[str, Any]:
    """The paths of one tag's operations, each path's methods in the order given."""
    described: dict[str, dict[str, Any]] = {}
    for op in ops:
        method, path = op.route.split(" ")
        described.setdefault(path, {})[method.lower()] = _operation(op, tag=tag, access=access)
    return described


def _conversations() -> dict[str, Any]:
    one = _id("conversation")
    since = _query(
        "afterSeq",
        {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
        "The messages with a greater seq, oldest first (resume from a seq); the answer also "
        "holds `changes`: messages up to that seq edited or deleted after change `changeSeq`.",
    )
    changes_since = _query(
        "changeSeq",
        {"type": "integer", "minimum": 0, "maximum": MAX_SEQ, "default": 0},
        "With afterSeq: the changeSeq of the caller's last catch-up (0: every edit and deletion "
        "up to afterSeq).",
    )
    before = _cursor("before", "The newest messages strictly older than this id.")
    after = _cursor("after", "The messages strictly newer than this id (catch-up).")
    edited = "The message, with editedAt; message_updated is pushed unless the content is unchanged"
    tombstone = (
        'The tombstone: content "", no attachments, deletedAt set; message_deleted is '
        "pushed the first time"
    )
    return _described(
        "conversations",
        _AUTHENTICATED,
        [
            _Op(
                "GET /api/conversations",
                "listConversations",
                "The caller's conversations, newest updatedAt first",
                {200: _array_of("Conversation", "Conversations")},
                parameters=(_limit(20, 100), _OFFSET),
            ),
            _Op(
                "POST /api/conversations/by-session",
                "openConversationBySession",
                "Get or create the conversation of a session",
                {
                    200: _json(ref("Conversation"), "It already existed"),
                    201: _json(ref("Conversation"), "Created; both participants' sockets join"),
                    403: "Not the session's mentor or mentee.",
                    404: "No such session.",
                },
                errors=(422,),
                body="SessionRef",
            ),
            _Op(
                "GET /api/conversations/{id}",
                "getConversation",
                "One conversation of the caller",
                {200: _json(ref("Conversation"), "The conversation")},
                parameters=(one,),
            ),
            _Op(
                "GET /api/conversations/{id}/messages",
                "listMessages",
                "A page of history, oldest first",
                {200: _json(ref("MessagePage"), "The page")},
                parameters=(one, _limit(50, 100), before, after, since, changes_since),
                description="At most one of before, after and afterSeq (else 400); a cursor that "
                "is not a message of this conversation is 400.",
            ),
            _Op(
                "POST /api/conversations/{id}/messages",
                "sendMessage",
                "Send a message",
                {
                    200: _json(ref("Message"), "A repeat of a clientMessageId: the first one"),
                    201: _json(ref("Message"), "Stored, then pushed as new_message"),
                },
                errors=(422, 429),
                parameters=(one,),
                body="SendMessageIn",
            ),
            _Op(
                "PATCH /api/conversations/{id}/messages/{messageId}",
                "editMessage",
                "Edit one of the caller's messages",
                {200: _json(ref("Message"), edited)},
                errors=(403, 409, 422, 429),
                parameters=(one, _MESSAGE_ID),
                body="EditMessageIn",
                description="Only the sender may edit (another participant: 403); a deleted "
                "message is 409. The same content again changes and pushes nothing.",
            ),
            _Op(
                "DELETE /api/conversations/{id}/messages/{messageId}",
                "deleteMessage",
                "Delete a message, leaving a tombstone in its place",
                {200: _json(ref("Message"), tombstone)},
                errors=(403, 429),
                parameters=(one, _MESSAGE_ID),
                description="Its sender or an admin token may delete (another participant: 403). "
                "Deleting again answers the same tombstone and pushes nothing.",
            ),
            _Op(
                "PATCH /api/conversations/{id}/read",
                "markRead",
                "Mark every message of the conversation read",
                {200: _json(ref("ReadReceipt"), "messages_read is pushed when count > 0")},
                parameters=(one,),
            ),
        ],
    )


def _admin() -> dict[str, Any]:
    user, session = _id("user"), _id("session")
    moved = "Changes the participants of a session with a conversation."
    return _described(
        "admin",
        _ADMIN,
        [
            _Op(
                "GET /api/admin/users",
                "listUsers",
                "Users, by name",
                {200: _array_of("User", "Users")},
                parameters=(_limit(100, 1000), _OFFSET),
            ),
            _Op(
                "GET /api/admin/users/{id}",
                "getUser",
                "One user",
                {200: _json(ref("User"), "The user")},
                parameters=(user,),
            ),
            _Op(
                "PUT /api/admin/users/{id}",
                "putUser",
                "Create or update a user",
                {200: _json(ref("User"), "Updated"), 201: _json(ref("User"), "Created")},
                errors=(422,),
                parameters=(_id("user", creates=True),),
                body="UserIn",
            ),
            _Op(
                "DELETE /api/admin/users/{id}",
                "deleteUser",
                "Delete a user who takes part in no session; their sockets are cut",
                {204: {"description": "Deleted"}, 409: "The user takes part in a session."},
                parameters=(user,),
            ),
            _Op(
                "POST /api/admin/users/{id}/revoke-tokens",
                "revokeTokens",
                "Refuse every token of the user issued before now; cut sockets using one",
                {200: _json(ref("Revocation"), "Revoked")},
                parameters=(user,),
            ),
            _Op(
                "PUT /api/admin/users/{id}/notifications",
                "putUserNotificationPrefs",
                "Turn a user's emails about unread messages on or off",
                {200: _json(ref("NotificationPrefs"), "The user's switch")},
                parameters=(user,),
                body="NotificationPrefsIn",
            ),
            _Op(
                "GET /api/admin/sessions",
                "listSessions",
                "Sessions, latest start first",
                {200: _array_of("Session", "Sessions")},
                parameters=(
                    _limit(100, 1000),
                    _OFFSET,
                    _query("user", UUID, "Only sessions this user takes part in (else 400)."),
                ),
            ),
            _Op(
                "GET /api/admin/sessions/{id}",
                "getSession",
                "One session",
                {200: _json(ref("Session"), "The session")},
                parameters=(session,),
            ),
            _Op(
                "PUT /api/admin/sessions/{id}",
                "putSession",
                "Create or update a session",
                {
                    200: _json(ref("Session"), "Updated"),
                    201: _json(ref("Session"), "Created"),
                    409: moved,
                },
                errors=(422,),
                parameters=(_id("session", creates=True),),
                body="SessionIn",
            ),
        ],
    )


def _notifications() -> dict[str, Any]:
    preferences = _json(ref("NotificationPrefs"), "The caller's switch")
    token = _Param(
        {
            "name": "token",
            "in": "query",
            "required": True,
            "schema": {"type": "string"},
            "description": "The signed token of the email's link (it is the credential).",
        }
    )
    html = {"text/html": {"schema": {"type": "string"}}}
    unsubscribed = {
        "description": "Unsubscribed: JSON, or a page when text/html is accepted",
        "content": {**_json(ref("NotificationPrefs"), "")["content"], **html},
    }
    page = {"description": "A page with a button", "content": html}
    return {
        **_described(
            "notifications",
            _AUTHENTICATED,
            [
                _Op(
                    "GET /api/me/notifications",
                    "getNotificationPrefs",
                    "Whether the caller gets emails about unread messages",
                    {200: preferences},
                    errors=(404,),
                ),
                _Op(
                    "PUT /api/me/notifications",
                    "putNotificationPrefs",
                    "Turn the caller's emails on or off",
                    {200: preferences},
                    errors=(404,),
                    body="NotificationPrefsIn",
                ),
            ],
        ),
        # The link in the email is the credential: no bearer token.
        **_described(
            "notifications",
            _PUBLIC_WITH_DATABASE,
            [
                _Op(
                    "GET /notifications/unsubscribe",
                    "unsubscribePage",
                    "The page an email's unsubscribe link opens (changes nothing)",
                    {200: page},
                    errors=(404,),
                    parameters=(token,),
                ),
                _Op(
                    "POST /notifications/unsubscribe",
                    "unsubscribe",
                    "One-click unsubscribe (RFC 8058)",
                    {200: unsubscribed},
                    errors=(404,),
                    parameters=(token,),
                ),
            ],
        ),
    }


def _health() -> dict[str, Any]:
    prometheus = {
        "description": "The Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    return _described(
        "health",
        _PUBLIC,
        [
            _Op(
                "GET /healthz",
                "healthz",
                "Liveness: the process is up",
                {200: _json(ref("Health"), "Up")},
            ),
            _Op(
                "GET /readyz",
                "readyz",
                "Readiness: the database (and Redis when configured) answers",
                {
                    200: _json(ref("Readiness"), "Ready"),
                    503: _json(ref("Readiness"), "A check failed"),
                },
            ),
            _Op("GET /metrics", "metrics", "Prometheus metrics", {200: prometheus}),
            _Op(
                "GET /api/openapi.json",
                "openapi",
                "This document",
                {200: _json({"type": "object"}, "OpenAPI 3.1")},
            ),
        ],
    )


def paths() -> dict[str, Any]:
    return {**_conversations(), **_admin(), **_notifications(), **_health()}
