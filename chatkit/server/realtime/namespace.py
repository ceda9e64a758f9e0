"""The `/chat` Socket.IO namespace: connection lifecycle and the client → server events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

import socketio

from chatkit.aiotools import BackgroundTask
from chatkit.ids import parse_uuid
from chatkit.server.data.database import is_unavailable
from chatkit.server.data.store import Store
from chatkit.server.data.store.messages import MarkRead
from chatkit.server.data.store.records import Participants
from chatkit.server.data.writer import MessageWriter
from chatkit.server.errors import ChatkitError, NotFound, RateLimited
from chatkit.server.metrics import Metrics
from chatkit.server.ratelimit import RateLimits
from chatkit.server.realtime.presence_events import PresenceEvents
from chatkit.server.realtime.publisher import NAMESPACE, Publisher
from chatkit.server.realtime.rooms import ROOM_COMMAND_EVENT, user_room
from chatkit.server.realtime.typing_tracker import TypingTracker
from chatkit.server.wire import render
from chatkit.server.wire.schemas import Body, ConversationRef, ReauthIn, SyncIn, TypingIn, validate
from chatkit.tokens import Claims, TokenError, bearer_token
from chatkit.wire import Acked, AckError, DisconnectCode, Reauthed, Synced, SyncedConversation

log = logging.getLogger("chatkit.realtime")

SYNC_PAGE = 100
SYNC_MAX_CONVERSATIONS = 100
# How often live sockets are checked against revocations and deleted users made elsewhere
# (by `chatkit users revoke-tokens`, or on another process).
REVOCATION_SWEEP_SECONDS = 30.0
# What a client event is answered: its acknowledgement.
Ack = Acked | AckError | Synced | Reauthed


@dataclass(slots=True)
class SocketState:
    user_id: str
    expires_at: float
    issued_at: float | None
    expiry: asyncio.TimerHandle | None = None


Handler = Callable[[str, SocketState, Any], Awaitable[Ack]]


class Authenticates(Protocol):
    """The server's Authenticator (chatkit.server.http.auth), as the sockets use it."""

    async def authenticate(self, token: str | None, *, user_required: bool = True) -> Claims: ...

    def forget(self, user_id: str) -> None: ...


class ChatNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Handlers stay thin: validate the payload, check membership, call the store or writer.

    The client manager (realtime.rooms) hands it the room commands addressed to its sockets
    through `room_command`; the revocation sweeper is its one background task.
    """

    def __init__(
        self,
        *,
        store: Store,
        authenticator: Authenticates,
        presence: PresenceEvents,
        writer: MessageWriter,
        publisher: Publisher,
        typing: TypingTracker,
        limits: RateLimits,
        metrics: Metrics,
        max_sockets_per_user: int,
    ) -> None:
        super().__init__(NAMESPACE)
        self._store = store
        self._auth = authenticator
        self._presence = presence
        self._writer = writer
        self._publisher = publisher
        self._limits = limits
        self._metrics = metrics
        self._max_sockets = max_sockets_per_user
        self._sockets: dict[str, SocketState] = {}
        self._per_user: dict[str, int] = {}
        self._typing = typing
        self._sweeper = BackgroundTask("chatkit-revocations", self._sweep_forever)
        self._events: dict[str, Handler] = {
            "join_conversation": self._join,
            "leave_conversation": self._leave,
            "typing": self._on_typing,
            "mark_read": self._mark_read,
            "sync": self._sync,
            "reauth": self._reauth,
        }

    @property
    def connected_sockets(self) -> int:
        return len(self._sockets)

    def start(self) -> None:
        self._sweeper.start()

    async def stop(self) -> None:
        await self._sweeper.stop()
        self._typing.clear()

    # --- connection lifecycle ---------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            claims = await self._auth.authenticate(handshake_token(auth, environ))
            conversation_ids = await self._store.conversations.ids_for_user(claims.user_id)
        except TokenError as error:
            raise socketio.exceptions.ConnectionRefusedError(
                "unauthorized", {"code": error.code, "reason": error.message}
            ) from None
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise socketio.exceptions.ConnectionRefusedError(
                "unavailable", {"code": "unavailable", "reason": "the database is unavailable"}
            ) from None
        if self._max_sockets and self._per_user.get(claims.user_id, 0) >= self._max_sockets:
            raise socketio.exceptions.ConnectionRefusedError(
                "too_many_connections",
                {
                    "code": "too_many_connections",
                    "reason": f"at most {self._max_sockets} connections per user",
                },
            )
        state = SocketState(claims.user_id, claims.accepted_until, claims.issued_at)
        self._sockets[sid] = state
        self._per_user[claims.user_id] = self._per_user.get(claims.user_id, 0) + 1
        await self.enter_room(sid, user_room(claims.user_id))
        for conversation_id in conversation_ids:
            await self.enter_room(sid, conversation_id)
        await self._presence.connected(claims.user_id, sid)
        self._metrics.connected_sockets.inc()
        self._schedule_expiry(sid, state)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        state = self._sockets.pop(sid, None)
        if state is None:
            return
        if state.expiry is not None:
            state.expiry.cancel()
        remaining = self._per_user.get(state.user_id, 1) - 1
        if remaining > 0:
            self._per_user[state.user_id] = remaining
        else:
            self._per_user.pop(state.user_id, None)
        self._typing.socket_closed(sid)
        self._metrics.connected_sockets.dec()
        self._limits.forget(sid)
        await self._presence.disconnected(state.user_id, sid)

    def _schedule_expiry(self, sid: str, state: SocketState) -> None:
        if state.expiry is not None:
            state.expiry.cancel()
        delay = max(0.0, state.expires_at - time.time())
        state.expiry = asyncio.get_running_loop().call_later(delay, self._expire, sid)

    def _expire(self, sid: str) -> None:
        if sid in self._sockets:
            asyncio.create_task(
                self._cut(sid, "token_expired", "your token expired; reconnect with a new one")
            )

    async def _cut(self, sid: str, code: DisconnectCode, message: str) -> None:
        """Tell the client why, then disconnect it (it will not reconnect by itself)."""
        await self.emit(code, render.disconnecting(code, message), to=sid)
        await self.disconnect(sid)

    # --- revocation -----------------------------------------------------------------------------

    def room_command(self, sids: list[str], data: dict[str, Any]) -> None:
        """A command addressed to these sockets of this process (see realtime.rooms)."""
        if data.get("command") != "revoke":
            return
        before = data.get("before")
        for sid in sids:
            state = self._sockets.get(sid)
            if state is not None and _issued_before(state, before):
                asyncio.create_task(
                    self._cut(sid, "token_revoked", "your token was revoked; sign in again")
                )

    async def revoke(self, user_id: str, *, before: float | None) -> None:
        """Cut the user's sockets (on every process) whose token was issued before `before`
        (all of them when None: the user was deleted)."""
        self._auth.forget(user_id)
        await self.server.emit(
            ROOM_COMMAND_EVENT,
            {"command": "revoke", "before": before},
            room=user_room(user_id),
            namespace=NAMESPACE,
        )

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(REVOCATION_SWEEP_SECONDS)
            try:
                await self.sweep_revocations()
            except Exception as exc:  # the sweep is a safety net; it must keep running
                log.warning("revocation sweep failed: %s", exc)

    async def sweep_revocations(self) -> None:
        users = {state.user_id for state in self._sockets.values()}
        if not users:
            return
        floors = await self._store.users.token_floors(users)
        for sid, state in list(self._sockets.items()):
            if state.user_id not in users:
                continue  # connected while the query ran: its handshake just checked it
            if state.user_id not in floors:
                await self._cut(sid, "token_revoked", "your account no longer exists")
                continue
            floor = floors[state.user_id]
            if floor is not None and _issued_before(state, int(floor.timestamp())):
                await self._cut(sid, "token_revoked", "your token was revoked; sign in again")

    # --- events -------------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Ack | None:
        """Route events ourselves so that no payload, however wrong, can raise out of here."""
        if event in ("connect", "disconnect"):
            lifecycle: None = await super().trigger_event(event, *args)  # on_(dis)connect's
            return lifecycle
        if not args:
            return None
        sid, payload = args[0], (args[1] if len(args) > 1 else None)
        handler = self._events.get(event)
        if handler is None:
            return render.ack_error("unknown_event", f"there is no event {event!r} on /chat")
        state = self._sockets.get(sid)
        if state is None:
            return render.ack_error("unauthorized", "this socket is not authenticated")
        try:
            self._limits.event(sid)
            return await handler(sid, state, payload)
        except RateLimited as error:
            return render.ack_error(error.code, error.message, retry_after=error.retry_after)
        except ChatkitError as error:
            return render.ack_error(error.code, error.message)
        except Exception as exc:
            if is_unavailable(exc):
                return render.ack_error("unavailable", "the database is unavailable; retry")
            log.exception("socket event %s failed", event)
            return render.ack_error("internal_error", "the server failed; it was logged")

    async def _participants(self, state: SocketState, raw_id: str) -> Participants:
        conversation_id = parse_uuid(raw_id)
        if conversation_id is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        return await self._store.conversations.require_participant(
            conversation_id=conversation_id, user_id=state.user_id
        )

    async def _join(self, sid: str, state: SocketState, payload: Any) -> Acked:
        ref = _payload(ConversationRef, payload)
        participants = await self._participants(state, ref.conversation_id)
        await self.enter_room(sid, participants.conversation_id)
        return render.ACKED

    async def _leave(self, sid: str, state: SocketState, payload: Any) -> Acked:
        ref = _payload(ConversationRef, payload)
        conversation_id = parse_uuid(ref.conversation_id)
        if conversation_id is not None:
            await self.leave_room(sid, conversation_id)
        return render.ACKED

    async def _on_typing(self, sid: str, state: SocketState, payload: Any) -> Acked:
        typing = _payload(TypingIn, payload)
        participants = await self._participants(state, typing.conversation_id)
        if typing.is_typing and (self._publisher.busy or self._writer.busy):
            return render.ACKED  # under load, typing indicators are the first thing to go
        self._typing.update(participants.conversation_id, state.user_id, sid, typing.is_typing)
        return render.ACKED

    async def _mark_read(self, sid: str, state: SocketState, payload: Any) -> Acked:
        ref = _payload(ConversationRef, payload)
        participants = await self._participants(state, ref.conversation_id)
        # The publisher emits messages_read once the receipt is committed.
        await self._writer.mark_read(MarkRead(participants, state.user_id))
        return render.ACKED

    async def _sync(self, sid: str, state: SocketState, payload: Any) -> Synced:
        """`{conversationId: lastSeenSeq}` → what each conversation has after that seq."""
        request = _payload(SyncIn, {"conversations": payload})
        if len(request.conversations) > SYNC_MAX_CONVERSATIONS:
            raise ChatkitError(
                f"sync at most {SYNC_MAX_CONVERSATIONS} conversations at once",
                code="invalid_payload",
            )
        answer: dict[str, SyncedConversation] = {}
        for raw_id, point in request.conversations.items():
            participants = await self._participants(state, raw_id)
            conversation_id = participants.conversation_id
            last_seq, change_seq = (point, 0) if isinstance(point, int) else point.pair
            page = await self._store.messages.after_seq(
                conversation_id=conversation_id,
                seq=last_seq,
                limit=SYNC_PAGE,
                changes_after=change_seq,
            )
            read = await self._store.conversations.read_state(
                conversation_id=conversation_id, user_id=state.user_id
            )
            answer[raw_id] = render.synced_conversation(page, read)
        return {"ok": True, "conversations": answer}

    async def _reauth(self, sid: str, state: SocketState, payload: Any) -> Reauthed:
        """Swap in a fresh token without reconnecting; it must be the same user's."""
        request = _payload(ReauthIn, payload)
        try:
            claims: Claims = await self._auth.authenticate(request.token)
        except TokenError as error:
            raise ChatkitError(error.message, code=error.code) from None
        if claims.user_id != state.user_id:
            raise ChatkitError("the new token is another user's", code="user_mismatch")
        state.expires_at = claims.accepted_until
        state.issued_at = claims.issued_at
        self._schedule_expiry(sid, state)
        return render.reauthed(claims.expires_at)

    # --- used by the REST side ----------------------------------------------------------------

    async def join_participants(self, participants: Participants) -> None:
        """Put every connected socket of both participants into the conversation's room."""
        for user_id in participants.user_ids:
            await self.server.emit(
                ROOM_COMMAND_EVENT,
                {"command": "join", "room": participants.conversation_id},
                room=user_room(user_id),
                namespace=NAMESPACE,
            )


def handshake_token(auth: object, environ: dict[str, object]) -> str | None:
    """`auth.token`, else `Authorization: Bearer`, else `?token=` — the seed's order."""
    if isinstance(auth, dict):
        token = auth.get("token")
        if isinstance(token, str) and token:
            return token.removeprefix("Bearer ").strip() or None
    header = environ.get("HTTP_AUTHORIZATION")
    token = bearer_token(header if isinstance(header, str) else None)
    if token:
        return token
    query = environ.get("QUERY_STRING")
    if isinstance(query, str) and "token=" in query:
        values = parse_qs(query).get("token")
        if values and values[0]:
            return values[0]
    return None


def _issued_before(state: SocketState, before: float | None) -> bool:
    if before is None:
        return True
    return state.issued_at is None or state.issued_at < before


def _payload(model: type[Body], payload: Any) -> Any:
    try:
        return validate(model, payload)
    except ChatkitError as error:
        raise ChatkitError(error.message, code="invalid_payload") from None
