"""The profiles `chatkit bench` knows, their defaults, and the options of one run."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROFILES_DIR = Path(__file__).parent / "profiles"
# Settings the bench gives its embedded server itself: where it listens, its database, the
# secret it mints tokens with.
_RESERVED_SETTINGS = frozenset(
    {"host", "port", "database_url", "jwt_secret", "secret_file", "jwt_algorithm"}
)
# The BenchOptions fields that do not shape the load: the profile (reported by name), where the
# load goes and where the outputs go.
_NOT_LOAD_SHAPE = frozenset({"profile", "target", "json_file", "html_file", "csv_prefix", "py_spy"})


@dataclass(frozen=True)
class ProfileSpec:
    """What a profile drives and the numbers it uses unless told otherwise.

    Defaults are small on purpose: a run is a few seconds of setup and twenty of load, which
    a shared 2-core laptop survives. docs/benchmarks.md lists the larger runs we report.
    """

    name: str
    summary: str
    users: int
    spawn_rate: float  # users per second, unless --spawn-rate; never more than the users
    duration: float = 20.0
    conversations: int | None = None  # None: one per Locust user
    tabs: int = 1  # sockets per participant
    in_flight: int = 1  # POSTs each Locust user keeps going (closed loop)
    messages: int = 0  # history messages seeded before the run
    sends_messages: bool = False
    rate: float | None = None  # open loop by default at this many messages per second

    @property
    def locustfile(self) -> Path:
        return PROFILES_DIR / f"{self.name.replace('-', '_')}.py"


PROFILES: dict[str, ProfileSpec] = {
    spec.name: spec
    for spec in (
        ProfileSpec(
            "chat",
            "pairs chatting: POST, the other side receives; typing and mark_read on the way",
            users=50,
            spawn_rate=100,
            sends_messages=True,
        ),
        ProfileSpec(
            "burst",
            "many messages into few conversations, many POSTs in flight per conversation",
            users=4,
            spawn_rate=100,
            in_flight=16,
            sends_messages=True,
        ),
        ProfileSpec(
            "fanout",
            "participants with many open tabs: each message reaches every tab of both",
            users=20,
            spawn_rate=20,  # each user opens 20 sockets
            tabs=10,
            sends_messages=True,
        ),
        ProfileSpec(
            "connect-storm",
            "sockets connecting (JWT check and auto-join) and leaving as fast as they can",
            users=20,
            spawn_rate=100,
        ),
        ProfileSpec(
            "idle",
            "N idle sockets held open: server memory per connection",
            users=1000,
            spawn_rate=200,
        ),
        ProfileSpec(
            "soak",
            "chat, typing, read marks, reconnect churn, history reads and idle sockets for a "
            "long time; fails when the server's RSS, open files, asyncio tasks or database "
            "connections keep growing after the warm-up",
            users=10,
            spawn_rate=20,
            duration=600.0,
            sends_messages=True,
            rate=10.0,
        ),
        ProfileSpec(
            "history",
            "conversation lists and history pages over a seeded history, checked for gaps",
            users=20,
            spawn_rate=100,
            conversations=100,
            messages=10_000,
        ),
    )
}


@dataclass(frozen=True)
class Target:
    """Where the load goes: a URL (foreign or local server) or None for the embedded one."""

    url: str | None = None
    secret: str | None = None  # HS256 secret to mint user tokens for a foreign server
    admin_token: str | None = None
    server_pid: int | None = None  # sample this local process's CPU and RSS
    database_url: str | None = None  # the embedded server's database (default: temp SQLite)
    # The embedded server runs with the defaults but for these (setting name, value) pairs.
    server_settings: tuple[tuple[str, str], ...] = ()
    allow_remote: bool = False


@dataclass(frozen=True)
class BenchOptions:
    profile: ProfileSpec
    users: int
    spawn_rate: float
    duration: float
    conversations: int
    tabs: int
    in_flight: int
    messages: int
    rate: float | None = None  # open loop: messages (connects, requests) per second in total
    processes: int = 1
    grace: float = 5.0  # how long delivery may lag once sending stops before it counts as lost
    transport: str = "websocket"
    max_error_rate: float = 0.01
    target: Target = field(default_factory=Target)
    json_file: Path | None = None
    html_file: Path | None = None
    csv_prefix: Path | None = None
    py_spy: Path | None = None  # profile the server during the timed phase into this file

    @classmethod
    def for_profile(cls, name: str, **overrides: object) -> BenchOptions:
        """The profile's defaults, with every override that is not None applied."""
        spec = PROFILES[name]
        users = overrides.get("users") or spec.users
        assert isinstance(users, int)
        base = cls(
            profile=spec,
            users=users,
            spawn_rate=min(spec.spawn_rate, users),
            duration=spec.duration,
            conversations=spec.conversations or users,
            tabs=spec.tabs,
            in_flight=spec.in_flight,
            messages=spec.messages,
            rate=spec.rate,
        )
        values = {key: value for key, value in overrides.items() if value is not None}
        return replace(base, **values)  # type: ignore[arg-type]

    def load_shape(self) -> dict[str, Any]:
        """The numbers and choices that shape the load, by field name (the report's options)."""
        return {
            option.name: getattr(self, option.name)
            for option in fields(self)
            if option.name not in _NOT_LOAD_SHAPE
        }

    def problems(self) -> list[str]:
        """Option combinations that cannot run, as one line each."""
        found = []
        if self.users < 1:
            found.append("--users must be at least 1")
        if self.spawn_rate <= 0:
            found.append("--spawn-rate must be positive")
        if self.duration <= 0:
            found.append("--duration must be positive")
        if self.rate is not None and self.rate <= 0:
            found.append("--rate must be positive")
        if not 1 <= self.processes <= 64:
            found.append("--processes must be between 1 and 64")
        if self.tabs < 1 or self.in_flight < 1:
            found.append("--tabs and --in-flight must be at least 1")
        if self.profile.sends_messages and self.conversations < self.users:
            found.append("--conversations must be at least --users (each user owns its own)")
        if self.profile.name == "history" and self.conversations < 1:
            found.append("--conversations must be at least 1")
        if self.transport not in ("websocket", "polling"):
            found.append("--transport must be websocket or polling")
        if self.grace <= 0:
            found.append("--grace must be positive")
        if not 0 <= self.max_error_rate <= 1:
            found.append("--max-error-rate must be between 0 and 1")
        if self.target.server_settings and self.target.url:
            found.append("--server-setting is for the embedded server, not --url")
        from chatkit.config import Settings

        for name, _ in self.target.server_settings:
            if name not in Settings.model_fields or name in _RESERVED_SETTINGS:
                found.append(f"--server-setting: {name!r} is not a setting the bench may change")
        if self.profile.name == "soak" and self.target.url and not self.target.server_pid:
            found.append("soak samples the server's resources: give --server-pid with --url")
        if self.py_spy is not None and self.target.url and not self.target.server_pid:
            found.append("--py-spy needs a local server: the embedded one, or --server-pid")
        return found
