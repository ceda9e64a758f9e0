"""`chatkit conversations`, `chatkit open-session`, `chatkit read`: the caller's
conversations over the public REST API, for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from chatkit.commands.common import console, say
from chatkit.commands.connection import ConnectionOptions
from chatkit.commands.option_groups import with_option_groups
from chatkit.commands.output import (
    JsonOption,
    clip,
    emit_json,
    print_result,
    to_terminal,
    tsv_field,
    when,
    write_line,
)

if TYPE_CHECKING:
    from chatkit.client import ApiClient, Conversation

ConversationArgument = Annotated[
    str, typer.Argument(metavar="CONVERSATION_ID", help="The conversation's id.")
]
SessionArgument = Annotated[
    str, typer.Argument(metavar="SESSION_ID", help="The mentoring session's id.")
]


@with_option_groups
def conversations(
    limit: Annotated[int, typer.Option(metavar="N", help="How many (1-100).", min=1, max=100)] = 20,
    offset: Annotated[int, typer.Option(metavar="N", help="How many to skip.", min=0)] = 0,
    json_output: JsonOption = False,
    *,
    connection: ConnectionOptions,
) -> None:
    """List your conversations, the most recently active first.

    Piped, one line per conversation: id, the other participant, session status, unread
    count, updatedAt, last message (tab-separated).
    """

    async def work(api: ApiClient) -> None:
        from chatkit.client import token_subject

        listed = await api.conversations(limit=limit, offset=offset)
        if json_output:
            emit_json([conversation.raw for conversation in listed])
            return
        me = token_subject(api.token)
        if not to_terminal():
            for c in listed:
                write_line("\t".join(tsv_field(cell) for cell in _plain(c, me)))
            return
        rows = [
            (
                c.id,
                clip(_with(c, me), 28),
                c.session.status,
                c.unread_count or "",
                when(c.updated_at),
                c.last_message.content if c.last_message else "",
            )
            for c in listed
        ]
        print_with_messages(("ID", "WITH", "STATUS", "UNREAD", "UPDATED"), rows)

    connection.run(work)


def _plain(c: Conversation, me: str | None) -> tuple[object, ...]:
    last = c.last_message
    return (
        c.id,
        _with(c, me),
        c.session.status,
        c.unread_count,
        c.raw.get("updatedAt", ""),
        last.content if last else "",
    )


def print_with_messages(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """At a terminal: the columns on one line (ids whole, so they can be copied), and the last
    message on the next, indented, with the terminal's whole width to itself."""
    cells = [[str(cell) for cell in row[:-1]] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    right = {columns.index("UNREAD")} if "UNREAD" in columns else set()

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(widths[i]) if i in right else value.ljust(widths[i])
            for i, value in enumerate(values)
        ).rstrip()

    say(f"[bold]{escape(line(columns))}[/]")
    for row, values in zip(rows, cells, strict=True):
        say(escape(line(values)))
        message = clip(str(row[-1]), max(console.width - 4, 20))
        if message:
            say(f"  [dim]{escape(message)}[/]")


def _with(conversation: Conversation, me: str | None) -> str:
    if me in (conversation.mentor.id, conversation.mentee.id):
        return conversation.other(me or "").full_name
    return f"{conversation.mentor.full_name} / {conversation.mentee.full_name}"


@with_option_groups
def open_session(
    session_id: SessionArgument,
    json_output: JsonOption = False,
    *,
    connection: ConnectionOptions,
) -> None:
    """Get or create the conversation of a session; print its id.

    You must be the session's mentor or mentee.
    """
    conversation, _created = connection.run(lambda api: api.conversation_by_session(session_id))
    print_result(conversation.raw, conversation.id, json_output=json_output)


@with_option_groups
def mark_read(
    conversation_id: ConversationArgument,
    json_output: JsonOption = False,
    *,
    connection: ConnectionOptions,
) -> None:
    """Mark every message of a conversation read; print how many were newly marked."""
    receipt = connection.run(lambda api: api.mark_read(conversation_id))
    print_result(receipt.raw, str(receipt.count), json_output=json_output)
