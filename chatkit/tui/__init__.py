"""`chatkit tui`: a Textual chat client that speaks only the public REST and Socket.IO API."""

from chatkit.tui.app import ChatApp, make_app
from chatkit.tui.options import TuiOptions, UserChoice

__all__ = ["ChatApp", "TuiOptions", "UserChoice", "make_app"]
