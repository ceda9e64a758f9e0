"""The soak user: a little of everything, for as long as the run lasts.

Each user chats in the conversations of its slot like `chat` (typing before every second
message, read marks after every fifth), and beside that, until the drain, reconnects a
socket of its own every `churn_every` seconds, reads the conversation list or a history page
every `read_every` seconds, and holds one idle socket that must still answer at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent

from chatkit.bench import results as r
from chatkit.bench.load.connections import NIL_CONVERSATION
from chatkit.bench.load.messaging import MESSAGES_PATH, MessagingUser
from chatkit.bench.load.sockets import BenchSocket, SocketFailure


class SoakUser(MessagingUser):
    abstract = True
    typing_every = 2
    mark_read_every = 5
    churn_every = 2.0
    read_every = 1.0

    def setup(self) -> None:
        super().setup()
        conversation = self.plan.conversations[self.owned[0]]
        self.reader = conversation.mentee
        self.reads = 0
        self.idle = self.open_socket(self.plan.people[conversation.mentor].token)

    def steady(self) -> None:
        side = [
            gevent.spawn(self._every, self.churn_every, self.churn_once),
            gevent.spawn(self._every, self.read_every, self.read_once),
        ]
        try:
            super().steady()
        finally:
            gevent.joinall(side)

    def _every(self, seconds: float, operation: Callable[[], None]) -> None:
        while not self.draining:
            operation()
            self.bench.drain.wait(timeout=seconds)

    def churn_once(self) -> None:
        """A tab that comes and goes: connect (auth, auto-join), then leave again."""
        socket = BenchSocket(self.environment.events.request, socket_id=0)
        started = time.monotonic()
        try:
            ms = socket.open(
                self.plan.url, self.plan.people[self.reader].token, transport=self.plan.transport
            )
        except SocketFailure as exc:
            self.bench.result.error(r.CONNECT_FAILED, str(exc))
            return
        finally:
            socket.close()
        self.bench.result.count(r.CONNECTS)
        self.bench.result.tick(r.CONNECTS, started)
        self.bench.result.sample("connect", started, ms)

    def read_once(self) -> None:
        """The conversation list and the latest history page, in turn."""
        self.reads += 1
        if self.reads % 2:
            path, name, kind = "/api/conversations", "/api/conversations", "list"
        else:
            conversation = self.plan.conversations[self.owned[0]]
            path = MESSAGES_PATH.format(id=conversation.id) + "?limit=50"
            name, kind = "/api/conversations/:id/messages", "page"
        started = time.monotonic()
        with self.http.get(
            path, headers=self.auth(self.reader), name=name, catch_response=True
        ) as response:
            ms = (time.monotonic() - started) * 1000
            if response.status_code != 200:
                detail = f"GET {name} answered {response.status_code}"
                self.bench.result.error(r.READ_FAILED, detail)
                response.failure(detail)
                return
            response.success()
        self.bench.result.count(r.READS)
        self.bench.result.tick(r.READS, started)
        self.bench.result.sample(kind, started, ms)

    def settle(self) -> None:
        super().settle()
        if self.idle.dropped:  # already counted as a drop
            return
        started = time.monotonic()
        try:
            ms = self.idle.ask("leave_conversation", {"conversationId": NIL_CONVERSATION})
        except SocketFailure as exc:
            self.bench.result.error(r.ACK_FAILED, str(exc))
            return
        self.bench.result.count(r.ACKS)
        self.bench.result.sample("ack", started, ms)
