"""Socket.IO client managers with two room operations the chat needs across processes.

- "Join everyone in room A to room B": when a conversation is created, both participants'
  sockets (in their `user:<id>` rooms, possibly on other processes) join the conversation room.
- "Skip everyone in room A": typing indicators go to a conversation except the typer's own
  sockets, wherever they are connected.
- Other commands addressed to the sockets of a room (e.g. "cut the sockets of this user whose
  tokens were revoked") are handed to the namespace's `room_command` (a `CommandReceiver`).

All travel as ordinary emits, so python-socketio's pub/sub managers carry them between
processes unchanged; each process applies them to its own sockets.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from engineio import packet as engineio_packet
from socketio import packet as socketio_packet

from chatkit.socketio_internals import IndexedManagerBase

USER_ROOM_PREFIX = "user:"
# An emit with this event name is a command to the processes, not a message to clients.
ROOM_COMMAND_EVENT = "\x00chatkit:room-command"


@runtime_checkable
class CommandReceiver(Protocol):
    """A namespace that takes room commands: the sids of the room on this process, the data."""

    def room_command(self, sids: list[str], data: dict[str, Any]) -> None: ...


def user_room(user_id: str) -> str:
    return USER_ROOM_PREFIX + user_id


class RoomLinkingManager(IndexedManagerBase):
    """The local part of both operations; pub/sub managers put it after themselves in the MRO."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if event == ROOM_COMMAND_EVENT:
            self._run_command(namespace, room, data)
            return
        if skip_sid:
            skip_sid = self._expand_skips(namespace, skip_sid)
        if callback is not None or not self.has_namespace(namespace):
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        await self._fan_out(event, data, namespace, room, skip_sid or ())

    async def _fan_out(
        self, event: str, data: Any, namespace: str, room: str | None, skip: Any
    ) -> None:
        """Encode once, hand the same frame to every recipient's queue, in order.

        The stock emit creates one task per recipient and waits for them all; handing a
        frame to an Engine.IO socket only puts it on that socket's queue, so doing it inline
        saves the tasks (a third of the CPU of a small fan-out) and keeps the order.
        """
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        encoded = self.server.packet_class(
            socketio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = [
            engineio_packet.Packet(engineio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        send = self.deliver
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            for frame in frames:
                await send(eio_sid, frame)

    def _run_command(self, namespace: str, room: str | None, data: dict[str, Any]) -> None:
        if room is None:
            return
        members = list(self.get_participants(namespace, room))
        if data.get("command") == "join":
            for sid, eio_sid in members:
                self.basic_enter_room(sid, namespace, data["room"], eio_sid=eio_sid)
        elif members:
            receiver = self.server.namespace_handlers.get(namespace)
            if isinstance(receiver, CommandReceiver):
                receiver.room_command([sid for sid, _ in members], data)

    def _expand_skips(self, namespace: str, skip_sid: Any) -> list[str]:
        skips = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        expanded: list[str] = []
        for item in skips:
            if isinstance(item, str) and item.startswith(USER_ROOM_PREFIX):
                expanded.extend(sid for sid, _ in self.get_participants(namespace, item))
            else:
                expanded.append(item)
        return expanded
