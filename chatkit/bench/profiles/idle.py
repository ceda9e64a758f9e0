"""Locust profile `idle`: idle sockets held open, to measure server memory per connection.

Run by `chatkit bench idle`, which writes the plan this reads (CHATKIT_BENCH_RUN_DIR).
"""

from __future__ import annotations

from chatkit.bench.load.connections import IdleHolder
from chatkit.bench.load.context import BenchShape, install_on_init


class IdleUser(IdleHolder):
    pass


class IdleShape(BenchShape):
    pass


install_on_init()
