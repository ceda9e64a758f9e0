"""Helpers of the black-box contract tests (tests/test_contract_blackbox*.py): only the wire,
the official socket.io-client under Node, and tokens signed by hand."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import jwt

from tests.support.api import Api
from tests.support.node import run_script

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
TRANSPORTS = ["default", "websocket"]


async def run_node(script: str, api: Api, transport: str, probe_input: dict[str, Any]) -> Any:
    return await run_script(
        script,
        timeout=60,
        CHATKIT_URL=api.server.url,
        TRANSPORT=transport,
        PROBE_INPUT=json.dumps(probe_input),
    )


def signed(api: Api, claims: dict[str, Any], key: str | None = None) -> str:
    configured = api.server.settings.jwt_secret
    assert configured is not None
    secret = key if key is not None else configured.get_secret_value()
    return jwt.encode(claims, secret, algorithm="HS256")


def bad_tokens(api: Api, user_id: str) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "missing_token": None,
        "malformed_token": "abc.def",
        "token_expired": signed(api, {"sub": user_id, "iat": now - 200, "exp": now - 100}),
        "invalid_signature": signed(api, {"sub": user_id, "exp": now + 600}, key="x" * 32),
        "unknown_user": signed(api, {"sub": str(uuid.uuid4()), "exp": now + 600}),
        "invalid_claims": signed(api, {"sub": user_id}),
    }


def error_code(body: Any) -> str:
    """The contract's error shape, exactly; returns the code."""
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["error"]["code"]), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return str(body["error"]["code"])
