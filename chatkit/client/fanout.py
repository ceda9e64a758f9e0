"""Fanout: hands each delivered event to the typed callbacks and the open event streams."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from chatkit.client.events import Event, EventStream

log = logging.getLogger("chatkit.client")

E = TypeVar("E", bound=Event)
Callback = Callable[[E], Awaitable[None] | None]


class Fanout:
    def __init__(self) -> None:
        self._callbacks: list[tuple[type[Any], Callable[[Any], Any]]] = []
        self._streams: list[EventStream] = []
        self._pending: list[Awaitable[Any]] = []

    def on(self, kind: type[E], callback: Callback[E]) -> Callable[[], None]:
        entry = (kind, callback)
        self._callbacks.append(entry)
        return lambda: self._callbacks.remove(entry) if entry in self._callbacks else None

    def subscribe(self) -> EventStream:
        stream = EventStream(self._streams.remove)
        self._streams.append(stream)
        return stream

    def deliver(self, event: Event) -> None:
        """Synchronously to streams and plain callbacks; async callbacks run at `drain()`."""
        for stream in list(self._streams):
            stream.put(event)
        for kind, callback in list(self._callbacks):
            if isinstance(event, kind):
                try:
                    result = callback(event)
                except Exception:
                    log.exception("a %s callback failed", type(event).__name__)
                    continue
                if inspect.isawaitable(result):
                    self._pending.append(result)

    async def drain(self) -> None:
        """Await the async callbacks of what was delivered, in delivery order."""
        while self._pending:
            awaitable = self._pending.pop(0)
            try:
                await awaitable
            except Exception:
                log.exception("an event callback failed")
