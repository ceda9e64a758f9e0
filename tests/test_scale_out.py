"""Several `chatkit serve` processes sharing one database and one Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatkit.config import Settings
from chatkit.server.data.database import Database
from chatkit.server.data.models import notifications_table
from tests.support.api import Api
from tests.support.processes import (
    RedisServer,
    ServeProcess,
    eventually,
    get_status,
    get_text,
    serving,
)
from tests.support.server import Endpoint
from tests.support.sockets import connected

pytestmark = pytest.mark.redis

SECRET = "scale-out-test-secret-0123456789"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def environment(database_url: str, redis_server: RedisServer) -> dict[str, str]:
    return {
        "CHATKIT_DATABASE_URL": database_url,
        "CHATKIT_REDIS_URL": redis_server.url,
        "CHATKIT_JWT_SECRET": SECRET,
        "CHATKIT_PRESENCE_TTL": "2",
        "CHATKIT_NOTIFY_DELAY": "3600",
    }


@pytest.fixture
def two_servers(
    tmp_path: Path, environment: dict[str, str]
) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    with serving(tmp_path, environment) as first, serving(tmp_path, environment) as second:
        yield first, second


def _endpoint(server: ServeProcess, environment: dict[str, str]) -> Endpoint:
    settings = Settings(jwt_secret=SECRET, database_url=environment["CHATKIT_DATABASE_URL"])
    return Endpoint(settings=settings, url=server.url)


async def _queued_notifications(database_url: str, user_id: str) -> int:
    database = Database(database_url)
    try:
        query = (
            select(func.count())
            .select_from(notifications_table)
            .where(notifications_table.c.user_id == user_id)
        )
        count = await database.run_read(lambda conn: conn.scalar(query))
        return int(count or 0)
    finally:
        await database.dispose()


async def test_events_cross_processes(
    two_servers: tuple[ServeProcess, ServeProcess], environment: dict[str, str]
) -> None:
    a, b = (_endpoint(server, environment) for server in two_servers)
    async with Api(a) as api_a, Api(b) as api_b:
        pair = await api_a.pair(open_conversation=False)
        async with (
            connected(a.url, pair.mentor_token) as mentor_on_a,
            connected(b.url, pair.mentee_token) as mentee_on_b,
        ):
            # Created on A while the mentee is connected to B: B's socket joins the room.
            created = await api_a.post(
                "/api/conversations/by-session",
                token=pair.mentor_token,
                json={"sessionId": pair.session_id},
            )
            conversation_id = created.body["id"]
            sent = await api_a.send(pair.mentor_token, conversation_id, "from process A")
            pushed = await mentee_on_b.next("new_message")
            assert pushed["message"] == sent.body

            ack = await mentor_on_a.call(
                "typing", {"conversationId": conversation_id, "isTyping": True}
            )
            typing = await mentee_on_b.next("user_typing")
            assert ack == {"ok": True}
            assert typing["userId"] == pair.mentor_id

            read = await api_b.patch(
                f"/api/conversations/{conversation_id}/read", token=pair.mentee_token
            )
            receipt = await mentor_on_a.next("messages_read")
            assert receipt == read.body
            assert receipt["count"] == 1


async def test_typing_stop_through_another_process_is_relayed(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    # A long timeout: only the relayed stop, not the expiry, can end the indicator in time.
    env = {**environment, "CHATKIT_TYPING_TIMEOUT": "600"}
    with serving(tmp_path, env) as server_a, serving(tmp_path, env) as server_b:
        a, b = _endpoint(server_a, env), _endpoint(server_b, env)
        async with Api(a) as api:
            pair = await api.pair()
            cid = pair.conversation_id
            async with (
                connected(a.url, pair.mentee_token) as mentee_on_a,
                connected(a.url, pair.mentor_token) as mentor_on_a,
                connected(b.url, pair.mentor_token) as mentor_on_b,
            ):
                await mentor_on_a.call("typing", {"conversationId": cid, "isTyping": True})
                started = await mentee_on_a.next("user_typing")
                ack = await mentor_on_b.call("typing", {"conversationId": cid, "isTyping": False})
                stopped = await mentee_on_a.next("user_typing")

    assert started["isTyping"] is True
    assert ack == {"ok": True}
    assert stopped == {"conversationId": cid, "userId": pair.mentor_id, "isTyping": False}


async def test_presence_is_shared_and_expires_after_a_crash(
    two_servers: tuple[ServeProcess, ServeProcess], environment: dict[str, str]
) -> None:
    server_a, server_b = two_servers
    a, b = _endpoint(server_a, environment), _endpoint(server_b, environment)
    database_url = environment["CHATKIT_DATABASE_URL"]
    async with Api(a) as api_a:
        pair = await api_a.pair()
        async with connected(b.url, pair.mentee_token) as mentee_on_b:
            await api_a.send(pair.mentor_token, pair.conversation_id, "she is online on B")
            await mentee_on_b.next("new_message")
            assert await _queued_notifications(database_url, pair.mentee_id) == 0

            server_b.kill()  # SIGKILL: no chance to say goodbye

            async def offline_notification_is_queued() -> bool:
                await api_a.send(pair.mentor_token, pair.conversation_id, str(uuid.uuid4()))
                return await _queued_notifications(database_url, pair.mentee_id) > 0

            await eventually(offline_notification_is_queued, timeout=10, interval=0.5)


async def test_redis_outage_keeps_messages_and_readiness_tells(
    two_servers: tuple[ServeProcess, ServeProcess],
    environment: dict[str, str],
    redis_server: RedisServer,
) -> None:
    a, b = (_endpoint(server, environment) for server in two_servers)
    async with Api(a) as api_a:
        pair = await api_a.pair()
        assert await get_status(f"{a.url}/readyz") == 200

        redis_server.stop()
        during = await api_a.send(pair.mentor_token, pair.conversation_id, "while redis is down")

        async def not_ready() -> bool:
            return await get_status(f"{a.url}/readyz") == 503

        await eventually(not_ready)
        assert during.status == 201
        history = await api_a.get(
            f"/api/conversations/{pair.conversation_id}/messages", token=pair.mentee_token
        )
        assert [m["id"] for m in history.body["messages"]] == [during.body["id"]]

        redis_server.start()

        async def ready_again() -> bool:
            return (
                await get_status(f"{a.url}/readyz") == 200
                and await get_status(f"{b.url}/readyz") == 200
            )

        await eventually(ready_again, timeout=15)
        async with connected(b.url, pair.mentee_token) as mentee_on_b:
            after = await api_a.send(pair.mentor_token, pair.conversation_id, "redis is back")
            pushed = await mentee_on_b.next("new_message")
        assert pushed["message"]["id"] == after.body["id"]


async def test_workers_share_one_port(tmp_path: Path, environment: dict[str, str]) -> None:
    import psutil

    with serving(tmp_path, environment, "--workers", "2") as server:
        assert "with 2 workers" in server.output[-1]
        children = psutil.Process(server.process.pid).children()
        # Spawned workers run multiprocessing.spawn; the resource tracker is not a worker.
        workers = [
            child for child in children if any("spawn_main" in part for part in child.cmdline())
        ]
        assert len(workers) == 2
        endpoint = _endpoint(server, environment)
        async with Api(endpoint) as api:
            pairs = [await api.pair() for _ in range(6)]
            # Each socket lands on whichever worker the kernel picks; delivery must not care.
            for pair in pairs:
                async with connected(endpoint.url, pair.mentee_token) as mentee:
                    sent = await api.send(pair.mentor_token, pair.conversation_id, "hi")
                    assert (await mentee.next("new_message"))["message"]["id"] == sent.body["id"]
        metrics = await get_text(f"{endpoint.url}/metrics")
        assert "chatkit_messages_stored_total 6.0" in metrics, "metrics add up across workers"
        for worker in workers:  # CPU, memory and fds of each worker, whichever answered
            for name in ("process_resident_memory_bytes", "process_open_fds"):
                assert f'{name}{{pid="{worker.pid}"}}' in metrics, (name, worker.pid)
        assert server.terminate() == 0
        _gone, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == [], "the workers stop with the supervisor"


async def test_workers_exit_when_their_supervisor_is_killed(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    import psutil

    with serving(tmp_path, environment, "--workers", "2") as server:
        assert "with 2 workers" in server.output[-1]
        workers = [
            child
            for child in psutil.Process(server.process.pid).children()
            if any("spawn_main" in part for part in child.cmdline())
        ]
        assert len(workers) == 2
        server.process.kill()  # SIGKILL: the supervisor gets no chance to stop them
        server.process.wait(timeout=10)
        _gone, alive = psutil.wait_procs(workers, timeout=20)
        assert alive == [], "orphaned workers keep running after their supervisor died"


async def test_workers_without_redis_are_refused(tmp_path: Path, database_url: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "chatkit", "serve", "--workers", "2", "--port", "4999"],
        cwd=tmp_path,
        env={"CHATKIT_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "more than one worker needs redis_url" in result.stderr
