"""`chatkit bench` end to end, as a user runs it: the command in a subprocess, Locust in its own.

A short run of every profile against the embedded server must pass with nothing lost, and
servers that drop, duplicate or reorder `new_message` must be reported as such with exit 1.

SQLite only (the `bench` marker): every run starts its own embedded `chatkit serve` on a
temporary SQLite file, and the flawed servers below keep their state in memory.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
import socketio
from aiohttp import web
from typer.testing import CliRunner

from chatkit.cli import app
from chatkit.commands.bench import LoadShape
from tests.support.commands import clean_environment, run_to_end

pytestmark = pytest.mark.bench

SECRET = "bench-test-secret-0123456789-abcdef"
RUN_TIMEOUT = 120
T = TypeVar("T")

# All runs go at once (see `runs`), so all but `chat` (the closed loop: as fast as the server
# answers) run open loop at modest rates, to stay short on a small shared machine. The
# embedded server runs in its default configuration, so the open-loop rates stay under the
# default message_rate (a burst of 1,200, then 120/second per user); `chat` sends past it.
SMOKE: dict[str, list[str]] = {
    "chat": ["--users", "2", "--server-setting", "message_rate=off"],
    "burst": ["--users", "2", "--rate", "40"],
    "fanout": ["--users", "2", "--tabs", "3", "--rate", "20"],
    "connect-storm": ["--users", "2", "--rate", "40"],
    "idle": ["--users", "20", "--spawn-rate", "20"],
    "history": ["--users", "2", "--conversations", "4", "--messages", "120", "--rate", "80"],
}
FLAWS = ("drop", "duplicate", "reorder")
# The reorder run is a closed loop (the `chat` default: each conversation's next POST starts
# once the previous one was answered), so the message the server holds back is always
# overtaken by one the bench knows was sent after it, however slow the generator is. Its
# longer grace covers a held message that turns out to be the conversation's last (see
# FlawedServer.push).
FLAW_LOAD = {
    "drop": ["--rate", "60", "--grace", "1"],
    "duplicate": ["--rate", "60", "--grace", "1"],
    "reorder": ["--grace", "5"],
}
# Only for a held message no other follows: the bench has stopped sending by then.
LAST_MESSAGE_RELEASE = 2.0
SOCKETS_PER_CONVERSATION = {"chat": 2, "burst": 2, "fanout": 6}  # fanout: 3 tabs each


@dataclass
class Run:
    code: int
    output: str
    report: dict[str, Any]
    pushed: int = 0  # flawed servers: new_message events they were asked to push


def _start(name: str, profile: str, folder: Path, *args: str) -> subprocess.Popen[str]:
    report = folder / f"{name}.json"
    return subprocess.Popen(
        [sys.executable, "-m", "chatkit", "bench", profile, "--report", str(report), *args],
        cwd=folder,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(name: str, process: subprocess.Popen[str], folder: Path) -> Run:
    output, _ = process.communicate(timeout=RUN_TIMEOUT)
    path = folder / f"{name}.json"
    assert path.is_file(), f"no report (exit {process.returncode}):\n{output}"
    return Run(process.returncode, output, json.loads(path.read_text()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every profile against the embedded server, and `chat` against each flawed server,
    all at the same time: each run mostly waits on its own phases."""
    folder = tmp_path_factory.mktemp("bench")
    with flawed_servers() as servers:
        running = {
            profile: _start(profile, profile, folder, "--duration", "1", *args)
            for profile, args in SMOKE.items()
        }
        for flaw, (_, url) in servers.items():
            args = ["--url", url, "--secret", SECRET, "--users", "2", *FLAW_LOAD[flaw]]
            running[flaw] = _start(flaw, "chat", folder, *args, "--duration", "1")
        finished = {name: _finish(name, process, folder) for name, process in running.items()}
        for flaw, (server, _) in servers.items():
            finished[flaw].pushed = server.pushed
        yield finished


@pytest.mark.parametrize("profile", list(SMOKE))
def test_every_profile_passes_with_nothing_lost(runs: dict[str, Run], profile: str) -> None:
    run = runs[profile]
    report = run.report

    assert run.code == 0, run.output
    assert report["passed"] is True and report["failures"] == []
    assert report["profile"] == profile
    messages = report["messages"]
    assert messages["lost"] == messages["duplicated"] == messages["out_of_order"] == 0
    assert report["errors"]["count"] == 0, report["errors"]
    assert report["target"]["embedded"] is True and report["target"]["database"] == "sqlite"
    expected = "defaults except message_rate=off" if profile == "chat" else "defaults"
    assert report["target"]["configuration"] == expected
    assert re.search(rf"configuration\W+{expected}", run.output), run.output
    assert report["steady_seconds"] >= 0.95
    server = report["server"]
    assert server["cpu_seconds"] is not None and server["rss_mb_steady"] > 0
    assert report["generator"]["processes"] == 1 and report["generator"]["cpu_percent"] >= 0
    assert 0 < report["machine"]["busy_percent"] <= 100
    assert report["machine"]["others_cpu_percent"] is not None
    assert "PASS" in run.output


@pytest.mark.parametrize("profile", list(SOCKETS_PER_CONVERSATION))
def test_messaging_profiles_measure_delivery(runs: dict[str, Run], profile: str) -> None:
    report = runs[profile].report
    messages, latency = report["messages"], report["latency_ms"]

    assert messages["sent"] > 0
    assert messages["delivered"] == messages["sent"]
    assert messages["deliveries"] == SOCKETS_PER_CONVERSATION[profile] * messages["sent"]
    assert messages["delivered_per_second"] > 0
    for kind in ("delivery", "post", "connect"):
        assert set(latency[kind]) == {"count", "p50", "p95", "p99", "max", "mean"}
        # Real durations, never Locust's 0 ms placeholder for socket traffic.
        assert 0 < latency[kind]["p50"] <= latency[kind]["p99"] <= latency[kind]["max"]
    assert report["server"]["cpu_ms_per_operation"] > 0
    assert report["server"]["operation"] == "delivered message"


def test_chat_also_types_and_marks_read(runs: dict[str, Run]) -> None:
    latency = runs["chat"].report["latency_ms"]

    assert latency["ack"]["count"] > 0 and latency["ack"]["p50"] > 0


def test_connect_storm_measures_handshakes(runs: dict[str, Run]) -> None:
    report = runs["connect-storm"].report

    assert report["connections"]["opened"] > 0 and report["connections"]["failed"] == 0
    assert report["connections"]["per_second"] > 0
    assert report["latency_ms"]["connect"]["p99"] > 0
    assert report["server"]["operation"] == "connect"


def test_idle_measures_memory_per_connection(runs: dict[str, Run]) -> None:
    report = runs["idle"].report

    assert report["connections"]["opened"] == 20 and report["connections"]["dropped"] == 0
    assert report["server"]["connections_held"] == 20
    assert report["server"]["rss_kb_per_connection"] is not None
    assert report["latency_ms"]["ack"]["count"] == 20  # every socket still answered at the end


def test_history_reads_are_checked(runs: dict[str, Run]) -> None:
    report = runs["history"].report

    assert report["reads"]["ok"] > 0 and report["reads"]["per_second"] > 0
    assert report["latency_ms"]["list"]["count"] > 0
    assert report["latency_ms"]["page"]["count"] > 0
    assert report["errors"]["by_kind"] == {}  # no mismatch against the seeded history


# --- flawed servers ---------------------------------------------------------------------------


class FlawedServer:
    """Just enough of the contract for `chatkit bench chat`, and one flaw in `new_message`.

    Its messages carry no `seq`, like a server that is not chatkit, so the bench must fall
    back to the counters in the message content.
    """

    def __init__(self, flaw: str) -> None:
        self.flaw = flaw
        self.sessions: dict[str, tuple[str, str]] = {}
        self.conversations: dict[str, tuple[str, str]] = {}
        self.pushed = 0
        self.held: dict[str, dict[str, Any]] = {}
        self.sio = socketio.AsyncServer(async_mode="aiohttp")
        self.app = web.Application()
        self.app.router.add_put("/api/admin/users/{id}", self.put_user)
        self.app.router.add_put("/api/admin/sessions/{id}", self.put_session)
        self.app.router.add_post("/api/conversations/by-session", self.by_session)
        self.app.router.add_post("/api/conversations/{id}/messages", self.send)
        self.sio.attach(self.app)
        self.sio.on("connect", self.connect, namespace="/chat")
        for event in ("typing", "mark_read", "leave_conversation"):
            self.sio.on(event, self.ok, namespace="/chat")

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        user = jwt.decode(auth["token"], SECRET, algorithms=["HS256"])["sub"]
        for conversation_id, people in self.conversations.items():
            if user in people:
                await self.sio.enter_room(sid, conversation_id, namespace="/chat")

    async def ok(self, sid: str, payload: Any) -> dict[str, bool]:
        return {"ok": True}

    async def put_user(self, request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"]}, status=201)

    async def put_session(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sessions[request.match_info["id"]] = (body["mentorId"], body["menteeId"])
        return web.json_response({"id": request.match_info["id"]}, status=201)

    async def by_session(self, request: web.Request) -> web.Response:
        conversation_id = str(uuid.uuid4())
        self.conversations[conversation_id] = self.sessions[(await request.json())["sessionId"]]
        return web.json_response({"id": conversation_id}, status=201)

    async def send(self, request: web.Request) -> web.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        conversation_id = request.match_info["id"]
        message = {
            "id": str(uuid.uuid4()),
            "conversationId": conversation_id,
            "senderId": jwt.decode(token, SECRET, algorithms=["HS256"])["sub"],
            "content": (await request.json())["content"],
        }
        await self.push(conversation_id, {"conversationId": conversation_id, "message": message})
        return web.json_response(message, status=201)

    async def push(self, room: str, payload: dict[str, Any]) -> None:
        self.pushed += 1
        nth = self.pushed % 10 == 0
        if self.flaw == "drop" and nth:
            return
        if self.flaw == "reorder" and nth:
            # Goes out right after the next message of the conversation, whenever that comes.
            self.held[room] = payload
            loop = asyncio.get_running_loop()
            loop.call_later(LAST_MESSAGE_RELEASE, self._release_last, room, payload)
            return
        await self.sio.emit("new_message", payload, room=room, namespace="/chat")
        if self.flaw == "duplicate" and nth:
            await self.sio.emit("new_message", payload, room=room, namespace="/chat")
        held = self.held.pop(room, None)
        if held is not None:
            await self.sio.emit("new_message", held, room=room, namespace="/chat")

    def _release_last(self, room: str, payload: dict[str, Any]) -> None:
        if self.held.get(room) is payload:  # no next message came: the run is over
            del self.held[room]
            asyncio.ensure_future(
                self.sio.emit("new_message", payload, room=room, namespace="/chat")
            )


@contextmanager
def flawed_servers() -> Iterator[dict[str, tuple[FlawedServer, str]]]:
    """One server per flaw, on an event loop in a thread of their own (the bench runs are
    subprocesses this thread waits for)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runners: list[web.AppRunner] = []

    async def start(server: FlawedServer) -> str:
        runner = web.AppRunner(server.app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    def call(work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout=30)

    try:
        servers = {flaw: call(_make(flaw)) for flaw in FLAWS}
        yield {flaw: (server, call(start(server))) for flaw, server in servers.items()}
    finally:
        for runner in runners:
            call(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def _make(flaw: str) -> FlawedServer:
    return FlawedServer(flaw)  # built on the loop that will serve it


def test_a_server_that_drops_every_tenth_message_fails(runs: dict[str, Run]) -> None:
    run = runs["drop"]

    assert run.code == 1, run.output
    messages = run.report["messages"]
    assert run.report["passed"] is False
    assert messages["sent"] == run.pushed >= 20
    assert messages["lost_messages"] == run.pushed // 10
    assert messages["lost"] == 2 * messages["lost_messages"]  # both participants missed each
    assert messages["duplicated"] == messages["out_of_order"] == 0
    assert f"{messages['lost']} lost" in run.report["failures"]
    assert run.report["target"]["embedded"] is False and run.report["server"] is None
    assert "FAIL" in run.output


def test_a_server_that_pushes_twice_fails(runs: dict[str, Run]) -> None:
    run = runs["duplicate"]

    assert run.code == 1, run.output
    messages = run.report["messages"]
    assert messages["duplicated"] == 2 * (run.pushed // 10) > 0
    assert messages["lost"] == messages["out_of_order"] == 0


def test_a_server_that_reorders_fails(runs: dict[str, Run]) -> None:
    run = runs["reorder"]

    assert run.code == 1, run.output
    messages = run.report["messages"]
    assert messages["out_of_order"] > 0
    assert messages["lost"] == messages["duplicated"] == 0


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nonsense"], "'nonsense' is not one of 'chat'"),
        (["chat", "--url", "http://192.0.2.1:4000", "--secret", SECRET], "--allow-remote"),
        (["chat", "--users", "0"], "--users must be at least 1"),
        (["chat", "--url", "http://127.0.0.1:9"], "no signing secret"),
        (["chat", "--server-setting", "message_rate"], "expected NAME=VALUE"),
        (["chat", "--server-setting", "port=1"], "'port' is not a setting the bench may change"),
        (["chat", "--server-setting", "nonsense=1"], "'nonsense' is not a setting"),
        (
            ["chat", "--url", "http://127.0.0.1:9", "--server-setting", "message_rate=off"],
            "--server-setting is for the embedded server",
        ),
        (  # above the largest pid Linux hands out
            ["chat", "--url", "http://127.0.0.1:9", "--secret", SECRET, "--server-pid", "4194305"],
            "no such process",
        ),
    ],
)
def test_refusals_are_one_line_with_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", *args])

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "chatkit.secret").exists()  # never invents a secret


def test_the_command_keeps_gevent_out_of_its_process() -> None:
    check = (
        "import sys, chatkit.cli, chatkit.bench.runner, chatkit.bench.report; "
        "assert 'gevent' not in sys.modules and 'locust' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)


def test_json_prints_the_report_on_stdout_and_report_writes_it(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = ["idle", "--users", "4", "--spawn-rate", "4", "--duration", "1", "--json"]
    result = run_to_end(
        "bench",
        *args,
        "--report",
        str(report),
        cwd=tmp_path,
        env=clean_environment(),
        timeout=RUN_TIMEOUT,
    )

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert printed == json.loads(report.read_text())
    assert printed["passed"] is True
    # The load shape the run had, whether given (--users ...) or the profile's default, under
    # the names of the options that set it.
    assert printed["options"] == {
        "users": 4,
        "spawn_rate": 4,
        "duration": 1,
        "conversations": 4,
        "tabs": 1,
        "in_flight": 1,
        "messages": 0,
        "rate": None,
        "processes": 1,
        "grace": 5.0,
        "transport": "websocket",
        "max_error_rate": 0.01,
    }
    assert set(printed["options"]) == {option.name for option in fields(LoadShape)}
