"""Locust profile `burst`: many POSTs in flight into each of a few conversations.

Run by `chatkit bench burst`, which writes the plan this reads (CHATKIT_BENCH_RUN_DIR).
"""

from __future__ import annotations

from chatkit.bench.load.context import BenchShape, install_on_init
from chatkit.bench.load.messaging import MessagingUser


class BurstUser(MessagingUser):
    pass


class BurstShape(BenchShape):
    pass


install_on_init()
