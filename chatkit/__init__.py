"""chatkit: a real-time chat backend toolkit (REST + Socket.IO server, TUI, load tester)."""

__version__ = "0.1.0"
