"""Offline-recipient emails end to end: a real server and its worker, a real SMTP server
(aiosmtpd), real databases. Delays are shortened through settings; tests wait on emails and
database states with timeouts, never on fixed sleeps."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import pytest
from typer.testing import CliRunner

from chatkit.cli import app as cli
from chatkit.config import Settings
from chatkit.server.data.database import Database
from chatkit.server.data.store.notifications import NotificationRecord, NotificationStore
from chatkit.server.notify import build_worker
from chatkit.timefmt import utcnow
from tests.conftest import make_settings
from tests.support.api import Api, Pair
from tests.support.server import RunningServer, running_server
from tests.support.smtp import PASSWORD, USER, Inbox, Received, free_port, smtp_server
from tests.support.sockets import connected

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

T = TypeVar("T")
DELAY = 0.5
PUBLIC = "https://chat.example.com"


def notify_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "notify_delay": DELAY,
        "notify_poll_interval": 0.05,
        "notify_retry_delay": 0.1,
        "public_url": PUBLIC,
        "mail_from": "Chat Notifications <notify@chat.example.com>",
    }
    values.update(overrides)
    return make_settings(database_url, tmp_path, **values)


def smtp_url(port: int) -> str:
    return f"smtp://{USER}:{quote(PASSWORD)}@127.0.0.1:{port}"


@asynccontextmanager
async def chat(settings: Settings) -> AsyncIterator[Api]:
    async with running_server(settings) as server, Api(server) as api:
        yield api


@pytest.fixture
async def inbox() -> Inbox:
    return Inbox(asyncio.get_running_loop())


@pytest.fixture
async def mail(inbox: Inbox) -> AsyncIterator[int]:
    with smtp_server(inbox) as port:
        yield port


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10.0) -> T:
    """Poll `check` until it returns something truthy (a database state has no event)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.02)


def rows_of(
    server: RunningServer, user_id: str
) -> Callable[[], Awaitable[list[NotificationRecord]]]:
    async def rows() -> list[NotificationRecord]:
        return await server.services.store.notifications.list(user_id=user_id)

    return rows


def settled(server: RunningServer, user_id: str, count: int) -> Callable[[], Awaitable[Any]]:
    """`count` rows for the user, none of them waiting any more."""

    async def check() -> list[NotificationRecord] | None:
        rows = await rows_of(server, user_id)()
        done = [row for row in rows if row.status in ("sent", "dropped", "failed")]
        return rows if len(rows) == count and len(done) == count else None

    return check


async def quiet_round(settings: Settings) -> int:
    """One more delivery round by a fresh worker: how many emails it sent (should be 0)."""
    database = Database(settings.database_url)
    try:
        worker = build_worker(settings, NotificationStore(database))
        return (await worker.run_once()).emails
    finally:
        await database.dispose()


async def marker(api: Api) -> Pair:
    """Another conversation whose offline recipient gets an email due after everything sent
    before: once it arrives, the single worker has dealt with all earlier notifications."""
    pair = await api.pair()
    assert (await api.send(pair.mentor_token, pair.conversation_id, "marker")).status == 201
    return pair


def to_address(received: Received) -> str:
    return str(received.message["To"].addresses[0].addr_spec)


async def test_offline_recipient_gets_exactly_one_email_after_the_delay(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(database_url, tmp_path, smtp_url=smtp_url(mail))
    async with chat(settings) as api:
        pair = await api.pair()
        mentee = await api.server.services.store.users.require(pair.mentee_id)
        started = time.monotonic()
        sent = await api.send(
            pair.mentor_token, pair.conversation_id, "See you <soon> & bring notes"
        )
        assert sent.status == 201

        [received] = await inbox.wait_for(1)
        assert received.at - started >= DELAY - 0.05
        await eventually(settled(api.server, pair.mentee_id, 1))
        assert await quiet_round(settings) == 0
        assert len(inbox.messages) == 1

        message = received.message
        assert received.rcpt_tos == [mentee.email]
        assert inbox.logins == [USER]
        assert message["From"] == settings.mail_from
        assert to_address(received) == mentee.email
        assert message["To"].addresses[0].display_name == "Mentee Person"
        assert message["Subject"] == "Mentor Person sent you a new message"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Message-ID"].endswith("@chat.example.com>")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # Unfolded and unencoded, as mail clients need it for one-click unsubscribe.
        assert b"\nList-Unsubscribe: <" + PUBLIC.encode() in received.raw
        link = f"{PUBLIC}/conversations/{pair.conversation_id}"
        text, html = received.part("plain"), received.part("html")
        for body in (text, html):
            assert "Mentor Person" in body
            assert "Mon 15 Jan 2024, 10:00 UTC" in body
            assert link in body
        assert "> See you <soon> & bring notes" in text
        assert "See you &lt;soon&gt; &amp; bring notes" in html
        [row] = await rows_of(api.server, pair.mentee_id)()
        assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)

        # The List-Unsubscribe link works (one-click POST, RFC 8058) for this user only.
        unsubscribe = urlsplit(message["List-Unsubscribe"].strip("<>"))
        reply = await api.post(
            f"{unsubscribe.path}?{unsubscribe.query}", data="List-Unsubscribe=One-Click"
        )
        assert (reply.status, reply.body) == (200, {"email": False})
        assert (await api.server.services.store.users.require(pair.mentee_id)).notify_email is False
        assert (await api.server.services.store.users.require(pair.mentor_id)).notify_email is True
        forged = await api.post(f"{unsubscribe.path}?token={pair.mentor_id}.AAAA")
        assert forged.status == 400 and forged.body["error"]["code"] == "invalid_unsubscribe_token"


async def test_online_recipient_gets_no_email(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(database_url, tmp_path, smtp_url=smtp_url(mail))
    async with chat(settings) as api:
        pair = await api.pair()
        async with connected(api.server.url, pair.mentee_token) as mentee:
            await api.send(pair.mentor_token, pair.conversation_id, "you are here")
            await mentee.next("new_message")
            other = await marker(api)
            [received] = await inbox.wait_for(1)
        assert received.message["X-Chatkit-Conversation"] == other.conversation_id
        assert await rows_of(api.server, pair.mentee_id)() == []


async def test_read_before_the_delay_means_no_email(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(database_url, tmp_path, smtp_url=smtp_url(mail))
    async with chat(settings) as api:
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "read me quickly")
        read = await api.patch(
            f"/api/conversations/{pair.conversation_id}/read", token=pair.mentee_token
        )
        assert read.body["count"] == 1
        other = await marker(api)
        [received] = await inbox.wait_for(1)
        assert received.message["X-Chatkit-Conversation"] == other.conversation_id
        [row] = await eventually(settled(api.server, pair.mentee_id, 1))
        assert row.status == "dropped" and "read" in (row.last_error or "")


async def test_five_quick_messages_make_one_email(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(database_url, tmp_path, smtp_url=smtp_url(mail))
    async with chat(settings) as api:
        pair = await api.pair()
        for n in range(1, 6):
            await api.send(pair.mentor_token, pair.conversation_id, f"message number {n}")
        [received] = await inbox.wait_for(1)
        rows = await eventually(settled(api.server, pair.mentee_id, 5))
        assert {row.status for row in rows} == {"sent"}
        assert len({row.claim_id for row in rows}) == 1
        assert await quiet_round(settings) == 0
        assert len(inbox.messages) == 1
        assert received.message["Subject"] == "Mentor Person sent you 5 new messages"
        text = received.part("plain")
        positions = [text.index(f"message number {n}") for n in range(1, 6)]
        assert positions == sorted(positions)  # oldest first


async def test_smtp_down_then_up_delivers_once(
    database_url: str, tmp_path: Path, inbox: Inbox
) -> None:
    port = free_port()
    settings = notify_settings(
        database_url, tmp_path, smtp_url=smtp_url(port), notify_max_attempts=50
    )
    async with chat(settings) as api:
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "are you there?")

        async def failed_once() -> list[NotificationRecord] | None:
            rows = await rows_of(api.server, pair.mentee_id)()
            return rows if rows and rows[0].attempts >= 1 else None

        [row] = await eventually(failed_once)
        assert row.status in ("pending", "sending")
        assert "cannot reach SMTP server" in (row.last_error or "")
        with smtp_server(inbox, port):
            await inbox.wait_for(1)
            [row] = await eventually(settled(api.server, pair.mentee_id, 1))
            assert row.status == "sent" and row.attempts >= 2
            assert await quiet_round(settings) == 0
        assert len(inbox.messages) == 1


async def test_two_workers_never_send_the_same_email_twice(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(
        database_url, tmp_path, smtp_url=smtp_url(mail), notify_worker=False, notify_delay=0
    )
    async with chat(settings) as api:
        pairs = [await api.pair() for _ in range(6)]
        for pair in pairs:
            for n in range(3):
                await api.send(pair.mentor_token, pair.conversation_id, f"part {n}")
        # Two workers with their own connection pools, as two processes would have.
        databases = [Database(settings.database_url) for _ in range(2)]
        try:
            workers = [
                build_worker(settings, NotificationStore(db), owner=f"worker-{i}")
                for i, db in enumerate(databases)
            ]
            reports = await asyncio.gather(*(worker.run_once() for worker in workers))
            again = await asyncio.gather(*(worker.run_once() for worker in workers))
        finally:
            for db in databases:
                await db.dispose()
        assert sum(report.emails for report in reports) == 6
        assert sum(report.emails for report in again) == 0
        received = await inbox.wait_for(6)
        conversations = [r.message["X-Chatkit-Conversation"] for r in received]
        assert sorted(conversations) == sorted(pair.conversation_id for pair in pairs)
        for email in received:  # each conversation's three messages in one email, not split
            assert all(f"part {n}" in email.part("plain") for n in range(3))
        rows = await api.server.services.store.notifications.list(limit=1000)
        assert len(rows) == 18 and {row.status for row in rows} == {"sent"}


async def test_opted_out_recipient_gets_no_email(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(database_url, tmp_path, smtp_url=smtp_url(mail))
    async with chat(settings) as api:
        pair = await api.pair()
        off = await api.put("/api/me/notifications", token=pair.mentee_token, json={"email": False})
        assert (off.status, off.body) == (200, {"email": False})
        got = await api.get("/api/me/notifications", token=pair.mentee_token)
        assert got.body == {"email": False}
        await api.send(pair.mentor_token, pair.conversation_id, "you will not hear of this")
        other = await marker(api)
        [received] = await inbox.wait_for(1)
        assert received.message["X-Chatkit-Conversation"] == other.conversation_id
        [row] = await eventually(settled(api.server, pair.mentee_id, 1))
        assert row.status == "dropped" and "turned email notifications off" in (
            row.last_error or ""
        )


async def test_my_notifications_endpoint_errors_follow_the_contract(api: Api) -> None:
    pair = await api.pair()
    for token, body, status, code in (
        (None, {"email": False}, 401, "missing_token"),
        (pair.mentee_token, {}, 400, "invalid_field"),
        (pair.mentee_token, {"email": "no"}, 400, "invalid_field"),
        (pair.mentee_token, [False], 400, "invalid_body"),
    ):
        reply = await api.put("/api/me/notifications", token=token, json=body)
        assert reply.status == status, reply.body
        assert set(reply.body) == {"error"} and reply.body["error"]["code"] == code
    empty = await api.put("/api/me/notifications", token=pair.mentee_token, data=b"")
    assert empty.status == 400 and empty.body["error"]["code"] == "invalid_json"
    assert (await api.get("/api/me/notifications", token=pair.mentee_token)).body == {"email": True}


async def test_without_smtp_emails_are_written_as_eml_files(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = tmp_path / "mail-out"
    settings = notify_settings(database_url, tmp_path, notify_outbox=outbox)
    caplog.set_level("INFO", logger="chatkit.notify")
    async with chat(settings) as api:
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "written to disk")

        async def files() -> list[Path]:
            return sorted(outbox.glob("*.eml"))

        [path] = await eventually(files)
        await eventually(settled(api.server, pair.mentee_id, 1))
    import email
    import email.policy

    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Mentor Person sent you a new message"
    assert message["List-Unsubscribe"].startswith(f"<{PUBLIC}/notifications/unsubscribe?")
    assert "written to disk" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    lines = [r.getMessage() for r in caplog.records if "written to" in r.getMessage()]
    assert len(lines) == 1 and str(path) in lines[0]


async def test_content_can_be_left_out(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(
        database_url, tmp_path, smtp_url=smtp_url(mail), notify_include_content=False
    )
    async with chat(settings) as api:
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "top secret plans")
        [received] = await inbox.wait_for(1)
    assert b"top secret" not in received.raw
    text = received.part("plain")
    assert "Mentor Person sent you a new message" in text
    assert f"{PUBLIC}/conversations/{pair.conversation_id}" in text


async def test_refused_recipient_fails_at_once_and_retry_requeues_it(
    database_url: str, tmp_path: Path
) -> None:
    inbox = Inbox(asyncio.get_running_loop())
    with smtp_server(inbox) as port:
        settings = notify_settings(database_url, tmp_path, smtp_url=smtp_url(port))
        async with chat(settings) as api:
            pair = await api.pair()
            mentee = await api.server.services.store.users.require(pair.mentee_id)
            inbox.refuse.add(mentee.email)
            await api.send(pair.mentor_token, pair.conversation_id, "bounce")
            [row] = await eventually(settled(api.server, pair.mentee_id, 1))
            assert (row.status, row.attempts) == ("failed", 1)  # a 550 is not retried
            assert "550" in (row.last_error or "")

            cli_env = {"CHATKIT_DATABASE_URL": settings.database_url}
            runner = CliRunner()
            listing = await asyncio.to_thread(
                runner.invoke, cli, ["notify", "list", "--status", "failed"], env=cli_env
            )
            assert listing.exit_code == 0, listing.output
            assert "failed 1" in listing.output and row.id[:8] in listing.output

            inbox.refuse.clear()  # the mailbox exists now
            retried = await asyncio.to_thread(
                runner.invoke, cli, ["notify", "retry", row.id], env=cli_env
            )
            assert retried.exit_code == 0, retried.output
            await inbox.wait_for(1)
            [row] = await eventually(settled(api.server, pair.mentee_id, 1))
            assert row.status == "sent"
            again = await asyncio.to_thread(
                runner.invoke, cli, ["notify", "retry", row.id], env=cli_env
            )
            assert again.exit_code == 1 and "already sent" in again.output


async def test_failing_smtp_ends_failed_with_the_error_kept(
    database_url: str, tmp_path: Path
) -> None:
    settings = notify_settings(
        database_url,
        tmp_path,
        smtp_url=smtp_url(free_port()),
        notify_max_attempts=3,
        notify_retry_delay=0.02,
    )
    async with chat(settings) as api:
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "nobody listens")
        [row] = await eventually(settled(api.server, pair.mentee_id, 1))
    assert (row.status, row.attempts) == ("failed", 3)
    assert "cannot reach SMTP server 127.0.0.1" in (row.last_error or "")


async def test_users_notify_off_from_the_command_line(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(database_url, tmp_path, smtp_url=smtp_url(mail))
    async with chat(settings) as api:
        pair = await api.pair()
        runner = CliRunner()
        env = {"CHATKIT_DATABASE_URL": settings.database_url}
        off = await asyncio.to_thread(
            runner.invoke, cli, ["users", "notify-off", pair.mentee_id], env=env
        )
        assert off.exit_code == 0 and "are off" in off.output
        await api.send(pair.mentor_token, pair.conversation_id, "quiet please")
        [row] = await eventually(settled(api.server, pair.mentee_id, 1))
        assert row.status == "dropped"
        on = await asyncio.to_thread(
            runner.invoke, cli, ["users", "notify-on", pair.mentee_id], env=env
        )
        assert on.exit_code == 0 and "are on" in on.output
        await api.send(pair.mentor_token, pair.conversation_id, "now you may hear")
        [received] = await inbox.wait_for(1)
        assert "now you may hear" in received.part("plain")
        assert "quiet please" not in received.part("plain")
        unknown = await asyncio.to_thread(
            runner.invoke, cli, ["users", "notify-off", pair.session_id], env=env
        )
        assert unknown.exit_code == 1 and "no user" in unknown.output


async def test_notify_run_delivers_alone_and_stops_on_sigterm(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(database_url, tmp_path, notify_worker=False, notify_delay=0)
    async with chat(settings) as api:
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "from a separate worker")
        env = {
            **os.environ,
            "CHATKIT_DATABASE_URL": settings.database_url,
            "CHATKIT_SMTP_URL": smtp_url(mail),
            "CHATKIT_NOTIFY_POLL_INTERVAL": "0.05",
            "CHATKIT_JWT_SECRET": "test-secret-0123456789-abcdefghij",
        }
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chatkit",
            "notify",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            [received] = await inbox.wait_for(1, timeout=30)
            [row] = await eventually(settled(api.server, pair.mentee_id, 1))
        finally:
            worker.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(worker.communicate(), 30)
        assert worker.returncode == 0, output.decode()
        assert row.status == "sent" and (row.claimed_by or "").startswith(socket.gethostname())
        assert "from a separate worker" in received.part("plain")
        assert b"notify worker delivering to SMTP 127.0.0.1" in output
        assert b"notified " in output


async def test_notify_run_once(database_url: str, tmp_path: Path) -> None:
    settings = notify_settings(database_url, tmp_path, notify_worker=False, notify_delay=0)
    async with chat(settings) as api:
        pair = await api.pair()
        await api.send(pair.mentor_token, pair.conversation_id, "one round only")
        env = {
            "CHATKIT_DATABASE_URL": settings.database_url,
            "CHATKIT_NOTIFY_OUTBOX": str(tmp_path / "once"),
            "CHATKIT_JWT_SECRET": "test-secret-0123456789-abcdefghij",
        }
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["notify", "run", "--once"], env=env
        )
        assert result.exit_code == 0, result.output
        assert "1 email(s) sent, 0 dropped" in result.output
        assert len(list((tmp_path / "once").glob("*.eml"))) == 1
        [row] = await rows_of(api.server, pair.mentee_id)()
        assert row.status == "sent"


def test_a_bad_smtp_url_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        "CHATKIT_SMTP_URL": "smtp://",
        "CHATKIT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
    }
    result = CliRunner().invoke(cli, ["notify", "run", "--once"], env=env)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: invalid setting smtp_url: must look like smtp://[user:pass@]host:port"
    ]


async def test_a_dead_workers_claim_is_taken_over_after_its_lease(api: Api) -> None:
    pair = await api.pair()
    for text in ("one", "two"):
        await api.send(api.server.token(pair.mentor_id), pair.conversation_id, text)
    store = api.server.services.store.notifications
    later = utcnow() + timedelta(hours=2)  # past the default test delay of an hour

    dead = await store.claim_next(owner="dead", now=later, lease=30)
    assert dead is not None and len(dead.notification_ids) == 2
    assert (
        await store.claim_next(owner="alive", now=later + timedelta(seconds=29), lease=30) is None
    )

    alive = await store.claim_next(owner="alive", now=later + timedelta(seconds=31), lease=30)
    assert alive is not None and set(alive.notification_ids) == set(dead.notification_ids)
    assert alive.id != dead.id
    # The dead worker waking up can no longer record anything for the rows it lost.
    assert not await store.still_claimed(dead, now=later + timedelta(seconds=31))
    assert await store.mark_sent(dead, list(dead.notification_ids), now=later) == 0
    assert await store.mark_sent(alive, list(alive.notification_ids), now=later) == 2
    rows = await store.list(user_id=pair.mentee_id)
    assert {(row.status, row.claimed_by) for row in rows} == {("sent", "alive")}
