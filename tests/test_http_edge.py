"""HTTP that is not quite HTTP, over raw sockets: each kind of mistake gets its 4xx in the
contract's JSON shape and changes nothing, and every error status the server produces is walked.
tests/test_http_fuzz.py mixes the same mistakes at random."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from chatkit.server.errors import ChatkitError
from chatkit.server.http.parser_errors import AiohttpVersionError, check_aiohttp_version
from tests.conftest import make_settings
from tests.support.api import Api, Pair
from tests.support.rawhttp import LONG, address, assert_json_error, exchange, request_bytes
from tests.support.server import running_server


def _post(pair: Pair, body: bytes, *headers: str) -> bytes:
    return request_bytes(
        f"/api/conversations/{pair.conversation_id}/messages",
        f"Authorization: Bearer {pair.mentor_token}",
        "Content-Type: application/json",
        *headers,
        method="POST",
        body=body,
    )


MESSAGE = b'{"content": "hello"}'
Case = tuple[str, Callable[[Pair], bytes], int]
CASES: list[Case] = [
    (
        "gzip on a plain body",
        lambda p: _post(p, MESSAGE, "Content-Encoding: gzip", "Content-Length: 20"),
        400,
    ),
    (
        "br on a plain body",
        lambda p: _post(p, MESSAGE, "Content-Encoding: br", "Content-Length: 20"),
        400,
    ),
    (
        "deflate on a plain body",
        lambda p: _post(p, MESSAGE, "Content-Encoding: deflate", "Content-Length: 20"),
        400,
    ),
    (
        "unknown encoding",
        lambda p: _post(p, MESSAGE, "Content-Encoding: snappy", "Content-Length: 20"),
        415,
    ),
    (
        "two encodings",
        lambda p: _post(p, MESSAGE, "Content-Encoding: gzip, br", "Content-Length: 20"),
        415,
    ),
    (
        "latin-1 byte in the token",
        lambda p: request_bytes("/api/conversations", "Authorization: Bearer caf\xe9"),
        401,
    ),
    (
        "latin-1 byte alone",
        lambda p: request_bytes("/api/conversations", "Authorization: \xe9"),
        401,
    ),
    (
        "10,000-character cursor",
        lambda p: request_bytes(
            f"/api/conversations/{p.conversation_id}/messages?before={'a' * LONG}"
        ),
        414,
    ),
    (
        "10,000-character id in the path",
        lambda p: request_bytes(f"/api/conversations/{'a' * LONG}"),
        414,
    ),
    ("10,000-byte header", lambda p: request_bytes("/healthz", f"X-Big: {'a' * LONG}"), 431),
    ("10,000-byte header name", lambda p: request_bytes("/healthz", f"X-{'a' * LONG}: 1"), 431),
    (
        "too many headers",
        lambda p: request_bytes("/healthz", *(f"X-H{i}: 1" for i in range(200))),
        431,
    ),
    ("not a request line", lambda p: b"HELLO\r\n\r\n", 400),
    ("unknown HTTP version", lambda p: request_bytes("/healthz", version="9.9"), 400),
    ("TLS on the plain port", lambda p: bytes.fromhex("16030100a5010000a10303") + bytes(64), 400),
    ("HTTP/2 preface", lambda p: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    (
        "bad chunk size",
        lambda p: _post(p, b"zz\r\n{}\r\n0\r\n\r\n", "Transfer-Encoding: chunked"),
        400,
    ),
    (
        "chunk longer than said",
        lambda p: _post(p, b"2\r\n{}xx\r\n0\r\n\r\n", "Transfer-Encoding: chunked"),
        400,
    ),
    (
        "Content-Length and chunked",
        lambda p: _post(
            p, b"2\r\n{}\r\n0\r\n\r\n", "Content-Length: 2", "Transfer-Encoding: chunked"
        ),
        400,
    ),
    (
        "two Content-Lengths",
        lambda p: _post(p, MESSAGE, "Content-Length: 20", "Content-Length: 21"),
        400,
    ),
    ("Content-Length not a number", lambda p: _post(p, MESSAGE, "Content-Length: twenty"), 400),
    ("negative Content-Length", lambda p: _post(p, MESSAGE, "Content-Length: -20"), 400),
    ("non-ASCII header name", lambda p: request_bytes("/healthz", "X-caf\xe9: 1"), 400),
    ("space before the colon", lambda p: request_bytes("/healthz", "X-Bad : 1"), 400),
    ("unknown Expect", lambda p: _post(p, MESSAGE, "Expect: telepathy", "Content-Length: 20"), 417),
    (
        "Engine.IO: unknown session",
        lambda p: request_bytes(
            "/socket.io/?EIO=4&transport=polling&sid=nope", method="POST", body=b"40"
        ),
        400,
    ),
    (
        "Engine.IO: unknown protocol version",
        lambda p: request_bytes("/socket.io/?EIO=9&transport=polling"),
        400,
    ),
    (
        "Engine.IO: websocket without the upgrade",
        lambda p: request_bytes("/socket.io/?EIO=4&transport=websocket"),
        400,
    ),
]


@pytest.mark.parametrize(("name", "build", "status"), CASES, ids=[case[0] for case in CASES])
async def test_each_kind_of_broken_http_gets_its_json_error(
    api: Api, name: str, build: Callable[[Pair], bytes], status: int
) -> None:
    pair = await api.pair()
    host, port = address(api.server.url)

    answer = await asyncio.to_thread(exchange, host, port, build(pair))

    assert len(answer.responses) == 1, answer
    assert_json_error(answer.responses[0], status)
    after = await api.send(pair.mentor_token, pair.conversation_id, "still serving")
    assert after.status == 201
    history = await api.get(
        f"/api/conversations/{pair.conversation_id}/messages", token=pair.mentee_token
    )
    assert [m["content"] for m in history.body["messages"]] == ["still serving"]


async def test_well_formed_edge_cases_are_served(api: Api) -> None:
    pair = await api.pair()
    host, port = address(api.server.url)
    compressed = {
        "gzip": gzip.compress(b'{"content": "gzipped"}'),
        "deflate": zlib.compress(b'{"content": "deflated"}'),
    }
    pipelined = b"".join(
        _post(pair, b'{"content": "%d"}' % i, "Content-Length: 16") for i in range(3)
    )

    replies = [
        await asyncio.to_thread(
            exchange,
            host,
            port,
            _post(pair, body, f"Content-Encoding: {name}", f"Content-Length: {len(body)}"),
        )
        for name, body in compressed.items()
    ]
    http10 = await asyncio.to_thread(
        exchange, host, port, request_bytes("/healthz", version="1.0"), expect=2
    )
    three = await asyncio.to_thread(exchange, host, port, pipelined, expect=3)

    assert [reply.responses[0].status for reply in replies] == [201, 201]
    assert [reply.responses[0].json()["content"] for reply in replies] == ["gzipped", "deflated"]
    assert [response.status for response in http10.responses] == [200]
    assert http10.closed, "HTTP/1.0 closes by default"
    assert [response.status for response in three.responses] == [201, 201, 201]
    assert [response.json()["seq"] for response in three.responses] == [3, 4, 5]


async def test_every_error_status_the_server_produces_is_the_json_shape(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, message_rate="2/second", max_body_bytes=4096)
    async with running_server(settings) as server, Api(server) as api:
        pair = await api.pair()
        host, port = address(api.server.url)
        admin = server.admin_token
        messages = f"/api/conversations/{pair.conversation_id}/messages"
        stranger = server.token(await api.user("Stranger"))
        newcomer = await api.user("Newcomer")
        raw = {
            status: (await asyncio.to_thread(exchange, host, port, build(pair))).responses[0]
            for name, build, status in CASES
            if status in (414, 415, 417, 431)
        }
        replies = {
            400: await api.post(messages, token=pair.mentor_token, json={"content": 42}),
            401: await api.get("/api/conversations"),
            403: await api.put(f"/api/admin/users/{newcomer}", token=pair.mentor_token, json={}),
            404: await api.get(messages, token=stranger),
            405: await api.request("DELETE", "/api/conversations", token=pair.mentor_token),
            409: await api.put(
                f"/api/admin/sessions/{pair.session_id}",
                token=admin,
                json={
                    "mentorId": newcomer,
                    "menteeId": pair.mentee_id,
                    "startAt": "2024-01-16T10:00:00Z",
                    "status": "scheduled",
                },
            ),
            413: await api.post(messages, token=pair.mentor_token, json={"content": "x" * 5000}),
            422: await api.post(messages, token=pair.mentor_token, json={"content": ""}),
        }
        for _ in range(3):
            limited = await api.send(pair.mentor_token, pair.conversation_id, "quick")
        replies[429] = limited

    for status, reply in replies.items():
        assert reply.status == status, (status, reply.body)
        assert set(reply.body) == {"error"} and set(reply.body["error"]) == {"code", "message"}
    for status, response in raw.items():
        assert_json_error(response, status)
    produced = set(replies) | set(raw)
    # 500 is no client's doing; 503 (database away) is walked in test_faults.py on PostgreSQL.
    declared = {error.status for error in _all_error_classes()} - {500, 503}
    assert declared <= produced, f"an error class no test walks: {declared - produced}"


def _all_error_classes() -> list[type[ChatkitError]]:
    found: list[type[ChatkitError]] = []
    pending = [ChatkitError]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.__subclasses__())
    return found


def test_an_aiohttp_whose_internals_were_not_checked_is_refused_at_start() -> None:
    check_aiohttp_version()  # the installed one

    for version in ("4.0.0", "3.13.3", "3.9.5", "2.3.10"):
        with pytest.raises(AiohttpVersionError, match=version):
            check_aiohttp_version(version)
