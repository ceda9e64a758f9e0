"""`chatkit messages`, `send`, `edit` and `delete`: a conversation's history and writing to
it, over the public REST API, for scripts."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatkit.commands.common import fail
from chatkit.commands.connection import ConnectionOptions
from chatkit.commands.conversations import ConversationArgument
from chatkit.commands.option_groups import with_option_groups
from chatkit.commands.output import (
    JsonOption,
    emit_json,
    note,
    print_result,
    print_rows,
    progress,
    to_terminal,
    when,
)

if TYPE_CHECKING:
    from chatkit.client import ApiClient, Attachment, Message, MessagePage

DEFAULT_PAGE = 50
ALL_PAGE = 100


@with_option_groups
def messages(
    conversation_id: ConversationArgument,
    before: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="Only messages older than this message id.", show_default=False
        ),
    ] = None,
    after: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="Only messages newer than this message id.", show_default=False
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Messages per page, 1-100 (default: 50; 100 with --all).",
            min=1,
            max=100,
            show_default=False,
        ),
    ] = None,
    all_pages: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Follow the cursor to the end: back to the first message, or with --after "
            "up to the newest (a progress bar on stderr).",
        ),
    ] = False,
    json_output: JsonOption = False,
    *,
    connection: ConnectionOptions,
) -> None:
    """Show a conversation's messages, oldest first.

    The newest page, or the page before or after a message id; --all follows the cursor.

    Piped, one line per message: id, createdAt, senderId, content (tab-separated). --json
    prints the API's page {messages, hasMore, nextCursor}; with --all, one page holding
    every message.
    """
    if before is not None and after is not None:
        fail("give --before or --after, not both", code=2)
    page_size = limit or (ALL_PAGE if all_pages else DEFAULT_PAGE)

    async def work(api: ApiClient) -> None:
        if all_pages:
            found = await _everything(api, conversation_id, page_size, before, after)
            raw: dict[str, Any] = {
                "messages": [m.raw for m in found],
                "hasMore": False,
                "nextCursor": None,
            }
            more = None
        else:
            page = await api.messages(conversation_id, limit=page_size, before=before, after=after)
            found, raw, more = list(page.messages), page.raw, page
        if json_output:
            emit_json(raw)
            return
        names = {}
        if found and to_terminal():
            conversation = await api.conversation(conversation_id)
            names = {p.id: p.full_name for p in (conversation.mentor, conversation.mentee)}
        print_rows(
            ("TIME", "FROM", "MESSAGE"),
            [(when(m.created_at), names.get(m.sender_id, m.sender_id), _text(m)) for m in found],
            [(m.id, m.raw.get("createdAt", ""), m.sender_id, m.content) for m in found],
        )
        if more is not None and more.has_more and more.next_cursor:
            flag = "--after" if after is not None else "--before"
            note(f"more: chatkit messages {conversation_id} {flag} {more.next_cursor}")

    connection.run(work)


def _text(message: Message) -> str:
    if message.deleted:
        return "(deleted)"
    files = "".join(f" [file: {a.filename}]" for a in message.attachments)
    return message.content + files + (" (edited)" if message.edited_at else "")


def _seq(message: Message) -> int | None:
    """The `seq` chatkit servers add (1, 2, 3… per conversation); None elsewhere."""
    seq = message.raw.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


async def _everything(
    api: ApiClient, conversation_id: str, limit: int, before: str | None, after: str | None
) -> list[Message]:
    """Every page from the cursor to the end, oldest first. Where messages carry `seq`, the
    progress bar knows the total; elsewhere it counts."""
    with progress("fetching messages", None) as advance:
        if after is not None:
            return await _forward(api, conversation_id, limit, after, advance)
        pages: list[tuple[Message, ...]] = []
        cursor = before
        while True:
            page = await api.messages(conversation_id, limit=limit, before=cursor)
            total = None
            if not pages and page.messages and (first := _seq(page.messages[0])) is not None:
                total = len(page.messages) + first - 1
            pages.append(page.messages)
            advance(len(page.messages), total)
            if not _continues(page, cursor):
                break
            cursor = page.next_cursor
    return [message for chunk in reversed(pages) for message in chunk]


async def _forward(
    api: ApiClient, conversation_id: str, limit: int, after: str, advance: Any
) -> list[Message]:
    found: list[Message] = []
    cursor: str | None = after
    while True:
        page = await api.messages(conversation_id, limit=limit, after=cursor)
        total = None
        if not found and page.has_more and page.messages:
            first, newest = _seq(page.messages[0]), await _newest_seq(api, conversation_id)
            if first is not None and newest is not None:
                total = newest - first + 1
        found.extend(page.messages)
        advance(len(page.messages), total)
        if not _continues(page, cursor):
            return found
        cursor = page.next_cursor


def _continues(page: MessagePage, cursor: str | None) -> bool:
    return page.has_more and bool(page.messages) and page.next_cursor not in (None, cursor)


async def _newest_seq(api: ApiClient, conversation_id: str) -> int | None:
    newest = await api.messages(conversation_id, limit=1)
    return _seq(newest.messages[-1]) if newest.messages else None


@with_option_groups
def send(
    conversation_id: ConversationArgument,
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="The message; - reads it from stdin.")
    ],
    attach: Annotated[
        list[str] | None,
        typer.Option(
            "--attach",
            metavar="URL,FILENAME,MIME,SIZE",
            help="Attach a file by its URL (repeat for several).",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            metavar="ID",
            help="clientMessageId: sending again with the same id stores the message once.",
            show_default=False,
        ),
    ] = None,
    content_type: Annotated[
        str, typer.Option("--type", metavar="TYPE", help="contentType: text, image or file.")
    ] = "text",
    json_output: JsonOption = False,
    *,
    connection: ConnectionOptions,
) -> None:
    """Send a message; print the stored message's id (--json: the message)."""
    attachments = [parse_attachment(item) for item in attach or ()]
    content = sys.stdin.read() if text == "-" else text
    result = connection.run(
        lambda api: api.send(
            conversation_id,
            content,
            content_type=content_type,
            attachments=attachments,
            client_message_id=client_id,
        )
    )
    if not result.created:
        note("already stored: a message with this --client-id was sent before")
    print_result(result.message.raw, result.message.id, json_output=json_output)


MessageArgument = Annotated[str, typer.Argument(metavar="MESSAGE_ID", help="The message's id.")]


@with_option_groups
def edit(
    conversation_id: ConversationArgument,
    message_id: MessageArgument,
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="The new text; - reads it from stdin.")
    ],
    json_output: JsonOption = False,
    *,
    connection: ConnectionOptions,
) -> None:
    """Change the text of one of your messages; print its id (--json: the message).

    Only its sender may edit a message, and not once it was deleted. The same text again
    changes nothing.
    """
    content = sys.stdin.read() if text == "-" else text
    message = connection.run(lambda api: api.edit(conversation_id, message_id, content))
    print_result(message.raw, message.id, json_output=json_output)


@with_option_groups
def delete(
    conversation_id: ConversationArgument,
    message_id: MessageArgument,
    json_output: JsonOption = False,
    *,
    connection: ConnectionOptions,
) -> None:
    """Delete a message, leaving a tombstone in its place; print its id (--json: the
    tombstone).

    Your own messages, or any with an admin token. Deleting again changes nothing.
    """
    message = connection.run(lambda api: api.delete(conversation_id, message_id))
    print_result(message.raw, message.id, json_output=json_output)


def parse_attachment(value: str) -> Attachment:
    """`URL,FILENAME,MIME,SIZE`; the URL may itself contain commas (split from the right)."""
    from chatkit.client import Attachment

    parts = value.rsplit(",", 3)
    if len(parts) != 4 or not all(part.strip() for part in parts):
        fail(f"--attach wants URL,FILENAME,MIME,SIZE, got {value!r}", code=2)
    url, filename, mime, size = (part.strip() for part in parts)
    if not size.isdigit():
        fail(f"--attach size must be a number of bytes, got {size!r}", code=2)
    return Attachment(None, filename, mime, url, int(size))
