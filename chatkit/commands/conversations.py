"""`chatkit conversations`, `chatkit open-session`, `chatkit read`: the caller's
conversations over the public REST API, for scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from chatkit.commands.common import ConfigOption
from chatkit.commands.connection import TokenOption, UrlOption, UserOption, resolve, run_client
from chatkit.commands.output import JsonOption, clip, emit_json, print_rows, when, write_line

if TYPE_CHECKING:
    from chatkit.client import ApiClient, Conversation


def conversations(
    limit: Annotated[int, typer.Option(metavar="N", help="How many (1-100).", min=1, max=100)] = 20,
    offset: Annotated[int, typer.Option(metavar="N", help="How many to skip.", min=0)] = 0,
    json_output: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
) -> None:
    """List your conversations, the most recently active first.

    Piped, one line per conversation: id, the other participant, session status, unread
    count, updatedAt, last message (tab-separated).
    """
    connection = resolve(url=url, token=token, user=user, config=config)

    async def work(api: ApiClient) -> None:
        from chatkit.client import token_subject

        listed = await api.conversations(limit=limit, offset=offset)
        if json_output:
            emit_json([conversation.raw for conversation in listed])
            return
        me = token_subject(api.token)
        rows, plain = [], []
        for c in listed:
            last = c.last_message
            other = _with(c, me)
            rows.append(
                (
                    c.id,
                    other,
                    c.unread_count or "",
                    when(c.updated_at),
                    clip(last.content) if last else "",
                )
            )
            plain.append(
                (
                    c.id,
                    other,
                    c.session.status,
                    c.unread_count,
                    c.raw.get("updatedAt", ""),
                    last.content if last else "",
                )
            )
        columns = ("ID", "WITH", "UNREAD", "UPDATED", "LAST MESSAGE")
        print_rows(columns, rows, plain)

    run_client(connection, work)


def _with(conversation: Conversation, me: str | None) -> str:
    if me in (conversation.mentor.id, conversation.mentee.id):
        return conversation.other(me or "").full_name
    return f"{conversation.mentor.full_name} / {conversation.mentee.full_name}"


def open_session(
    session_id: Annotated[
        str, typer.Argument(metavar="SESSION_ID", help="The mentoring session's id.")
    ],
    json_output: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
) -> None:
    """Get or create the conversation of a session; print its id.

    You must be the session's mentor or mentee.
    """
    connection = resolve(url=url, token=token, user=user, config=config)

    async def work(api: ApiClient) -> None:
        conversation, _created = await api.conversation_by_session(session_id)
        if json_output:
            emit_json(conversation.raw)
        else:
            write_line(conversation.id)

    run_client(connection, work)


def mark_read(
    conversation_id: Annotated[
        str, typer.Argument(metavar="CONVERSATION_ID", help="The conversation's id.")
    ],
    json_output: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
) -> None:
    """Mark every message of a conversation read; print how many were newly marked."""
    connection = resolve(url=url, token=token, user=user, config=config)

    async def work(api: ApiClient) -> None:
        receipt = await api.mark_read(conversation_id)
        if json_output:
            emit_json(receipt.raw)
        else:
            write_line(str(receipt.count))

    run_client(connection, work)
