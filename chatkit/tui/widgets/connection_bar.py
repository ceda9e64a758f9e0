"""The always-visible connection state: connected / reconnecting / offline, with a live
countdown to the next attempt and the key that skips it."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from chatkit.client import ConnectionState, ConnectionStatus

_ICONS = {
    ConnectionState.CONNECTED: "●",
    ConnectionState.CONNECTING: "◌",
    ConnectionState.RECONNECTING: "◌",
    ConnectionState.OFFLINE: "○",
}


class ConnectionBar(Static):
    DEFAULT_CSS = """
    ConnectionBar {
        height: 1;
        padding: 0 1;
        background: $boost;
        color: $text-muted;
    }
    ConnectionBar.-connected { color: $success; }
    ConnectionBar.-connecting, ConnectionBar.-reconnecting { color: $warning; }
    ConnectionBar.-offline { color: $error; text-style: bold; }
    """

    status: reactive[ConnectionStatus] = reactive(
        ConnectionStatus(ConnectionState.CONNECTING), always_update=True
    )

    def on_mount(self) -> None:
        # The app's `connection` reactive is the source; every screen's bar follows it.
        self.watch(self.app, "connection", self._app_changed)
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        if self.status.retry_at is not None:
            self.watch_status(self.status)

    def _app_changed(self, status: ConnectionStatus) -> None:
        self.status = status

    def watch_status(self, status: ConnectionStatus) -> None:
        for state in ConnectionState:
            self.set_class(status.state is state, f"-{state.value}")
        text = f"{_ICONS[status.state]} {status.describe()}"
        if status.retry_at is not None:
            text += " · Ctrl+O now"
        who = getattr(self.app, "me_name", "")
        room = self.content_size.width or 78
        if who and len(text) + len(who) + 5 <= room:  # the state first; the name if it fits
            text += f"  ·  {who}"
        self.update(text)
