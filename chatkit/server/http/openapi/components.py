"""Schemas of the OpenAPI document: responses from the wire objects' one definition
(chatkit.wire, which the renderer and the client use too), request bodies from the pydantic
models the server validates with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chatkit import wire
from chatkit.server.wire.schemas import (
    EditMessageIn,
    NotificationPrefsIn,
    SendMessageIn,
    SessionIn,
    SessionRef,
    UserIn,
)

REF_TEMPLATE = "#/components/schemas/{model}"
UUID: dict[str, Any] = {"type": "string", "format": "uuid", "pattern": wire.UUID_PATTERN}

REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    SessionRef,
    SendMessageIn,
    EditMessageIn,
    UserIn,
    SessionIn,
    NotificationPrefsIn,
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


def response_schemas() -> dict[str, dict[str, Any]]:
    """The response objects' schemas, from their one definition in chatkit.wire (nested
    objects hoisted into components). Each is closed: every property present and nothing else,
    as the renderer makes it; clients should still ignore keys they do not know."""
    schemas: dict[str, dict[str, Any]] = {}
    for kind in wire.OBJECTS:
        schema = wire.schema(kind, ref_template=REF_TEMPLATE)
        for name, nested in schema.pop("$defs", {}).items():
            schemas[name] = _closed(_untitled(nested))
        schemas[kind.__name__] = _closed(_untitled(schema))
    return schemas


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    if "properties" in schema:
        return {**schema, "additionalProperties": False}
    return schema


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
    ("SessionIn", "startAt"): {"description": "An ISO-8601 instant with its offset (Z, +02:00)."},
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
            by_alias=True, ref_template=REF_TEMPLATE, mode="validation"
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
