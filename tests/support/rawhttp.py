"""HTTP/1.1 spoken over a blocking socket by hand, for requests no client library would send,
and a parser of what comes back (several responses when requests were pipelined)."""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = 5.0
LONG = 10_000  # over aiohttp's 8,190-byte line and field limits


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Exchange:
    responses: list[RawResponse] = field(default_factory=list)
    closed: bool = False  # the server closed the connection
    leftover: bytes = b""  # bytes that did not parse as a response


def exchange(
    host: str,
    port: int,
    data: bytes,
    *,
    expect: int = 1,
    close_after_send: bool = False,
    reset: bool = False,
    timeout: float = TIMEOUT,
) -> Exchange:
    """Send `data`; read until `expect` final responses arrived or the server closed.

    With `close_after_send` the client hangs up at once, without reading (an early close);
    with `reset` too, it hangs up with a TCP reset instead of a FIN.
    """
    result = Exchange()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:  # the server already refused and closed: read what it said
            pass
        if close_after_send:
            if reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return result
        buffer = b""
        while len(result.responses) < expect:
            parsed = _parse(buffer)
            if parsed is not None:
                response, buffer = parsed
                if response.status >= 200:  # 100 Continue is not an answer
                    result.responses.append(response)
                continue
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                chunk = b""
            if not chunk:
                result.closed = True
                break
            buffer += chunk
        result.leftover = buffer
    return result


def _parse(buffer: bytes) -> tuple[RawResponse, bytes] | None:
    head, separator, rest = buffer.partition(b"\r\n\r\n")
    if not separator:
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if status < 200 or status in (204, 304):
        length = 0
    if len(rest) < length:
        return None
    return RawResponse(status, headers, rest[:length]), rest[length:]


def assert_json_error(response: RawResponse, status: int | None = None) -> None:
    if status is not None:
        assert response.status == status, (response.status, response.body)
    assert 400 <= response.status < 500, (response.status, response.body)
    assert response.headers.get("content-type", "").startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"].islower() and " " not in body["error"]["code"], body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def request_bytes(
    target: str, *headers: str, method: str = "GET", body: bytes = b"", version: str = "1.1"
) -> bytes:
    head = f"{method} {target} HTTP/{version}\r\nHost: chatkit\r\n" + "".join(
        f"{header}\r\n" for header in headers
    )
    return head.encode("latin-1") + b"\r\n" + body


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port
