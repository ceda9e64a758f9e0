"""Users that send messages and hold every socket of their conversations (chat, burst, fanout).

A user owns the conversations of its slot: for each it opens `tabs` sockets per participant,
then POSTs as mentor and mentee in turn. Every socket must get every message; the tracker
checks that and measures POST start → `new_message` on the other participant's sockets.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import gevent

from chatkit.bench import results as r
from chatkit.bench.load.base import BenchUser
from chatkit.bench.load.sockets import BenchSocket, SocketFailure
from chatkit.bench.plan import message_content
from chatkit.bench.tracking import FAILED, SENT, UNCONFIRMED, MessageTracker
from chatkit.event_names import NEW_MESSAGE

MESSAGES_PATH = "/api/conversations/{id}/messages"


class MessagingUser(BenchUser):
    abstract = True
    typing_every = 0  # a typing indicator (with ack) before every n-th message; 0: never
    mark_read_every = 0  # the recipient marks read after every n-th message it gets; 0: never

    def setup(self) -> None:
        self.owned = self.plan.slots[self.slot]
        self.tracker = MessageTracker(
            self.bench.result,
            self.plan.run_id,
            {index: self.plan.conversations[index].id for index in self.owned},
            on_delivery=lambda ms: self.bench.fire("DELIVER", "new_message", ms),
        )
        self.bench.trackers.append(self.tracker)
        self.first_socket: dict[tuple[int, int], BenchSocket] = {}
        for index in self.owned:
            conversation = self.plan.conversations[index]
            for person in (conversation.mentor, conversation.mentee):
                for _ in range(self.plan.tabs):
                    socket = self._connect(index, person)
                    self.first_socket.setdefault((index, person), socket)
        self.turns = itertools.cycle(self.owned)

    def _connect(self, index: int, person: int) -> BenchSocket:
        person_id = self.plan.people[person].id
        received = itertools.count(1)
        holder: list[BenchSocket] = []

        def on_message(payload: Any) -> None:
            self.tracker.received(holder[0].socket_id, payload, time.monotonic())
            if self.mark_read_every and holder[0] is self.first_socket.get((index, person)):
                message = payload.get("message") if isinstance(payload, dict) else None
                sender = message.get("senderId") if isinstance(message, dict) else None
                if sender != person_id and next(received) % self.mark_read_every == 0:
                    gevent.spawn(self._ask, holder[0], "mark_read", index)

        socket = self.open_socket(
            self.plan.people[person].token,
            on_drop=lambda: self.tracker.drop_socket(holder[0].socket_id),
        )
        holder.append(socket)
        socket.on(NEW_MESSAGE, on_message, namespace="/chat")
        self.tracker.add_socket(index, socket.socket_id, person)
        return socket

    def steady(self) -> None:
        self.repeat(self.send_one, concurrency=self.plan.in_flight)

    def send_one(self) -> None:
        index = next(self.turns)
        conversation = self.plan.conversations[index]
        sender = conversation.mentor if self._mentor_turn(index) else conversation.mentee
        if self.typing_every and self.tracker.begun(index) % self.typing_every == 0:
            self._ask(self.first_socket[(index, sender)], "typing", index, isTyping=True)
        started = time.monotonic()
        counter = self.tracker.begin(index, sender, started)
        outcome = UNCONFIRMED
        with self.http.post(
            MESSAGES_PATH.format(id=conversation.id),
            json={"content": message_content(self.plan.run_id, index, counter)},
            headers=self.auth(sender),
            name="/api/conversations/:id/messages",
            catch_response=True,
        ) as response:
            status = response.status_code or 0
            if 200 <= status < 300:
                outcome = SENT
                response.success()
            else:
                outcome = FAILED if 400 <= status < 500 else UNCONFIRMED
                counter_name = r.POST_FAILED if outcome == FAILED else r.POST_UNCONFIRMED
                detail = f"POST answered {status}: {(response.text or '')[:200]}"
                self.bench.result.error(counter_name, detail)
                response.failure(detail)
        self.tracker.finished(index, counter, outcome, time.monotonic())

    def _mentor_turn(self, index: int) -> bool:
        return self.tracker.begun(index) % 2 == 0

    def _ask(self, socket: BenchSocket, event: str, index: int, **extra: Any) -> None:
        payload = {"conversationId": self.plan.conversations[index].id, **extra}
        started = time.monotonic()
        try:
            ms = socket.ask(event, payload)
        except SocketFailure as exc:
            if not self.closing:
                self.bench.result.error(r.ACK_FAILED, str(exc))
            return
        self.bench.result.count(r.ACKS)
        self.bench.result.sample("ack", started, ms)

    def settle(self) -> None:
        self.wait_until(lambda: self.tracker.outstanding() == 0, self.plan.grace)
