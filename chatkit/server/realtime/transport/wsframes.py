"""WebSocket framing (RFC 6455), server side, without extensions: the bytes of a 101 answer,
frames out (unmasked) and an incremental parser of the client's (masked) frames.

permessage-deflate is never negotiated (chat frames are small JSON; see docs/upstream.md).
"""

from __future__ import annotations

import base64
import hashlib
import struct

try:  # aiohttp's Cython masker (its internals; pyproject.toml caps aiohttp below 4)
    from aiohttp._websocket.helpers import websocket_mask as _fast_mask
except ImportError:  # pragma: no cover - a pure-Python aiohttp build
    _fast_mask = None  # type: ignore[assignment]

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
# Close codes.
NORMAL, GOING_AWAY, PROTOCOL_ERROR, INVALID_DATA, TOO_BIG = 1000, 1001, 1002, 1007, 1009


class FrameError(Exception):
    """The client broke the framing; `code` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def accept_response(key: bytes) -> bytes:
    digest = base64.b64encode(hashlib.sha1(key + GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + digest + b"\r\n\r\n"
    )


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame."""
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, size) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, size) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(CLOSE, struct.pack("!H", code) + reason.encode()[:120])


def unmask(data: bytes, mask: bytes) -> bytes:
    if _fast_mask is not None:
        buffer = bytearray(data)
        _fast_mask(mask, buffer)
        return bytes(buffer)
    size = len(data)
    if not size:
        return data
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "little")
    return (int.from_bytes(data, "little") ^ key).to_bytes(size, "little")


class FrameParser:
    """Feed bytes, get whole messages: (TEXT or BINARY, payload), or control frames.

    Holds only the unparsed tail and a fragmented message's parts, so an idle connection
    costs nothing here (the object is created on the first bytes after the handshake).
    """

    __slots__ = ("_buffer", "_parts", "_opcode", "_size", "max_size")

    def __init__(self, max_size: int) -> None:
        self._buffer = b""
        self._parts: list[bytes] = []
        self._opcode = 0
        self._size = 0
        self.max_size = max_size

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buffer = self._buffer + data if self._buffer else data
        out: list[tuple[int, bytes]] = []
        position = 0
        end = len(buffer)
        while end - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            if first & 0x70:
                raise FrameError(PROTOCOL_ERROR, "reserved bits set")
            if not second & 0x80:
                raise FrameError(PROTOCOL_ERROR, "a client frame must be masked")
            opcode, final, size = first & 0x0F, bool(first & 0x80), second & 0x7F
            header = 2
            if size == 126:
                if end - position < 4:
                    break
                size = struct.unpack_from("!H", buffer, position + 2)[0]
                header = 4
            elif size == 127:
                if end - position < 10:
                    break
                size = struct.unpack_from("!Q", buffer, position + 2)[0]
                header = 10
            if opcode >= CLOSE and (size > 125 or not final):
                raise FrameError(PROTOCOL_ERROR, "a control frame too long or fragmented")
            if size > self.max_size or self._size + size > self.max_size:
                raise FrameError(TOO_BIG, "message too big")
            if end - position < header + 4 + size:
                break
            mask = buffer[position + header : position + header + 4]
            start = position + header + 4
            payload = unmask(buffer[start : start + size], mask)
            position = start + size
            message = self._message(opcode, final, payload)
            if message is not None:
                out.append(message)
        self._buffer = buffer[position:] if position < end else b""
        return out

    def _message(self, opcode: int, final: bool, payload: bytes) -> tuple[int, bytes] | None:
        if opcode >= CLOSE:
            if opcode not in (CLOSE, PING, PONG):
                raise FrameError(PROTOCOL_ERROR, f"unknown opcode {opcode}")
            return opcode, payload
        if opcode == CONTINUATION:
            if not self._parts:
                raise FrameError(PROTOCOL_ERROR, "a continuation of nothing")
        elif opcode in (TEXT, BINARY):
            if self._parts:
                raise FrameError(PROTOCOL_ERROR, "a new message inside a fragmented one")
            if final:
                return opcode, payload
            self._opcode = opcode
        else:
            raise FrameError(PROTOCOL_ERROR, f"unknown opcode {opcode}")
        self._parts.append(payload)
        self._size += len(payload)
        if not final:
            return None
        whole = b"".join(self._parts)
        self._parts, self._size = [], 0
        return self._opcode, whole
