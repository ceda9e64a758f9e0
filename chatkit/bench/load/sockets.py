"""A Socket.IO client for Locust that times only what can be timed.

Locust's `SocketIOClient` reports every emit and every received event as a 0 ms request,
and swallows connect and call failures. Here a connect is timed from the first byte to the
namespace's connect acknowledgement (which chatkit sends after the JWT check and auto-join),
a call from emit to its ack, and a bare emit (whose duration nobody can know) is not
reported at all.
"""

from __future__ import annotations

import time
from typing import Any

import socketio
from locust.contrib.socketio import SocketIOClient
from locust.event import EventHook

from chatkit.socketio_internals import InlineClientMixin

NAMESPACE = "/chat"
CONNECT_TIMEOUT = 10.0
CALL_TIMEOUT = 10.0


class SocketFailure(Exception):
    """A connect or call that did not succeed; the message says how."""


class BenchSocket(InlineClientMixin, SocketIOClient):
    def __init__(self, request_event: EventHook, *, socket_id: int) -> None:
        # No reconnection: a dropped socket must show up as a drop, not be hidden by a retry.
        # websocket-client checks every text frame's UTF-8 in pure Python, which was a third
        # of the generator's CPU under fanout; the JSON decoder rejects bad UTF-8 anyway.
        super().__init__(
            request_event,
            reconnection=False,
            websocket_extra_options={"skip_utf8_validation": True},
        )
        self.socket_id = socket_id
        self.dropped = False  # the server closed it (counted once, as a drop)

    def open(self, url: str, token: str, *, transport: str) -> float:
        """Connect to /chat with `token` in `auth`; returns the connect time in ms."""
        started = time.perf_counter()
        error: Exception | None = None
        try:
            socketio.Client.connect(
                self,
                url,
                auth={"token": token},
                transports=[transport],
                namespaces=[NAMESPACE],
                wait_timeout=CONNECT_TIMEOUT,
            )
        except Exception as exc:  # python-socketio raises several kinds; all mean "refused"
            error = SocketFailure(f"connect failed: {exc}")
        ms = (time.perf_counter() - started) * 1000
        self._report("WS", "connect", ms, error)
        if error is not None:
            raise error
        return ms

    def ask(self, event: str, payload: Any) -> float:
        """Emit with an acknowledgement and wait for it; returns the round trip in ms."""
        started = time.perf_counter()
        error: Exception | None = None
        try:
            answer = socketio.Client.call(
                self, event, payload, namespace=NAMESPACE, timeout=CALL_TIMEOUT
            )
            if not (isinstance(answer, dict) and answer.get("ok") is True):
                error = SocketFailure(f"{event} answered {answer!r}")
        except Exception as exc:  # TimeoutError, BadNamespaceError, a closed socket ...
            error = SocketFailure(f"{event} got no ack: {exc!r}")
        ms = (time.perf_counter() - started) * 1000
        self._report("WSC", event, ms, error)
        if error is not None:
            raise error
        return ms

    def close(self) -> None:
        try:
            socketio.Client.disconnect(self)
        except Exception:  # already gone: nothing left to close
            pass

    def emit(
        self, event: Any, data: Any = None, namespace: Any = None, callback: Any = None
    ) -> None:
        # python-socketio's own emit, unreported: ask() goes through here and reports the
        # round trip to the ack instead of a meaningless 0 ms for the emit.
        socketio.Client.emit(self, event, data, namespace, callback)

    def on_message(self, event: str, data: str) -> None:
        """Received events are measured by the handlers that understand them."""

    def _report(self, kind: str, name: str, ms: float, error: Exception | None) -> None:
        report(self.request_event, kind, name, ms, error)


def report(hook: EventHook, kind: str, name: str, ms: float, error: Exception | None) -> None:
    """One measured request (or failure) in Locust's statistics."""
    hook.fire(  # type: ignore[no-untyped-call]
        request_type=kind,
        name=name,
        response_time=ms,
        response_length=0,
        exception=error,
        context={},
    )
