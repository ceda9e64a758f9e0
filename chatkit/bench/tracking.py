"""Correctness and delivery latency of the messages one Locust user sends and receives.

A Locust user owns its conversations outright: it holds every socket of both participants
and makes every POST into them. So the tracker knows, for each message, which sockets must
receive it, and checks on each `new_message`:

- lost: a socket that was connected when the POST started never got a message whose POST
  was answered 2xx (counted once sending has stopped and the grace period is over);
- duplicated: a socket got the same message twice;
- out of order: with `seq` (chatkit), a socket got a lower seq after a higher one; without it
  (a foreign server), a socket got message m after some message m2 whose POST started only
  after m's POST had been answered. The server stored m first, so it must push m first.

Delivery latency is measured from the start of the POST to the `new_message` on each socket
of the *other* participant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatkit.bench import results as r
from chatkit.bench.plan import parse_content

SENT, FAILED, UNCONFIRMED = "sent", "failed", "unconfirmed"


@dataclass(slots=True)
class _Pending:
    started: float
    sender: int  # person index
    watermark: int  # every counter up to this was answered before this POST started
    waiting: set[int]  # sockets that have not received it yet
    got: set[int] = field(default_factory=set)
    confirmed: bool | None = None  # None while the POST is in flight


@dataclass(slots=True)
class _Conversation:
    index: int
    id: str
    sockets: dict[int, int] = field(default_factory=dict)  # socket id -> person index
    counter: int = 0
    watermark: int = 0
    answered: set[int] = field(default_factory=set)
    pending: dict[int, _Pending] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _View:
    """What one socket has seen of one conversation."""

    last_seq: int = -1
    watermark: int = 0


class MessageTracker:
    def __init__(
        self,
        result: r.WorkerResult,
        run_id: str,
        conversations: dict[int, str],
        *,
        on_delivery: Callable[[float], None] | None = None,
    ) -> None:
        self._result = result
        self._run_id = run_id
        self._conversations = {
            index: _Conversation(index, conversation_id)
            for index, conversation_id in conversations.items()
        }
        self._views: dict[tuple[int, int], _View] = {}
        self._on_delivery = on_delivery
        self._closed = False

    # --- sockets ----------------------------------------------------------------------------

    def add_socket(self, conversation: int, socket_id: int, person: int) -> None:
        """From now on, messages of `conversation` must reach this socket."""
        self._conversations[conversation].sockets[socket_id] = person
        self._views[(socket_id, conversation)] = _View()

    def drop_socket(self, socket_id: int) -> None:
        """The socket is gone: stop expecting it (the drop itself is counted as an error)."""
        for state in self._conversations.values():
            if state.sockets.pop(socket_id, None) is not None:
                for pending in state.pending.values():
                    pending.waiting.discard(socket_id)
                self._complete_ready(state)

    # --- sending ----------------------------------------------------------------------------

    def begin(self, conversation: int, sender: int, now: float) -> int:
        """Register a POST about to start; returns the counter its content must carry."""
        state = self._conversations[conversation]
        state.counter += 1
        state.pending[state.counter] = _Pending(
            started=now, sender=sender, watermark=state.watermark, waiting=set(state.sockets)
        )
        return state.counter

    def begun(self, conversation: int) -> int:
        """How many POSTs into `conversation` have begun."""
        return self._conversations[conversation].counter

    def finished(self, conversation: int, counter: int, outcome: str, now: float) -> None:
        if self._closed:
            return
        state = self._conversations[conversation]
        pending = state.pending[counter]
        self._result.sample("post", pending.started, (now - pending.started) * 1000)
        state.answered.add(counter)
        while state.watermark + 1 in state.answered:
            state.watermark += 1
            state.answered.discard(state.watermark)
        if outcome == SENT:
            pending.confirmed = True
            self._result.count(r.SENT)
            self._result.tick(r.SENT, pending.started)
            if not pending.waiting:
                self._complete(state, counter, now)
        elif outcome == FAILED:
            del state.pending[counter]
            state.refused.add(counter)
        else:
            pending.confirmed = False

    # --- receiving --------------------------------------------------------------------------

    def received(self, socket_id: int, payload: Any, now: float) -> None:
        if self._closed:  # the result is written; what comes now is not part of the run
            return
        message = payload.get("message") if isinstance(payload, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        parsed = parse_content(content, self._run_id)
        state = self._conversations.get(parsed[0]) if parsed else None
        if parsed is None or state is None or payload.get("conversationId") != state.id:
            self._result.error(r.UNEXPECTED, f"new_message not sent by this run: {payload!r}")
            return
        assert isinstance(message, dict)
        counter = parsed[1]
        pending = state.pending.get(counter)
        if pending is None:
            if counter in state.refused or counter > state.counter:
                self._result.error(r.UNEXPECTED, f"new_message for a refused POST: {content}")
            else:  # completed earlier: every socket already had it
                self._result.count(r.DUPLICATED)
            return
        if socket_id in pending.got:
            self._result.count(r.DUPLICATED)
            return
        self._check_order(socket_id, state, counter, pending, message.get("seq"))
        pending.got.add(socket_id)
        self._result.count(r.DELIVERIES)
        self._result.tick(r.DELIVERIES, now)
        person = state.sockets.get(socket_id)
        if person is not None and person != pending.sender:
            ms = (now - pending.started) * 1000
            self._result.sample("delivery", pending.started, ms)
            if self._on_delivery is not None:
                self._on_delivery(ms)
        pending.waiting.discard(socket_id)
        if not pending.waiting and pending.confirmed:
            self._complete(state, counter, now)

    def _check_order(
        self, socket_id: int, state: _Conversation, counter: int, pending: _Pending, seq: object
    ) -> None:
        view = self._views.setdefault((socket_id, state.index), _View())
        if isinstance(seq, int) and not isinstance(seq, bool):
            if seq <= view.last_seq:
                self._result.count(r.OUT_OF_ORDER)
            view.last_seq = max(view.last_seq, seq)
            return
        if counter <= view.watermark:
            self._result.count(r.OUT_OF_ORDER)
        view.watermark = max(view.watermark, pending.watermark)

    def _complete(self, state: _Conversation, counter: int, now: float) -> None:
        del state.pending[counter]
        self._result.count(r.MESSAGES_DELIVERED)
        self._result.tick(r.MESSAGES_DELIVERED, now)

    def _complete_ready(self, state: _Conversation) -> None:
        for counter, pending in list(state.pending.items()):
            if pending.confirmed and not pending.waiting:
                self._complete(state, counter, pending.started)

    # --- the end ----------------------------------------------------------------------------

    def outstanding(self) -> int:
        """Messages still in flight or still owed to some socket."""
        return sum(
            1
            for state in self._conversations.values()
            for pending in state.pending.values()
            if pending.confirmed is None or (pending.confirmed and pending.waiting)
        )

    def close(self) -> None:
        """Count what never arrived as lost; call after sending stopped and the grace."""
        if self._closed:
            return
        self._closed = True
        for state in self._conversations.values():
            for pending in state.pending.values():
                if pending.confirmed and pending.waiting:
                    self._result.count(r.LOST, len(pending.waiting))
                    self._result.count(r.LOST_MESSAGES)
            state.pending.clear()
