"""Locust profile `soak`: mixed traffic for a long time (see chatkit.bench.load.soak).

Run by `chatkit bench soak`, which writes the plan this reads (CHATKIT_BENCH_RUN_DIR) and
samples the server's resources meanwhile (chatkit.bench.soak).
"""

from __future__ import annotations

from chatkit.bench.load.context import BenchShape, install_on_init
from chatkit.bench.load.soak import SoakUser


class MixedUser(SoakUser):
    pass


class SoakShape(BenchShape):
    pass


install_on_init()
