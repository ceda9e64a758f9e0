"""The Socket.IO server class: python-socketio's, through chatkit's library seam."""

from __future__ import annotations

from typing import Any

from chatkit.socketio_internals import ChatServerBase, check_versions


class ChatSocketServer(ChatServerBase):
    """python-socketio's server with the fixes of `chatkit.socketio_internals`.

    Refuses client-sent lifecycle events, answers or closes on every malformed packet, starts
    its client manager eagerly and can drop every transport at shutdown.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_versions()
        super().__init__(*args, **kwargs)

    async def stop_manager(self) -> None:
        """Stop the manager's background listener (Redis), if it runs one."""
        stop = getattr(self.manager, "stop_listening", None)
        if stop is not None:
            await stop()
        close = getattr(self.manager, "close", None)
        if close is not None:
            await close()
