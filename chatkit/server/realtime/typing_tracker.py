"""Typing indicators that cannot get stuck.

A "typing" state is kept per (conversation, user) on the process that holds the typer's
socket. It ends — and everyone is told `isTyping: false` — when the typer says so, when it is
not refreshed within `timeout` seconds, when the typer's socket disconnects, or when a message
from the typer is stored. A stop is relayed even when this process remembers no start: the
start may have come through another tab's socket or another process. Repeats of "still
typing" are broadcast from a small bucket (a burst of REPEAT_BURST, then REPEAT_RATE per
second); beyond it they only refresh the expiry, so a client that sends one event per
keystroke costs two broadcasts a second, not one per key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from chatkit.server.data.store.messages import Result, SendResult

REPEAT_BURST = 3.0
REPEAT_RATE = 2.0


@dataclass(slots=True)
class _Typing:
    sid: str
    expiry: asyncio.TimerHandle
    tokens: float
    refilled_at: float

    def take(self, now: float) -> bool:
        self.tokens = min(REPEAT_BURST, self.tokens + (now - self.refilled_at) * REPEAT_RATE)
        self.refilled_at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


# (conversation_id, user_id, is_typing) -> broadcast it
Broadcast = Callable[[str, str, bool], None]


class TypingTracker:
    """`broadcast` is the publisher's `user_typing`; the message writer calls `committed`
    after each commit (it is one of the writer's commit listeners), after the publisher."""

    def __init__(self, broadcast: Broadcast, *, timeout: float) -> None:
        self._broadcast = broadcast
        self._timeout = timeout
        self._active: dict[tuple[str, str], _Typing] = {}

    def update(self, conversation_id: str, user_id: str, sid: str, is_typing: bool) -> bool:
        """Record a typing event; returns whether it was broadcast."""
        key = (conversation_id, user_id)
        current = self._active.get(key)
        loop = asyncio.get_running_loop()
        if not is_typing:
            if current is None:
                # The start may have gone through another process or another tab: a stop is
                # relayed even when this process holds nothing, or an indicator stays stuck.
                self._broadcast(conversation_id, user_id, False)
            else:
                self._end(key)
            return True
        if current is not None:
            current.expiry.cancel()
            current.expiry = loop.call_later(self._timeout, self._end, key)
            current.sid = sid
            if not current.take(loop.time()):
                return False
            self._broadcast(conversation_id, user_id, True)
            return True
        self._active[key] = _Typing(
            sid=sid,
            expiry=loop.call_later(self._timeout, self._end, key),
            tokens=REPEAT_BURST - 1.0,
            refilled_at=loop.time(),
        )
        self._broadcast(conversation_id, user_id, True)
        return True

    def committed(self, results: list[Result]) -> None:
        """A stored message ends its sender's typing."""
        if not self._active:
            return
        for result in results:
            if isinstance(result, SendResult) and result.created:
                key = (result.message.conversation_id, result.message.sender_id)
                if key in self._active:
                    self._end(key)

    def socket_closed(self, sid: str) -> None:
        for key in [key for key, typing in self._active.items() if typing.sid == sid]:
            self._end(key)

    def clear(self) -> None:
        for typing in self._active.values():
            typing.expiry.cancel()
        self._active.clear()

    def _end(self, key: tuple[str, str]) -> None:
        typing = self._active.pop(key, None)
        if typing is None:
            return
        typing.expiry.cancel()
        self._broadcast(key[0], key[1], False)
