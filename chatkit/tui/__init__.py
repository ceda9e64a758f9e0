"""`chatkit tui`: a Textual chat client that speaks only the public REST and Socket.IO API."""

from chatkit.tui.app import ChatApp, TuiOptions, UserChoice, make_app

__all__ = ["ChatApp", "TuiOptions", "UserChoice", "make_app"]
