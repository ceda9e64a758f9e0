"""Every REST operation: parameters, bodies and each status it can answer.

Read together with chatkit/server/http/routes/*.py: a route added there without an entry here
fails tests/test_openapi.py::test_every_route_is_described.
"""

from __future__ import annotations

from typing import Any

from chatkit.server.http.openapi.components import UUID, ref
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
# Every operation that reaches the database can answer 503 while it is away.
_AUTHENTICATED = (401, 503)
_ADMIN = (401, 403, 503)


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


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": ref(name)}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _limit(default: int, maximum: int) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}
    return _query("limit", schema, f"How many, 1–{maximum} (else 400).")


_OFFSET = _query(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": 1_000_000_000, "default": 0},
    "How many to skip (else 400).",
)


def _cursor(name: str, description: str) -> dict[str, Any]:
    return _query(name, UUID, description)


def _id(what: str, *, creates: bool = False) -> dict[str, Any]:
    otherwise = "anything else is 400" if creates else "anything else names nothing (404)"
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": UUID,
        "description": f"The {what} id, a UUID; {otherwise}.",
    }


_MESSAGE_ID: dict[str, Any] = {
    "name": "messageId",
    "in": "path",
    "required": True,
    "schema": UUID,
    "description": "A message of this conversation; anything else names nothing (404).",
}


def _operation(
    operation_id: str,
    summary: str,
    responses: dict[int, dict[str, Any]],
    *,
    tag: str,
    errors: tuple[int, ...] = (),
    public: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    every = {**{status: _error(status) for status in errors}, **responses}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        **extra,
        "responses": {str(status): every[status] for status in sorted(every)},
    }
    if public:
        operation["security"] = []
    return operation


def _conversations() -> dict[str, Any]:
    one = _id("conversation")
    return {
        "/api/conversations": {
            "get": _operation(
                "listConversations",
                "The caller's conversations, newest updatedAt first",
                {200: _json({"type": "array", "items": ref("Conversation")}, "Conversations")},
                tag="conversations",
                errors=(400, *_AUTHENTICATED),
                parameters=[_limit(20, 100), _OFFSET],
            )
        },
        "/api/conversations/by-session": {
            "post": _operation(
                "openConversationBySession",
                "Get or create the conversation of a session",
                {
                    200: _json(ref("Conversation"), "It already existed"),
                    201: _json(ref("Conversation"), "Created; both participants' sockets join"),
                    403: _error(403) | {"description": "Not the session's mentor or mentee."},
                    404: _error(404) | {"description": "No such session."},
                },
                tag="conversations",
                errors=(400, 413, 422, *_AUTHENTICATED),
                requestBody=_body("SessionRef"),
            )
        },
        "/api/conversations/{id}": {
            "get": _operation(
                "getConversation",
                "One conversation of the caller",
                {200: _json(ref("Conversation"), "The conversation")},
                tag="conversations",
                errors=(404, *_AUTHENTICATED),
                parameters=[one],
            )
        },
        "/api/conversations/{id}/messages": {
            "get": _operation(
                "listMessages",
                "A page of history, oldest first",
                {200: _json(ref("MessagePage"), "The page")},
                tag="conversations",
                errors=(400, 404, *_AUTHENTICATED),
                parameters=[
                    one,
                    _limit(50, 100),
                    _cursor("before", "The newest messages strictly older than this id."),
                    _cursor("after", "The messages strictly newer than this id (catch-up)."),
                    _query(
                        "afterSeq",
                        {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
                        "The messages with a greater seq, oldest first (resume from a seq); "
                        "the answer also holds `changes`: messages up to that seq edited or "
                        "deleted after change `changeSeq`.",
                    ),
                    _query(
                        "changeSeq",
                        {"type": "integer", "minimum": 0, "maximum": MAX_SEQ, "default": 0},
                        "With afterSeq: the changeSeq of the caller's last catch-up (0: every "
                        "edit and deletion up to afterSeq).",
                    ),
                ],
                description="At most one of before, after and afterSeq (else 400); a cursor "
                "that is not a message of this conversation is 400.",
            ),
            "post": _operation(
                "sendMessage",
                "Send a message",
                {
                    200: _json(ref("Message"), "A repeat of a clientMessageId: the first one"),
                    201: _json(ref("Message"), "Stored, then pushed as new_message"),
                },
                tag="conversations",
                errors=(400, 404, 413, 422, 429, *_AUTHENTICATED),
                parameters=[one],
                requestBody=_body("SendMessageIn"),
            ),
        },
        "/api/conversations/{id}/messages/{messageId}": {
            "patch": _operation(
                "editMessage",
                "Edit one of the caller's messages",
                {
                    200: _json(
                        ref("Message"),
                        "The message, with editedAt; message_updated is "
                        "pushed unless the content is unchanged",
                    )
                },
                tag="conversations",
                errors=(400, 403, 404, 409, 413, 422, 429, *_AUTHENTICATED),
                parameters=[one, _MESSAGE_ID],
                requestBody=_body("EditMessageIn"),
                description="Only the sender may edit (another participant: 403); a deleted "
                "message is 409. The same content again changes and pushes nothing.",
            ),
            "delete": _operation(
                "deleteMessage",
                "Delete a message, leaving a tombstone in its place",
                {
                    200: _json(
                        ref("Message"),
                        'The tombstone: content "", no attachments, '
                        "deletedAt set; message_deleted is pushed the first time",
                    )
                },
                tag="conversations",
                errors=(403, 404, 429, *_AUTHENTICATED),
                parameters=[one, _MESSAGE_ID],
                description="Its sender or an admin token may delete (another participant: "
                "403). Deleting again answers the same tombstone and pushes nothing.",
            ),
        },
        "/api/conversations/{id}/read": {
            "patch": _operation(
                "markRead",
                "Mark every message of the conversation read",
                {200: _json(ref("ReadReceipt"), "messages_read is pushed when count > 0")},
                tag="conversations",
                errors=(404, *_AUTHENTICATED),
                parameters=[one],
            )
        },
    }


def _admin() -> dict[str, Any]:
    return {
        "/api/admin/users": {
            "get": _operation(
                "listUsers",
                "Users, by name",
                {200: _json({"type": "array", "items": ref("User")}, "Users")},
                tag="admin",
                errors=(400, *_ADMIN),
                parameters=[_limit(100, 1000), _OFFSET],
            )
        },
        "/api/admin/users/{id}": {
            "get": _operation(
                "getUser",
                "One user",
                {200: _json(ref("User"), "The user")},
                tag="admin",
                errors=(404, *_ADMIN),
                parameters=[_id("user")],
            ),
            "put": _operation(
                "putUser",
                "Create or update a user",
                {200: _json(ref("User"), "Updated"), 201: _json(ref("User"), "Created")},
                tag="admin",
                errors=(400, 413, 422, *_ADMIN),
                parameters=[_id("user", creates=True)],
                requestBody=_body("UserIn"),
            ),
            "delete": _operation(
                "deleteUser",
                "Delete a user who takes part in no session; their sockets are cut",
                {
                    204: {"description": "Deleted"},
                    409: _error(409) | {"description": "The user takes part in a session."},
                },
                tag="admin",
                errors=(404, *_ADMIN),
                parameters=[_id("user")],
            ),
        },
        "/api/admin/users/{id}/revoke-tokens": {
            "post": _operation(
                "revokeTokens",
                "Refuse every token of the user issued before now; cut sockets using one",
                {200: _json(ref("Revocation"), "Revoked")},
                tag="admin",
                errors=(404, *_ADMIN),
                parameters=[_id("user")],
            )
        },
        "/api/admin/users/{id}/notifications": {
            "put": _operation(
                "putUserNotificationPrefs",
                "Turn a user's emails about unread messages on or off",
                {200: _json(ref("NotificationPrefs"), "The user's switch")},
                tag="admin",
                errors=(400, 404, 413, *_ADMIN),
                parameters=[_id("user")],
                requestBody=_body("NotificationPrefsIn"),
            )
        },
        "/api/admin/sessions": {
            "get": _operation(
                "listSessions",
                "Sessions, latest start first",
                {200: _json({"type": "array", "items": ref("Session")}, "Sessions")},
                tag="admin",
                errors=(400, *_ADMIN),
                parameters=[
                    _limit(100, 1000),
                    _OFFSET,
                    _query("user", UUID, "Only sessions this user takes part in (else 400)."),
                ],
            )
        },
        "/api/admin/sessions/{id}": {
            "get": _operation(
                "getSession",
                "One session",
                {200: _json(ref("Session"), "The session")},
                tag="admin",
                errors=(404, *_ADMIN),
                parameters=[_id("session")],
            ),
            "put": _operation(
                "putSession",
                "Create or update a session",
                {
                    200: _json(ref("Session"), "Updated"),
                    201: _json(ref("Session"), "Created"),
                    409: _error(409)
                    | {"description": "Changes the participants of a session with a conversation."},
                },
                tag="admin",
                errors=(400, 413, 422, *_ADMIN),
                parameters=[_id("session", creates=True)],
                requestBody=_body("SessionIn"),
            ),
        },
    }


def _notifications() -> dict[str, Any]:
    preferences = _json(ref("NotificationPrefs"), "The caller's switch")
    token = {
        "name": "token",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "The signed token of the email's link (it is the credential).",
    }
    html = {"text/html": {"schema": {"type": "string"}}}
    return {
        "/api/me/notifications": {
            "get": _operation(
                "getNotificationPrefs",
                "Whether the caller gets emails about unread messages",
                {200: preferences},
                tag="notifications",
                errors=(404, *_AUTHENTICATED),
            ),
            "put": _operation(
                "putNotificationPrefs",
                "Turn the caller's emails on or off",
                {200: preferences},
                tag="notifications",
                errors=(400, 404, 413, *_AUTHENTICATED),
                requestBody=_body("NotificationPrefsIn"),
            ),
        },
        "/notifications/unsubscribe": {
            "get": _operation(
                "unsubscribePage",
                "The page an email's unsubscribe link opens (changes nothing)",
                {200: {"description": "A page with a button", "content": html}},
                tag="notifications",
                errors=(400, 404, 503),
                public=True,
                parameters=[token],
            ),
            "post": _operation(
                "unsubscribe",
                "One-click unsubscribe (RFC 8058)",
                {
                    200: {
                        "description": "Unsubscribed: JSON, or a page when text/html is accepted",
                        "content": {**_json(ref("NotificationPrefs"), "")["content"], **html},
                    }
                },
                tag="notifications",
                errors=(400, 404, 503),
                public=True,
                parameters=[token],
            ),
        },
    }


def _health() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": _operation(
                "healthz",
                "Liveness: the process is up",
                {200: _json(ref("Health"), "Up")},
                tag="health",
                public=True,
            )
        },
        "/readyz": {
            "get": _operation(
                "readyz",
                "Readiness: the database (and Redis when configured) answers",
                {
                    200: _json(ref("Readiness"), "Ready"),
                    503: _json(ref("Readiness"), "A check failed"),
                },
                tag="health",
                public=True,
            )
        },
        "/metrics": {
            "get": _operation(
                "metrics",
                "Prometheus metrics",
                {
                    200: {
                        "description": "The Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
                tag="health",
                public=True,
            )
        },
        "/api/openapi.json": {
            "get": _operation(
                "openapi",
                "This document",
                {200: _json({"type": "object"}, "OpenAPI 3.1")},
                tag="health",
                public=True,
            )
        },
    }


def paths() -> dict[str, Any]:
    return {**_conversations(), **_admin(), **_notifications(), **_health()}
