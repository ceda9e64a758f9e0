"""The Socket.IO server class: python-socketio's, through chatkit's library seam."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

from chatkit.config import ConfigError
from chatkit.server.realtime import frames
from chatkit.server.realtime.transport.lean import LeanHub
from chatkit.socketio_internals import SUPPORTED_VERSIONS, ChatServerBase


class ChatSocketServer(ChatServerBase):
    """python-socketio's server with the fixes of `chatkit.socketio_internals`.

    Refuses client-sent lifecycle events, answers or closes on every malformed packet, keeps
    websockets in chatkit's own lean transport (`self.lean`), starts its client manager
    eagerly and can drop every transport at shutdown.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_versions()
        super().__init__(*args, rules=frames, **kwargs)
        eio = self.eio
        self.attach_lean(
            LeanHub(
                new_sid=eio.generate_id,
                connected=self.lean_connected,
                received=self.lean_received,
                gone=self.lean_gone,
                max_size=eio.max_http_buffer_size,
                ping_interval=eio.ping_interval,
                ping_timeout=eio.ping_timeout,
            )
        )
        self.lean: LeanHub

    async def stop_manager(self) -> None:
        """Stop the manager's background listener (Redis), if it runs one."""
        stop = getattr(self.manager, "stop_listening", None)
        if stop is not None:
            await stop()
        close = getattr(self.manager, "close", None)
        if close is not None:
            await close()

    def origin_allowed(self, origin: str | None) -> bool:
        """engineio's origin check, for a websocket the lean transport answers itself."""
        allowed = self.eio.cors_allowed_origins
        if not origin or allowed == "*" or allowed == []:
            return True
        if allowed is None:  # same origin only: engineio's to decide
            return False
        return origin in ([allowed] if isinstance(allowed, str) else allowed)


def check_versions() -> None:
    """Stop start-up with one line if an installed library is outside the tested range."""
    for name, (lowest, unsupported) in SUPPORTED_VERSIONS.items():
        installed = metadata.version(name)
        parts = [int(part) for part in re.findall(r"\d+", installed)[:3]]
        numbers = tuple(parts + [0] * (3 - len(parts)))
        if not lowest <= numbers < unsupported:
            raise ConfigError(
                f"{name} {installed} is not supported: chatkit needs "
                f">={'.'.join(map(str, lowest))},<{'.'.join(map(str, unsupported))}"
            )
