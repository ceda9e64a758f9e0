"""`chatkit listen` and `chatkit typing`: the `/chat` Socket.IO namespace from the shell.

`listen` prints one JSON line per event. It is built on `RealtimeClient`, which reconnects by
itself and, after each connect, fetches with the contract's `after` cursor what was sent while
it was away — so a pipeline reading it never loses a message, whatever server it talks to.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatkit.commands.common import ConfigOption, err_console, fail
from chatkit.commands.connection import TokenOption, UrlOption, UserOption, resolve, run_client
from chatkit.commands.output import emit_json
from chatkit.event_names import CHAT_EVENTS

if TYPE_CHECKING:
    from chatkit.client import (
        ApiClient,
        ClientError,
        ConnectionStatus,
        Event,
        EventStream,
        RealtimeClient,
    )

CONNECT_TIMEOUT = 15.0
TYPING_REFRESH = 3.0  # under the server's typing timeout (8 s by default), as the TUI does


@dataclass(frozen=True, slots=True)
class Wanted:
    """Which events `listen` prints."""

    conversations: frozenset[str]
    events: frozenset[str]
    me: str | None  # set with --skip-own: leave out this user's own messages and receipts

    def line(self, event: Event) -> dict[str, Any] | None:
        from chatkit.client import (
            ConnectionEvent,
            MessageDeletedEvent,
            MessageEvent,
            PresenceEvent,
            ReadEvent,
        )

        if isinstance(event, ConnectionEvent) or event.name not in self.events:
            return None
        if isinstance(event, PresenceEvent):
            # About a person, not a conversation: only the event filter applies.
            return {"event": event.name, **event.raw}
        if isinstance(event, MessageEvent):
            own = event.message.sender_id == self.me
            data = {
                "conversationId": event.conversation_id,
                "message": event.message.raw,
                "catchUp": event.catch_up,
            }
        elif isinstance(event, MessageDeletedEvent):
            own = False  # whose it was is not in the event
            data = {**event.raw, "catchUp": event.catch_up}
        elif isinstance(event, ReadEvent):
            own, data = event.receipt.read_by == self.me, event.receipt.raw
        else:
            own, data = event.user_id == self.me, event.raw
        if own:
            return None
        if self.conversations and event.conversation_id not in self.conversations:
            return None
        return {"event": event.name, **data}


def listen(
    conversation: Annotated[
        list[str] | None,
        typer.Option(
            "--conversation",
            metavar="ID",
            help="Only this conversation (repeat for several). Default: all of yours, "
            "including those created while listening.",
            show_default=False,
        ),
    ] = None,
    events: Annotated[
        str, typer.Option(metavar="NAMES", help="The events to print, comma-separated.")
    ] = ",".join(CHAT_EVENTS),
    count: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Stop after printing this many events.", min=1, show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Stop after this many seconds; with --count, not reaching it is an error "
            "(exit status 1).",
            min=0.0,
            show_default=False,
        ),
    ] = None,
    skip_own: Annotated[
        bool,
        typer.Option("--skip-own", help="Leave out your own messages and read receipts."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No connection notes on stderr (errors stay).")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
) -> None:
    """Print live events as JSON lines, reconnecting and catching up by itself.

    It runs until interrupted (Ctrl-C, SIGTERM), or --count / --timeout.

    Each line is the event's payload with its name: {"event": "new_message", "conversationId",
    "message", "catchUp"}, {"event": "user_typing", "conversationId", "userId", "isTyping"},
    {"event": "messages_read", "conversationId", "readBy", "count"}. It reconnects by itself;
    messages sent while it was away are printed after the reconnect ("catchUp": true), once
    each and in order. "listening" on stderr says it is connected.
    """
    chosen = frozenset(name.strip() for name in events.split(",") if name.strip())
    unknown = sorted(chosen - set(CHAT_EVENTS))
    if unknown or not chosen:
        fail(
            f"--events takes {', '.join(CHAT_EVENTS)}; not {', '.join(unknown) or 'nothing'}",
            code=2,
        )
    connection = resolve(url=url, token=token, user=user, config=config)

    async def work(api: ApiClient) -> None:
        from chatkit.client import token_subject

        me = token_subject(api.token)
        wanted = Wanted(frozenset(conversation or ()), chosen, me if skip_own else None)
        listener = Listener(api, wanted, quiet=quiet)
        try:
            async with asyncio.timeout(timeout):
                await listener.run(count)
        except TimeoutError:
            if count is not None:
                fail(f"timed out after {timeout:g}s with {listener.printed} of {count} events")

    run_client(connection, stoppable(work))


class Listener:
    def __init__(self, api: ApiClient, wanted: Wanted, *, quiet: bool) -> None:
        self.api = api
        self.wanted = wanted
        self.quiet = quiet
        self.printed = 0
        self._tracked = 0
        self._caught_up = 0
        self._was_live = False
        self._said = ""

    async def run(self, count: int | None) -> None:
        from chatkit.client import RealtimeClient

        realtime = RealtimeClient(self.api, follow_new_conversations=not self.wanted.conversations)
        self._tracked = await self._start_from_now(realtime)
        async with realtime.subscribe() as stream:
            realtime.start()
            try:
                async for event in stream:
                    if self._connection(event):
                        continue
                    line = self.wanted.line(event)
                    if line is None:
                        continue
                    emit_json(line)
                    self.printed += 1
                    if getattr(event, "catch_up", False):
                        self._caught_up += 1
                    if count is not None and self.printed >= count:
                        return
            finally:
                await realtime.close()

    async def _start_from_now(self, realtime: RealtimeClient) -> int:
        """Track every conversation from its newest message: anything after that is printed,
        even if it is sent before the socket is connected."""
        if self.wanted.conversations:
            found = [await self.api.conversation(cid) for cid in self.wanted.conversations]
        else:
            found = [c async for c in self.api.all_conversations()]
        for conversation in found:
            last = conversation.last_message
            realtime.track(conversation.id, last.id if last else None)
        return len(found)

    def _connection(self, event: Event) -> bool:
        """Report connection changes on stderr; stop on a refusal that retrying cannot fix.
        True when `event` was about the connection."""
        from chatkit.client import ConnectionEvent, ConnectionState

        if not isinstance(event, ConnectionEvent):
            return False
        status = event.status
        if status.live:
            if not self._was_live:
                n = self._tracked
                scope = f"{n} conversation{'s' if n != 1 else ''}"
                self._say(f"listening on {self.api.base_url} ({scope}); Ctrl-C to stop")
            else:
                self._say(f"reconnected; {self._caught_up} missed message(s) caught up")
            self._was_live, self._caught_up = True, 0
        elif not status.retrying:
            raise refused(status)
        elif status.state in (ConnectionState.RECONNECTING, ConnectionState.OFFLINE):
            self._say(status.describe())
        return True

    def _say(self, text: str) -> None:
        if not self.quiet and text != self._said:
            err_console.print(text, highlight=False, soft_wrap=True, markup=False)
            self._said = text


def typing_indicator(
    conversation_id: Annotated[
        str, typer.Argument(metavar="CONVERSATION_ID", help="The conversation's id.")
    ],
    state: Annotated[str, typer.Argument(metavar="on|off", help="Start or stop typing.")],
    hold: Annotated[
        float,
        typer.Option(
            "--for",
            metavar="SECONDS",
            help="With on: keep the indicator up this many seconds, then clear it (0: until "
            "interrupted). Sending a message in the conversation also clears it.",
            min=0.0,
        ),
    ] = 5.0,
    url: UrlOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
) -> None:
    """Show (on) or clear (off) your typing indicator in a conversation."""
    if state not in ("on", "off"):
        fail(f"the state must be on or off, not {state!r}", code=2)
    connection = resolve(url=url, token=token, user=user, config=config)

    async def work(api: ApiClient) -> None:
        from chatkit.client import RealtimeClient, token_subject

        await api.conversation(conversation_id)  # a clear 401 / 404 / unreachable first
        realtime = RealtimeClient(api)
        async with realtime.subscribe() as stream:
            realtime.start()
            try:
                await connected(stream)
                await realtime.typing(conversation_id, state == "on")
                if state == "on" and not await _hold(
                    realtime, stream, conversation_id, token_subject(api.token), hold
                ):
                    await realtime.typing(conversation_id, False)
            finally:
                await realtime.close()

    run_client(connection, stoppable(work))


async def connected(stream: EventStream, timeout: float = CONNECT_TIMEOUT) -> None:
    """Wait for the socket to be connected and caught up; a refusal or a timeout raises."""
    from chatkit.client import ClientError, ConnectionEvent

    last: ConnectionStatus | None = None
    try:
        async with asyncio.timeout(timeout):
            async for event in stream:
                if not isinstance(event, ConnectionEvent):
                    continue
                last = event.status
                if last.live:
                    return
                if not last.retrying:
                    raise refused(last)
    except TimeoutError:
        detail = last.describe() if last else "no answer"
        raise ClientError(
            f"could not connect to the /chat namespace in {timeout:g}s ({detail})"
        ) from None


async def _hold(
    realtime: RealtimeClient,
    stream: EventStream,
    conversation_id: str,
    me: str | None,
    seconds: float,
) -> bool:
    """Keep typing on for `seconds` (0: forever); True when a message of ours ended it."""
    from chatkit.client import NewMessageEvent, NotConnected

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds if seconds else None
    refresh_at = loop.time() + TYPING_REFRESH
    while deadline is None or loop.time() < deadline:
        wake = refresh_at if deadline is None else min(refresh_at, deadline)
        try:
            event = await stream.get(timeout=max(0.0, wake - loop.time()))
        except TimeoutError:
            if loop.time() >= refresh_at:
                refresh_at = loop.time() + TYPING_REFRESH
                try:
                    await realtime.typing(conversation_id, True)
                except NotConnected:
                    pass  # it reconnects by itself; the next refresh says it again
            continue
        if (
            isinstance(event, NewMessageEvent)
            and event.conversation_id == conversation_id
            and event.message.sender_id == me
        ):
            return True  # the server clears the indicator when our message is stored
    return False


def refused(status: ConnectionStatus) -> ClientError:
    """A refusal that retrying cannot fix (a static token the server no longer accepts)."""
    from chatkit.client import ClientError

    reason = status.detail.removeprefix("refused: ")
    return ClientError(f"the server refused the socket connection: {reason}")


def stoppable(
    work: Callable[[ApiClient], Awaitable[None]],
) -> Callable[[ApiClient], Awaitable[None]]:
    """Ctrl-C or SIGTERM ends a long-running command cleanly, with exit status 0: it is how
    `listen` is meant to be stopped."""

    async def run(api: ApiClient) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await work(api)
        except asyncio.CancelledError:
            pass
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    return run
