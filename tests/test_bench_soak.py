"""`chatkit bench soak`: mixed traffic while the server's resources are sampled, and a failure
when one keeps growing after the warm-up. The short run is a smoke test of the whole path;
the growth rule itself is checked on series with a known shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatkit.bench.soak import ResourceSample, failures, verdict, warm_up_seconds
from tests.support.api import Api
from tests.support.commands import clean_environment, run_to_end
from tests.support.processes import get_text

RESOURCES = ("rss_mb", "open_fds", "asyncio_tasks", "db_connections")


@pytest.mark.bench
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_short_soak_runs_everything_and_finds_nothing_growing(tmp_path: Path) -> None:
    report_file = tmp_path / "soak.json"
    # 40 s: the warm-up is never shorter than 30 s (see warm_up_seconds), then 10 samples.
    done = run_to_end(
        *("bench", "soak", "--duration", "40", "--report", str(report_file)),
        cwd=tmp_path,
        env=clean_environment(),
        timeout=240,
    )
    report = json.loads(report_file.read_text())

    assert done.returncode == 0, done.stdout + done.stderr
    assert report["passed"] is True and report["failures"] == []
    messages = report["messages"]
    assert messages["sent"] > 0 and messages["lost"] == messages["duplicated"] == 0
    assert report["reads"]["ok"] > 0, "history reads ran"
    assert report["connections"]["opened"] > 2 * 10, "sockets were churned beside the held ones"
    assert report["latency_ms"]["ack"]["count"] > 0, "typing, read marks, idle sockets answered"
    assert report["errors"]["count"] == 0, report["errors"]
    trends = report["soak"]["resources"]
    assert report["soak"]["samples"] >= 8
    for name in RESOURCES:
        assert trends[name]["measured"] is True, name
        assert trends[name]["growing"] is False, (name, trends[name])
    assert trends["db_connections"]["peak"] >= 1
    assert "soak: asyncio_tasks" in done.stdout


def _series(name: str, values: list[float]) -> list[ResourceSample]:
    return [ResourceSample(float(at), {name: value}) for at, value in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "growing"),
    [
        ([100 + 0.5 * i for i in range(60)], True),  # a leak: +30 MB over the run
        ([100 + (i % 7) for i in range(60)], False),  # noise around a level
        ([100.0] * 30 + [140.0] * 30, False),  # a cache that filled once, then held
        ([100 + 0.1 * i for i in range(60)], False),  # rising, but within the allowance
    ],
    ids=["leak", "noise", "step", "slight"],
)
def test_growth_means_a_steady_rise_beyond_the_allowance(
    values: list[float], growing: bool
) -> None:
    trends = verdict(_series("rss_mb", values), 0, 60)

    assert trends["resources"]["rss_mb"]["growing"] is growing
    assert bool(failures(trends)) is growing
    if growing:
        assert "rss_mb kept growing" in failures(trends)[0]


def test_too_few_samples_fail_instead_of_passing_silently() -> None:
    trends = verdict(_series("rss_mb", [1.0, 2.0, 3.0]), 0, 10)

    assert trends["resources"]["rss_mb"]["measured"] is False
    assert failures(trends) == ["soak: too few samples after the warm-up to tell (run longer)"]
    assert warm_up_seconds(20) == 30 and warm_up_seconds(600) == 120


async def test_metrics_show_asyncio_tasks_and_database_connections(api: Api) -> None:
    await api.pair()

    text = await get_text(f"{api.server.url}/metrics")

    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith(("chatkit_asyncio_tasks ", "chatkit_db_connections "))
    }
    assert values["chatkit_asyncio_tasks"] >= 1
    assert values["chatkit_db_connections"] >= 1
