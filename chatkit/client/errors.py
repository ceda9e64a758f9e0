"""What the client raises: one tree, each error with a one-line message fit for a user."""

from __future__ import annotations


class ClientError(Exception):
    """Anything that went wrong talking to a chat server."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(ClientError):
    """The server answered with an error (`status`, `code` from its error body), or could not
    be reached (`status` 0, see `Unreachable`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def __str__(self) -> str:
        if self.status:
            return f"{self.message} (HTTP {self.status} {self.code})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status!r}, {self.code!r}, {self.message!r})"


class Unreachable(ApiError):
    """No HTTP answer at all: connection refused, DNS failure, timeout."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(0, code, message)


class EventError(ClientError):
    """A Socket.IO event was acknowledged with `{"ok": false, "error": {code, message}}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


class NotConnected(ClientError):
    """A Socket.IO event could not be sent or was not acknowledged: the socket is down."""
