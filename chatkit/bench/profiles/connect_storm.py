"""Locust profile `connect-storm`: sockets connect (JWT, auto-join) and leave, back to back.

Run by `chatkit bench connect-storm`, which writes the plan this reads (CHATKIT_BENCH_RUN_DIR).
"""

from __future__ import annotations

from chatkit.bench.load.connections import Connector
from chatkit.bench.load.context import BenchShape, install_on_init


class ConnectStormUser(Connector):
    pass


class StormShape(BenchShape):
    pass


install_on_init()
