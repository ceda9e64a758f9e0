"""The always-visible connection state: connected / reconnecting / offline."""

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

    def __init__(self, who: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.who = who

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self._app_changed)

    def _app_changed(self, status: ConnectionStatus) -> None:
        self.status = status

    def watch_status(self, status: ConnectionStatus) -> None:
        for state in ConnectionState:
            self.set_class(status.state is state, f"-{state.value}")
        text = f"{_ICONS[status.state]} {status.describe()}"
        if self.who:
            text += f"  ·  {self.who}"
        self.update(text)
