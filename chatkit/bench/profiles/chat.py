"""Locust profile `chat`: pairs chatting.

The sender shows a typing indicator before every second message; the recipient marks the
conversation read after every fifth message it gets.

Run by `chatkit bench chat`, which writes the plan this reads (CHATKIT_BENCH_RUN_DIR).
"""

from __future__ import annotations

from chatkit.bench.load.context import BenchShape, install_on_init
from chatkit.bench.load.messaging import MessagingUser


class ChatUser(MessagingUser):
    typing_every = 2
    mark_read_every = 5


class ChatShape(BenchShape):
    pass


install_on_init()
