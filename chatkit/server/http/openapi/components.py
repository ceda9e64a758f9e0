"""Schemas of the OpenAPI document: responses written out from chatkit.server.wire.render, request
bodies taken from the pydantic models the server validates with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chatkit.server.data.store.records import CONTENT_TYPES, SESSION_STATUSES
from chatkit.server.wire.schemas import (
    EditMessageIn,
    NotificationPrefsIn,
    SendMessageIn,
    SessionIn,
    SessionRef,
    UserIn,
)

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
ERROR_CODE_PATTERN = "^[a-z0-9]+(_[a-z0-9]+)*$"

UUID: dict[str, Any] = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
INSTANT: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "pattern": INSTANT_PATTERN,
    "description": "UTC, millisecond precision, Z suffix: 2024-01-15T10:00:00.000Z",
}
_OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_OPTIONAL_INSTANT: dict[str, Any] = {
    "type": ["string", "null"],
    "format": "date-time",
    "pattern": INSTANT_PATTERN,
}

REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    SessionRef,
    SendMessageIn,
    EditMessageIn,
    UserIn,
    SessionIn,
    NotificationPrefsIn,
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], *, description: str = "") -> dict[str, Any]:
    """A response object: every property present and nothing else, as render.py makes it."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


RESPONSE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": {"type": "string", "pattern": ERROR_CODE_PATTERN},
                    "message": {"type": "string", "minLength": 1},
                }
            )
        },
        description="Every error, whatever the status.",
    ),
    "Person": _object(
        {
            "id": UUID,
            "fullName": {"type": "string"},
            "avatarUrl": _OPTIONAL_TEXT,
            "online": {"type": "boolean", "description": "Has a connected socket (presence)."},
            "lastSeenAt": {
                **_OPTIONAL_INSTANT,
                "description": "When the user's last socket closed; null if it never did.",
            },
        }
    ),
    "SessionSummary": _object(
        {"id": UUID, "startAt": INSTANT, "status": {"enum": list(SESSION_STATUSES)}}
    ),
    "LastMessage": _object(
        {
            "id": UUID,
            "content": {"type": "string", "description": 'The current text; "" if deleted.'},
            "createdAt": INSTANT,
            "senderId": UUID,
            "editedAt": _OPTIONAL_INSTANT,
            "deletedAt": _OPTIONAL_INSTANT,
        }
    ),
    "Conversation": _object(
        {
            "id": UUID,
            "mentor": ref("Person"),
            "mentee": ref("Person"),
            "session": ref("SessionSummary"),
            "lastMessage": _nullable(ref("LastMessage")),
            "unreadCount": {
                "type": "integer",
                "minimum": 0,
                "description": "Messages of the other participant after the caller's last read.",
            },
            "updatedAt": {**INSTANT, "description": "Time of the last message, else creation."},
        },
        description="A conversation as the caller sees it.",
    ),
    "Attachment": _object(
        {
            "id": UUID,
            "filename": {"type": "string"},
            "mimeType": {"type": "string"},
            "url": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
        }
    ),
    "Message": _object(
        {
            "id": {**UUID, "description": "A UUIDv7: ids sort as strings in send order."},
            "conversationId": UUID,
            "seq": {
                "type": "integer",
                "minimum": 1,
                "description": "1, 2, 3… within the conversation, without holes.",
            },
            "senderId": UUID,
            "content": {"type": "string"},
            "contentType": {"enum": list(CONTENT_TYPES)},
            "attachments": {"type": "array", "items": ref("Attachment")},
            "clientMessageId": _OPTIONAL_TEXT,
            "createdAt": INSTANT,
            "editedAt": {**_OPTIONAL_INSTANT, "description": "Time of the last edit, or null."},
            "deletedAt": {
                **_OPTIONAL_INSTANT,
                "description": 'Set on a tombstone (content "", no attachments), else null.',
            },
        }
    ),
    "MessagePage": {
        **_object(
            {
                "messages": {"type": "array", "items": ref("Message")},
                "hasMore": {"type": "boolean"},
                "nextCursor": _nullable(UUID),
            },
            description="Oldest first; nextCursor is set when hasMore is true. With afterSeq "
            "it also holds the edits and deletions to apply (catch-up).",
        ),
        "properties": {
            "messages": {"type": "array", "items": ref("Message")},
            "hasMore": {"type": "boolean"},
            "nextCursor": _nullable(UUID),
            "changes": {
                "type": "array",
                "items": ref("Message"),
                "description": "Messages up to afterSeq edited or deleted after changeSeq, in "
                "their current state (afterSeq only).",
            },
            "changeSeq": {
                "type": "integer",
                "minimum": 0,
                "description": "Pass it as changeSeq next time (afterSeq only).",
            },
            "changesHasMore": {
                "type": "boolean",
                "description": "More changes remain: ask again with this changeSeq.",
            },
        },
    },
    "ReadReceipt": _object(
        {
            "conversationId": UUID,
            "readBy": UUID,
            "count": {
                "type": "integer",
                "minimum": 0,
                "description": "How many messages this call newly marked read.",
            },
        }
    ),
    "User": _object(
        {
            "id": UUID,
            "fullName": {"type": "string"},
            "email": {"type": "string"},
            "avatarUrl": _OPTIONAL_TEXT,
            "notifyEmail": {"type": "boolean"},
            "createdAt": INSTANT,
            "updatedAt": INSTANT,
        }
    ),
    "Session": _object(
        {
            "id": UUID,
            "mentorId": UUID,
            "menteeId": UUID,
            "startAt": INSTANT,
            "status": {"enum": list(SESSION_STATUSES)},
            "createdAt": INSTANT,
            "updatedAt": INSTANT,
        }
    ),
    "Revocation": _object(
        {
            "userId": UUID,
            "tokensValidAfter": {**INSTANT, "description": "Tokens issued before are refused."},
        }
    ),
    "NotificationPrefs": _object(
        {"email": {"type": "boolean", "description": "Emails about unread messages."}}
    ),
    "Health": _object({"status": {"const": "ok"}}),
    "Readiness": _object(
        {
            "status": {"enum": ["ok", "unavailable"]},
            "checks": {"type": "object", "additionalProperties": {"enum": ["ok", "unavailable"]}},
        },
        description="One entry per dependency checked (database, redis, redis_listener).",
    ),
}

# Where the models' JSON schema says less than the server checks, say it in words.
_REQUEST_NOTES: dict[tuple[str, str], dict[str, Any]] = {
    ("SendMessageIn", "content"): {
        "description": "Trimmed of surrounding whitespace, then 1–4000 code points; may be "
        "empty when attachments are present. Unpaired surrogates are refused."
    },
    ("SendMessageIn", "clientMessageId"): {
        "description": "A repeat by the same sender in the same conversation returns the "
        "first message with 200 and pushes nothing."
    },
    ("AttachmentIn", "url"): {"description": "An http:// or https:// URL."},
    ("UserIn", "email"): {"description": "An email address (local@domain)."},
    ("UserIn", "avatarUrl"): {"description": "An http:// or https:// URL, or null."},
    ("SessionIn", "mentorId"): {"format": "uuid", "description": "An existing user."},
    ("SessionIn", "menteeId"): {
        "format": "uuid",
        "description": "An existing user other than the mentor.",
    },
    ("SessionIn", "startAt"): {"description": "An ISO-8601 instant; without offset, UTC."},
    ("SessionRef", "sessionId"): {"description": "A session id; a non-UUID names nothing."},
    ("EditMessageIn", "content"): {
        "description": "Trimmed of surrounding whitespace, then 1–4000 code points; the "
        "message's attachments stay."
    },
}


def request_schemas() -> dict[str, dict[str, Any]]:
    """The request models' JSON schema (by alias), nested models hoisted into components."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in REQUEST_MODELS:
        schema = model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}", mode="validation"
        )
        for name, nested in schema.pop("$defs", {}).items():
            schemas[name] = _untitled(nested)
        schemas[model.__name__] = _untitled(schema)
    for (name, field), notes in _REQUEST_NOTES.items():
        schemas[name]["properties"][field].update(notes)
    return schemas


def _untitled(schema: Any) -> Any:
    """Drop pydantic's generated titles ("Contenttype"): noise in a published document."""
    if isinstance(schema, dict):
        return {key: _untitled(value) for key, value in schema.items() if key != "title"}
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    return schema
