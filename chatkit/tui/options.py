"""What `chatkit tui` is started with: where, as whom, and the knobs tests turn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from chatkit.client import Backoff, TokenSource
from chatkit.timefmt import utcnow


@dataclass(frozen=True, slots=True)
class UserChoice:
    """Someone to sign in as (the demo users): `token` mints a token for them."""

    name: str
    role: str
    user_id: str
    token: Callable[[], str]


@dataclass(slots=True)
class TuiOptions:
    url: str
    token: TokenSource | None = None
    choices: Sequence[UserChoice] = ()
    theme: str = "dark"
    # The clock and time zone times are shown in; tests and screenshots freeze them.
    now: Callable[[], datetime] = utcnow
    tz: tzinfo | None = None
    backoff: Backoff = field(default_factory=Backoff)
    probe_interval: float = 0.5  # how often to ask whether an unreachable server is back
    # Drafts and unsent messages are kept in a file here; None keeps them for this run only.
    data_dir: Path | None = None
    # The contract's limit, in code points once trimmed; longer text is not sent.
    max_length: int = 4000
    # Desktop notifications through the terminal for messages in other conversations:
    # "off", "osc9", "osc777" or "bell" (see chatkit.tui.terminal.NotifyStyle).
    notify: str = "off"
    # The list keeps its order while the reader moves through it, re-sorting after this pause.
    list_settle: float = 2.0
    page_size: int = 50
    typing_timeout: float = 6.0  # the other side's "typing…" clears after this without news
    typing_throttle: float = 3.0  # at most one isTyping=true per this many seconds
    typing_idle: float = 4.0  # own typing stops after this long without a keystroke
