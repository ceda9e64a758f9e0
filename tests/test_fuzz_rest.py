"""Fuzz the REST API from its own OpenAPI document with schemathesis, against a real
`chatkit serve` process holding real users, sessions, a conversation and messages.

For every operation, schemathesis generates valid and invalid parameters and bodies; the test
sends them with a real bearer token (or a wrong one), often aimed at ids that exist, and
requires: no 5xx, a documented status, a body and headers that match the document, and for
invalid input a 4xx. The number of examples is bounded so the whole file stays in seconds.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chatkit.config import Settings, signing_secret
from chatkit.server.http.openapi import document
from chatkit.server.notify.unsubscribe import unsubscribe_token
from tests.support import backends
from tests.support.api import Api
from tests.support.contract import contract
from tests.support.databases import fresh_database
from tests.support.processes import serving
from tests.support.server import Endpoint

SECRET = "fuzz-test-secret-0123456789abcdef"
# Per operation: 16 operations × 30 examples × 2 backends ≈ 1,000 requests in CI. For a
# longer hunt: CHATKIT_TEST_FUZZ_EXAMPLES=500 CHATKIT_TEST_FUZZ_SEED=<any int>.
MAX_EXAMPLES = int(os.environ.get("CHATKIT_TEST_FUZZ_EXAMPLES", "30"))
# A fixed seed in CI, so a run fails for a change in the server, not for the dice.
SEED = int(os.environ.get("CHATKIT_TEST_FUZZ_SEED", "5"))

DOCUMENT = document()
SCHEMA = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                # The token is chosen below; unknown query parameters are ignored by design.
                "with-security-parameters": False,
                "allow-extra-parameters": True,
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 422]
                }
            },
        }
    ),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@dataclass
class Target:
    """A serving process and the things that exist in it, to aim generated requests at."""

    endpoint: Endpoint
    users: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # the first is the mentor's
    victim: str = ""  # in no session: the one user the fuzzer may delete or revoke
    unsubscribe: list[str] = field(default_factory=list)  # genuine link tokens

    def ids(self, path: str, method: str) -> list[str]:
        if path == "/api/admin/users/{id}/revoke-tokens" or method == "DELETE":
            return [self.victim]  # revoking the others' tokens would end the fuzzing
        if path.startswith("/api/admin/users"):
            return self.users
        if path.startswith("/api/admin/sessions"):
            return self.sessions
        return self.conversations


async def _provision(endpoint: Endpoint) -> Target:
    target = Target(endpoint)
    async with Api(endpoint) as api:
        pair = await api.pair()
        stranger = await api.user("Stranger")
        spare_session = await api.session(pair.mentee_id, stranger)
        for index in range(5):
            reply = await api.send(pair.mentor_token, pair.conversation_id, f"hello {index}")
            target.messages.append(reply.body["id"])
        target.victim = await api.user("Victim")
    target.users = [pair.mentor_id, pair.mentee_id, stranger]
    secret = signing_secret(endpoint.settings)
    target.unsubscribe = [unsubscribe_token(secret, user) for user in (stranger, target.victim)]
    target.sessions = [pair.session_id, spare_session]
    target.conversations = [pair.conversation_id]
    target.tokens = [
        pair.mentor_token,
        pair.mentee_token,
        endpoint.token(stranger),
        endpoint.admin_token,
        endpoint.token(pair.mentor_id, ttl=-10),  # expired
        "not-a-token",
        "",
    ]
    return target


@pytest.fixture(scope="module", params=backends.selected())
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("fuzz")
    with fresh_database(request, request.param, folder) as url:
        env = {"CHATKIT_DATABASE_URL": url, "CHATKIT_JWT_SECRET": SECRET}
        with serving(folder, env) as process:
            endpoint = Endpoint(Settings(jwt_secret=SECRET, database_url=url), process.url)
            yield asyncio.run(_provision(endpoint))
            assert process.process.poll() is None, "the server died while being fuzzed"


def _aim(case: Any, data: st.DataObject, target: Target) -> dict[str, str]:
    """Point some generated ids at things that exist, and pick who is calling.

    Invalid (negative) cases are sent as generated: aiming them could make them valid.
    """
    path = case.operation.path
    if case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE:
        return {"Authorization": f"Bearer {_usual_token(path, target)}"}
    mostly = st.integers(0, 3).map(bool)  # true three times in four
    if case.path_parameters and "id" in case.path_parameters and data.draw(mostly):
        ids = target.ids(path, case.method.upper())
        case.path_parameters["id"] = data.draw(st.sampled_from(ids))
    if isinstance(case.query, dict):
        for cursor in ("before", "after"):
            if cursor in case.query and data.draw(st.booleans()):
                case.query[cursor] = data.draw(st.sampled_from(target.messages))
        if "token" in case.query and data.draw(st.booleans()):
            genuine = data.draw(st.sampled_from(target.unsubscribe))
            user_id = genuine.partition(".")[0]
            # A genuine token, or a user's id with any signature at all.
            forged = st.text(max_size=40).map(lambda signature: f"{user_id}.{signature}")
            case.query["token"] = data.draw(st.one_of(st.just(genuine), forged))
    if path == "/api/conversations/by-session" and isinstance(case.body, dict):
        if data.draw(st.booleans()):
            case.body["sessionId"] = data.draw(st.sampled_from(target.sessions))
    if path == "/api/admin/sessions/{id}" and isinstance(case.body, dict):
        for role in ("mentorId", "menteeId"):
            if data.draw(st.booleans()):
                case.body[role] = data.draw(st.sampled_from(target.users))
    # Mostly the right kind of token for the operation, sometimes any (wrong, expired, none).
    usual = _usual_token(path, target)
    token = usual if data.draw(mostly) else data.draw(st.sampled_from(target.tokens))
    return {"Authorization": f"Bearer {token}"} if token else {}


def _usual_token(path: str, target: Target) -> str:
    return target.endpoint.admin_token if path.startswith("/api/admin/") else target.tokens[0]


@SCHEMA.given(data=st.data())
@SCHEMA.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_requests_get_documented_answers(
    case: Any, data: st.DataObject, target: Target
) -> None:
    headers = _aim(case, data, target)

    response = case.call(base_url=target.endpoint.url, headers=headers, timeout=15)

    case.validate_response(response, checks=CHECKS, headers=headers)
    # And our own checker, the one every other test uses, agrees.
    flat = {name: ", ".join(values) for name, values in response.headers.items()}
    body = response.json() if "json" in flat.get("content-type", "") else None
    contract().check(case.method, case.formatted_path, response.status_code, body, flat)


def test_integer_query_parameters_at_and_past_their_bounds(target: Target) -> None:
    """What random generation rarely hits and off-by-one errors live at: every integer query
    parameter of every operation at its minimum and maximum (documented answers, 2xx) and
    one past them (400), on resources that exist."""
    asyncio.run(_bounds(target))


async def _bounds(target: Target) -> None:
    async with Api(target.endpoint) as api:  # every answer is checked against the document
        for template, item in DOCUMENT["paths"].items():
            for method, operation in item.items():
                path = template.replace("{id}", target.ids(template, method.upper())[0])
                token = _usual_token(template, target)
                for parameter in operation.get("parameters", []):
                    schema = parameter["schema"]
                    if parameter["in"] != "query" or schema.get("type") != "integer":
                        continue
                    inside = [schema["minimum"], schema.get("maximum", schema["minimum"])]
                    outside = [schema["minimum"] - 1]
                    if "maximum" in schema:
                        outside.append(schema["maximum"] + 1)
                    for value, good in [(v, True) for v in inside] + [(v, False) for v in outside]:
                        params = {parameter["name"]: str(value)}
                        reply = await api.request(method, path, token=token, params=params)
                        expected = 200 if good else 400
                        assert reply.status == expected, (method, path, params, reply.body)
