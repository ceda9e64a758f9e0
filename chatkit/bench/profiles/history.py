"""Locust profile `history`: conversation lists and history pages over a seeded history.

Run by `chatkit bench history`, which writes the plan this reads (CHATKIT_BENCH_RUN_DIR).
"""

from __future__ import annotations

from chatkit.bench.load.context import BenchShape, install_on_init
from chatkit.bench.load.history import HistoryReader


class HistoryUser(HistoryReader):
    pass


class HistoryShape(BenchShape):
    pass


install_on_init()
