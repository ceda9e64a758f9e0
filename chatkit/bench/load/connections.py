"""Users that are about connections rather than messages (connect-storm, idle)."""

from __future__ import annotations

import itertools
import time

from chatkit.bench import results as r
from chatkit.bench.load.base import BenchUser
from chatkit.bench.load.sockets import BenchSocket, SocketFailure

NIL_CONVERSATION = "00000000-0000-0000-0000-000000000000"


class Connector(BenchUser):
    """Connect (handshake, JWT check, auto-join: the connect ack comes after all three) and
    disconnect again, as the people of its slot in turn."""

    abstract = True

    def setup(self) -> None:
        self.people = itertools.cycle(self.plan.slots[self.slot])

    def steady(self) -> None:
        self.repeat(self.connect_once, concurrency=self.plan.in_flight)

    def connect_once(self) -> None:
        person = next(self.people)
        socket = BenchSocket(self.environment.events.request, socket_id=0)
        started = time.monotonic()
        try:
            ms = socket.open(
                self.plan.url, self.plan.people[person].token, transport=self.plan.transport
            )
        except SocketFailure as exc:
            self.bench.result.error(r.CONNECT_FAILED, str(exc))
            return
        finally:
            socket.close()
        result = self.bench.result
        result.count(r.CONNECTS)
        result.tick(r.CONNECTS, started)
        result.sample("connect", started, ms)


class IdleHolder(BenchUser):
    """Hold `tabs` sockets per person of its slot open and quiet; at the end prove each one
    still answers (an ack'd `leave_conversation`), so a silently dead socket is counted."""

    abstract = True

    def setup(self) -> None:
        for person in self.plan.slots[self.slot]:
            for _ in range(self.plan.tabs):
                self.open_socket(self.plan.people[person].token)

    def settle(self) -> None:
        for socket in self.sockets:
            if socket.dropped:  # already counted as a drop
                continue
            started = time.monotonic()
            try:
                ms = socket.ask("leave_conversation", {"conversationId": NIL_CONVERSATION})
            except SocketFailure as exc:
                self.bench.result.error(r.ACK_FAILED, str(exc))
                continue
            self.bench.result.count(r.ACKS)
            self.bench.result.sample("ack", started, ms)
