"""Locust profile `fanout`: every participant has many tabs; each message reaches all of them.

Run by `chatkit bench fanout`, which writes the plan this reads (CHATKIT_BENCH_RUN_DIR).
"""

from __future__ import annotations

from chatkit.bench.load.context import BenchShape, install_on_init
from chatkit.bench.load.messaging import MessagingUser


class FanoutUser(MessagingUser):
    pass


class FanoutShape(BenchShape):
    pass


install_on_init()
