"""The scripting commands (`chatkit conversations`, `messages`, `send`, `open-session`,
`read`, and the quick exits of `listen` and `typing`) against a real server, in-process
through typer's CliRunner; tests/test_cli_live.py runs `listen` and `typing` as processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatkit.cli import app
from chatkit.config import Settings
from tests.support.api import Api, Pair
from tests.support.commands import clean_environment, run
from tests.support.processes import free_port
from tests.support.server import Endpoint, RunningServer
from tests.support.threaded import threaded_server

runner = CliRunner()
UNKNOWN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest.fixture
def live(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """A server in a thread, so that the commands (which run their own event loop) can talk
    to it; the commands sign --user tokens with the secret it verifies with."""
    assert settings.jwt_secret is not None
    monkeypatch.setenv("CHATKIT_JWT_SECRET", settings.jwt_secret.get_secret_value())
    with threaded_server(settings) as server:
        yield server


def on(server: Endpoint, coroutine: Any) -> Any:
    """Run `coroutine(api)` against `server` from a synchronous test."""

    async def main() -> Any:
        async with Api(server) as api:
            return await coroutine(api)

    return asyncio.run(main())


def chatkit(server: Endpoint, token: str | None, *args: str, **kwargs: Any) -> Result:
    env = {"CHATKIT_URL": server.url, **kwargs.pop("env", {})}
    if token is not None:
        env["CHATKIT_TOKEN"] = token
    return runner.invoke(app, list(args), env=env, **kwargs)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result.stdout


def one_error_line(result: Result, code: int = 1) -> str:
    """The command failed with `code` and exactly one line on stderr, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def rows(stdout: str) -> list[list[str]]:
    return [line.split("\t") for line in stdout.splitlines()]


# --- conversations, open-session, read -------------------------------------------------------


def test_conversations_prints_lines_for_scripts_and_the_apis_json(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    on(live, lambda api: api.send(pair.mentee_token, pair.conversation_id, "hello\tmentor"))
    listed = on(live, lambda api: api.get("/api/conversations", token=pair.mentor_token))

    plain = ok(chatkit(live, pair.mentor_token, "conversations"))
    as_json = json.loads(ok(chatkit(live, pair.mentor_token, "conversations", "--json")))
    past_the_end = ok(chatkit(live, pair.mentor_token, "conversations", "--offset", "1"))

    assert rows(plain) == [
        [
            pair.conversation_id,
            "Mentee Person",
            "scheduled",
            "1",
            listed.body[0]["updatedAt"],
            "hello\\tmentor",
        ]
    ]
    assert as_json == listed.body
    assert past_the_end == ""


def test_conversations_at_a_terminal_is_a_table(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    long = "a long last message, " * 6
    on(live, lambda api: api.send(pair.mentor_token, pair.conversation_id, long))
    terminal = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "100"}
    table = ok(chatkit(live, pair.mentee_token, "conversations", env=terminal)).splitlines()
    assert table[0].split() == ["ID", "WITH", "STATUS", "UNREAD", "UPDATED"]
    assert table[1].startswith(pair.conversation_id) and "Mentor Person" in table[1]
    assert table[1].split()[3] == "scheduled"
    # The last message has the terminal's width to itself: 96 of 100 columns, not ~27.
    assert table[2] == "  " + long.strip()[:95] + "…"
    assert all(len(line) <= 100 for line in table)


def test_open_session_gets_or_creates_and_read_counts(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair(open_conversation=False))
    opened = ok(chatkit(live, pair.mentee_token, "open-session", pair.session_id)).strip()
    again = json.loads(
        ok(chatkit(live, pair.mentor_token, "open-session", pair.session_id, "--json"))
    )
    for text in ("one", "two"):
        on(live, lambda api, text=text: api.send(pair.mentor_token, opened, text))
    fetched = on(live, lambda api: api.get(f"/api/conversations/{opened}", token=pair.mentor_token))

    first = ok(chatkit(live, pair.mentee_token, "read", opened))
    second = json.loads(ok(chatkit(live, pair.mentee_token, "read", opened, "--json")))

    assert again["id"] == opened and set(again) == set(fetched.body)
    assert again["mentor"] == fetched.body["mentor"] and again["session"] == fetched.body["session"]
    assert first == "2\n"
    assert second == {"conversationId": opened, "readBy": pair.mentee_id, "count": 0}


def test_user_mints_a_token_next_to_the_server(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    plain = ok(chatkit(live, None, "conversations", "--user", pair.mentee_id))
    # --user is the more specific: it wins over a CHATKIT_TOKEN set for the whole shell.
    over = ok(chatkit(live, pair.mentor_token, "conversations", "--user", pair.mentee_id))
    assert rows(plain)[0][:2] == [pair.conversation_id, "Mentor Person"]
    assert over == plain


# --- messages ---------------------------------------------------------------------------------


def test_messages_pages_with_cursors_and_prints_the_apis_page(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    ids = [
        on(live, lambda api, i=i: api.send(pair.mentor_token, pair.conversation_id, f"m{i}")).body[
            "id"
        ]
        for i in range(5)
    ]
    on(live, lambda api: api.send(pair.mentee_token, pair.conversation_id, "two\nlines"))
    page = on(
        live,
        lambda api: api.get(
            f"/api/conversations/{pair.conversation_id}/messages",
            token=pair.mentee_token,
            params={"limit": "2"},
        ),
    )
    c = pair.conversation_id

    newest = rows(ok(chatkit(live, pair.mentee_token, "messages", c, "--limit", "2")))
    before = rows(
        ok(chatkit(live, pair.mentee_token, "messages", c, "--before", ids[3], "--limit", "2"))
    )
    after = rows(
        ok(chatkit(live, pair.mentee_token, "messages", c, "--after", ids[1], "--limit", "2"))
    )
    as_json = json.loads(
        ok(chatkit(live, pair.mentee_token, "messages", c, "--limit", "2", "--json"))
    )

    assert [row[0] for row in newest] == [ids[4], page.body["messages"][1]["id"]]
    assert newest[1][2:] == [pair.mentee_id, "two\\nlines"]
    assert newest[0][1] == page.body["messages"][0]["createdAt"]
    assert [row[0] for row in before] == ids[1:3]
    assert [row[0] for row in after] == ids[2:4] and after[0][3] == "m2"
    assert as_json == page.body


def test_messages_all_follows_the_cursor_with_a_progress_bar(
    live: RunningServer, tmp_path: Path
) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    sent = [
        on(live, lambda api, i=i: api.send(pair.mentor_token, pair.conversation_id, f"m{i}")).body
        for i in range(7)
    ]
    ids = [m["id"] for m in sent]
    c = pair.conversation_id

    everything = rows(ok(chatkit(live, pair.mentee_token, "messages", c, "--all", "--limit", "2")))
    as_json = json.loads(
        ok(chatkit(live, pair.mentee_token, "messages", c, "--all", "--limit", "3", "--json"))
    )
    forward = rows(
        ok(
            chatkit(
                live, pair.mentee_token, "messages", c, "--after", ids[1], "--all", "--limit", "2"
            )
        )
    )
    backward = rows(
        ok(
            chatkit(
                live, pair.mentee_token, "messages", c, "--before", ids[5], "--all", "--limit", "2"
            )
        )
    )
    # At a terminal (its own process: rich decides that when it starts).
    terminal = clean_environment(
        CHATKIT_URL=live.url,
        CHATKIT_TOKEN=pair.mentee_token,
        TTY_COMPATIBLE="1",
        TTY_INTERACTIVE="1",
        NO_COLOR="1",
        COLUMNS="100",
    )
    status, table, bar = asyncio.run(
        run(tmp_path, terminal, "messages", c, "--all", "--limit", "2")
    )

    assert [row[0] for row in everything] == ids
    assert as_json == {"messages": sent, "hasMore": False, "nextCursor": None}
    assert [row[0] for row in forward] == ids[2:]
    assert [row[0] for row in backward] == ids[:5]
    assert status == 0 and [line.split()[-1] for line in table.splitlines()[1:]] == [
        f"m{i}" for i in range(7)
    ]
    # seq tells the total, so the bar counts to 7 of 7 (on stderr, cleared when done).
    assert "fetching messages" in bar and "2/7" in bar and "7/7" in bar


# --- send -------------------------------------------------------------------------------------


def test_send_text_stdin_attachments_and_client_id(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    c = pair.conversation_id
    url = "https://files.example.com/get?id=1,2"  # a comma in the URL itself

    plain = ok(chatkit(live, pair.mentor_token, "send", c, "hello from the shell")).strip()
    piped = ok(chatkit(live, pair.mentor_token, "send", c, "-", input="from stdin\n")).strip()
    attached = json.loads(
        ok(
            chatkit(
                live,
                pair.mentor_token,
                "send",
                c,
                "",
                "--attach",
                f"{url},notes.pdf,application/pdf,1234",
                "--type",
                "file",
                "--json",
            )
        )
    )
    once = ok(chatkit(live, pair.mentor_token, "send", c, "retry me", "--client-id", "job-7"))
    twice = ok(chatkit(live, pair.mentor_token, "send", c, "retry me", "--client-id", "job-7"))
    history = on(
        live,
        lambda api: api.get(f"/api/conversations/{c}/messages", token=pair.mentor_token),
    ).body["messages"]

    assert [m["id"] for m in history] == [plain, piped, attached["id"], once.strip()]
    assert [m["content"] for m in history] == ["hello from the shell", "from stdin", "", "retry me"]
    assert attached == history[2] and attached["contentType"] == "file"
    (attachment,) = attached["attachments"]
    assert (attachment["url"], attachment["filename"], attachment["size"]) == (
        url,
        "notes.pdf",
        1234,
    )
    assert once == twice and history[3]["clientMessageId"] == "job-7"


# --- errors -----------------------------------------------------------------------------------


def test_server_refusals_are_one_line_and_exit_1(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    outsider: Pair = on(live, lambda api: api.pair())
    c, mentor = pair.conversation_id, pair.mentor_token

    refused = one_error_line(chatkit(live, "not.a.token", "conversations"))
    assert "the server refused the token" in refused
    for args in (
        ("messages", UNKNOWN),
        ("send", UNKNOWN, "hi"),
        ("read", UNKNOWN),
        ("typing", UNKNOWN, "on"),
        ("open-session", UNKNOWN),
        ("messages", outsider.conversation_id),  # not a participant: as unknown
    ):
        line = one_error_line(chatkit(live, mentor, *args))
        assert "HTTP 404" in line, (args, line)
    assert "HTTP 403" in one_error_line(chatkit(live, mentor, "open-session", outsider.session_id))
    assert "HTTP 400" in one_error_line(chatkit(live, mentor, "messages", c, "--before", "nope"))
    assert "HTTP 422" in one_error_line(chatkit(live, mentor, "send", c, "   "))


def test_an_unreachable_server_is_one_line_and_exit_1() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("conversations",), ("listen",), ("send", UNKNOWN, "hi")):
        result = runner.invoke(app, [*args, "--url", url, "--token", "t"])
        assert one_error_line(result).startswith(f"error: cannot reach {url}")


def test_bad_arguments_are_one_line_and_exit_2(live: RunningServer) -> None:
    token = "t"
    cases: list[tuple[tuple[str, ...], str]] = [
        (("messages",), "Missing argument"),
        (("messages", UNKNOWN, "--limit", "0"), "--limit"),
        (("messages", UNKNOWN, "--before", "a", "--after", "b"), "--before or --after"),
        (("conversations", "--bogus"), "No such option"),
        (("send", UNKNOWN, "hi", "--attach", "https://x/y.pdf,y.pdf"), "URL,FILENAME,MIME,SIZE"),
        (("send", UNKNOWN, "hi", "--attach", "https://x/y,y,text/plain,big"), "size"),
        (("typing", UNKNOWN, "maybe"), "on or off"),
        (("listen", "--events", "new_message,shouting"), "shouting"),
        (("listen", "--count", "0"), "--count"),
        (("conversations", "--url", "ftp://example.com"), "http://"),
    ]
    for args, expected in cases:
        assert expected in one_error_line(chatkit(live, token, *args), code=2), args
    bad_user = chatkit(live, None, "conversations", "--user", "not-a-uuid")
    assert "must be a UUID" in one_error_line(bad_user, code=2)
    neither = runner.invoke(app, ["conversations", "--url", live.url])
    assert "no token" in one_error_line(neither, code=2)


def test_listen_timeout_and_count(live: RunningServer) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    quiet = chatkit(live, pair.mentee_token, "listen", "--timeout", "0.5")
    short = chatkit(live, pair.mentee_token, "listen", "--timeout", "0.5", "--count", "1")
    assert (ok(quiet), "listening" in quiet.stderr) == ("", True)
    assert "timed out after 0.5s with 0 of 1 events" in one_error_line_after_notes(short)


def one_error_line_after_notes(result: Result) -> str:
    """`listen` says "listening" first; then the one error line."""
    assert result.exit_code == 1 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    return errors[0]


# --- edit, delete -----------------------------------------------------------------------------


def test_edit_and_delete_print_the_id_or_the_apis_json_and_fail_like_the_others(
    live: RunningServer,
) -> None:
    pair: Pair = on(live, lambda api: api.pair())
    c = pair.conversation_id
    sent = on(live, lambda api: api.send(pair.mentor_token, c, "helo")).body
    m = sent["id"]

    edited = ok(chatkit(live, pair.mentor_token, "edit", c, m, "hello")).strip()
    as_json = json.loads(
        ok(chatkit(live, pair.mentor_token, "edit", c, m, "-", "--json", input="hi\n"))
    )
    not_yours = one_error_line(chatkit(live, pair.mentee_token, "edit", c, m, "mine now"))
    unknown = one_error_line(chatkit(live, pair.mentor_token, "delete", c, UNKNOWN))
    deleted = json.loads(ok(chatkit(live, pair.mentor_token, "delete", c, m, "--json")))
    again = ok(chatkit(live, pair.mentor_token, "delete", c, m)).strip()
    too_late = one_error_line(chatkit(live, pair.mentor_token, "edit", c, m, "back"))
    history = rows(ok(chatkit(live, pair.mentee_token, "messages", c)))
    missing_text = chatkit(live, pair.mentor_token, "edit", c, m)

    assert edited == m and again == m
    assert as_json["content"] == "hi" and as_json["editedAt"] is not None
    assert not_yours.endswith("(HTTP 403 not_message_sender)")
    assert unknown.endswith("(HTTP 404 message_not_found)")
    assert deleted["content"] == "" and deleted["deletedAt"] is not None
    assert too_late.endswith("(HTTP 409 message_deleted)")
    assert history == [[m, sent["createdAt"], pair.mentor_id, ""]]
    assert missing_text.exit_code == 2
