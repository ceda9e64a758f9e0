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
    # Drafts and unsent messages are kept in a file here; None keeps them for this run only.
    data_dir: Path | None = None
    # The contract's limit, in code points once trimmed; longer text is not sent.
    max_length: int = 4000
    # Messages in other conversations ring the terminal (OSC 777 / OSC 9, and the bell).
    notify: bool = False
    page_size: int = 50
    typing_timeout: float = 6.0  # the other side's "typing…" clears after this without news
    typing_throttle: float = 3.0  # at most one isTyping=true per this many seconds
    typing_idle: float = 4.0  # own typing stops after this long without a keystroke
