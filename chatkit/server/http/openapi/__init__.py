"""The OpenAPI 3.1 description of the REST API, served at `GET /api/openapi.json`.

Request bodies reuse the JSON schema of the pydantic models the server validates with;
response schemas are those of the wire objects' one definition (chatkit.wire), which the
renderer and the client use too, and the test suite checks every response it sees against them
(tests/support/contract.py), so the document cannot drift from the server unnoticed. Each
operation lists every status it can answer (paths.py).
"""

from __future__ import annotations

from typing import Any

from chatkit import __version__
from chatkit.server.http.openapi.components import request_schemas, response_schemas
from chatkit.server.http.openapi.paths import paths

__all__ = ["document"]


def document() -> dict[str, Any]:
    """The whole document, built on demand (it holds no state)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatkit REST API",
            "version": __version__,
            "summary": "Mentor ↔ mentee chat: conversations and messages.",
            "description": "Live events go over Socket.IO (namespace /chat), described in "
            "docs/api.md. Every error has the Error shape. Ids are UUIDs; instants are UTC "
            "ISO-8601 with milliseconds and Z. Keys are camelCase.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "conversations", "description": "The caller's conversations and messages."},
            {"name": "admin", "description": "Provisioning; needs a token with role admin."},
            {
                "name": "notifications",
                "description": "Email notifications: the caller's switch, "
                "and the unsubscribe link of every email.",
            },
            {"name": "health", "description": "Liveness, readiness, metrics; no auth."},
        ],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "sub is the user id and exp is required; /api/admin needs "
                    'role "admin".',
                }
            },
            "schemas": {**response_schemas(), **request_schemas()},
        },
    }
