"""What a client may send on the Socket.IO path, checked before the libraries see it.

Pure checks on Engine.IO and Socket.IO frames (no library internals): which polling POST
bodies a client may send, which websocket text frames are Engine.IO at all, the header of a
Socket.IO packet whose data did not decode (to answer its ack id), and which events are
refused before they reach the namespace.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from chatkit.server.wire.render import ack_error
from chatkit.wire import AckError

# Names python-socketio gives to what happens to a connection; a client may not send them as
# events (it would run on_disconnect for a socket that stays connected, or on_connect again).
LIFECYCLE_EVENTS = frozenset({"connect", "connect_error", "disconnect"})
# chatkit's events carry no binary data; a few attachments are tolerated, not 10^9.
MAX_ATTACHMENTS = 10
# What a polling client may POST: CLOSE, PONG, MESSAGE (a PING or probe is the server's to
# send; an OPEN, UPGRADE or NOOP has no meaning there).
POSTABLE_PACKETS = frozenset("134")
POLL_PAYLOAD_MAX_PACKETS = 16
# Engine.IO v4 separates the packets of one polling payload with a record separator.
SEPARATOR = "\x1e"
# type, attachment count, namespace, ack id of a Socket.IO packet.
_HEADER = re.compile(r"(\d)(?:\d+-)?(/[^,]*,)?(\d{1,15})?")
EVENT, BINARY_EVENT = "2", "5"
EVENTS = (EVENT, BINARY_EVENT)


@dataclass(frozen=True, slots=True)
class Header:
    kind: str
    namespace: str
    ack_id: int | None


def header(packet: str) -> Header | None:
    """The type, namespace and ack id of a Socket.IO packet, whatever its data."""
    match = _HEADER.match(packet)
    if match is None:
        return None
    namespace = (match.group(2) or "/,")[:-1].split("?", 1)[0]
    ack_id = int(match.group(3)) if match.group(3) is not None else None
    return Header(match.group(1), namespace, ack_id)


def event_refusal(data: Any, *, connected: bool, namespace: str) -> AckError | None:
    """The error ack for an event the namespace must not see, or None to let it through."""
    name = data[0] if isinstance(data, list) and data else None
    if not isinstance(name, str):
        return ack_error("invalid_payload", "an event is an array that starts with a name")
    if name in LIFECYCLE_EVENTS:
        return ack_error("invalid_event", f"{name} is not an event a client may send")
    if not connected:
        return ack_error("not_connected", f"this socket is not connected to {namespace}")
    return None


UNDECODABLE = ack_error(
    "invalid_payload", "the event's data is not valid JSON (or is nested too deep)"
)


def unpostable(body: bytes) -> str | None:
    """Why a polling POST body is not something a client may send, or None."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return "the payload is not UTF-8"
    if not text:
        return None
    if text.startswith("d="):  # JSONP
        text = urllib.parse.parse_qs(text).get("d", [""])[0]
    packets = text.split(SEPARATOR)
    if len(packets) > POLL_PAYLOAD_MAX_PACKETS:
        return "too many packets in one payload"
    for packet in packets:
        if packet[:1] == "b":
            if not _is_base64(packet[1:]):
                return "a binary packet that is not base64"
        elif packet[:1] not in POSTABLE_PACKETS:
            return f"a packet a client may not post: {packet[:10]!r}"
    return None


def is_engineio_text(frame: str) -> bool:
    """Whether a websocket text frame is an Engine.IO packet at all."""
    if not frame:
        return False
    if frame[0] == "b":  # base64 binary
        return _is_base64(frame[1:])
    return frame[0] in "0123456789"


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
