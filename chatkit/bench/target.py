"""The server under load: the embedded `chatkit serve`, or a URL; and the tokens for it."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from chatkit.config import ConfigError, Settings, load_settings
from chatkit.tokens import mint

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
_READY_LINE = re.compile(r"serving on (https?://\S+)")


class BenchError(Exception):
    """Something stops the run before it starts; the message is one line for the user."""


def require_loopback(url: str, *, allow_remote: bool) -> None:
    """Load goes to this machine only, unless the user says otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BenchError(f"--url must look like http://127.0.0.1:4000, got {url!r}")
    if allow_remote or _is_loopback(parts.hostname):
        return
    raise BenchError(
        f"{parts.hostname} is not this machine; pass --allow-remote to load a remote server"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_loopback for address in addresses
    )


class Minter:
    """Mints the user and admin tokens the target accepts."""

    def __init__(self, settings: Settings, *, admin_token: str | None = None) -> None:
        self._settings = settings
        self._admin_token = admin_token

    def user(self, user_id: str, ttl_seconds: int) -> str:
        return mint(self._settings, user_id=user_id, ttl_seconds=ttl_seconds)

    def admin(self, ttl_seconds: int) -> str:
        if self._admin_token:
            return self._admin_token
        return mint(self._settings, user_id=None, ttl_seconds=ttl_seconds, admin=True)


def minter_for_url(*, secret: str | None, admin_token: str | None, config: Path | None) -> Minter:
    """Tokens for a server given by URL: `--secret`, else this folder's chatkit settings.

    Without --secret the settings are those `chatkit token` would use here (chatkit.toml,
    CHATKIT_JWT_SECRET or ./chatkit.secret), so a `chatkit serve` started in the same folder
    accepts them. A secret is never generated here: it could not match any running server.
    """
    try:
        settings = load_settings(config, jwt_secret=secret)
    except ConfigError as exc:
        raise BenchError(str(exc)) from None
    hmac = settings.jwt_algorithm.startswith("HS")
    if hmac and settings.jwt_secret is None and not settings.secret_file.is_file():
        raise BenchError(
            "no signing secret for the target: pass --secret (its JWT secret), or run where "
            "its chatkit.toml / chatkit.secret are"
        )
    try:
        minter = Minter(settings, admin_token=admin_token)
        minter.user("00000000-0000-0000-0000-000000000001", 60)  # fail now, not mid-run
    except ConfigError as exc:
        raise BenchError(str(exc)) from None
    return minter


class EmbeddedServer:
    """`chatkit serve` in a subprocess of its own, on a temporary database by default.

    The process gets a clean environment (no CHATKIT_* from the caller's shell, no
    chatkit.toml: it runs in its own folder), so the same command measures the same thing
    on every machine. It runs in the default configuration — rate limits, socket caps, log
    level and all — except for the `settings` given (`--server-setting`), which the report
    names.
    """

    def __init__(
        self,
        folder: Path,
        *,
        database_url: str | None = None,
        settings: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.folder = folder
        self.settings = settings
        self.secret = secrets.token_urlsafe(32)
        self.database_url = database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        self.log_path = folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def database(self) -> str:
        return self.database_url.split("://", 1)[0].split("+", 1)[0]

    @property
    def configuration(self) -> str:
        """What the report says was measured: `defaults`, or which settings differ."""
        changed = ", ".join(f"{name}={value}" for name, value in self.settings)
        return f"defaults except {changed}" if changed else "defaults"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def minter(self) -> Minter:
        # Every setting minting reads is given, so none comes from the caller's environment.
        settings = Settings(
            jwt_secret=self.secret,
            jwt_algorithm="HS256",
            jwt_issuer="",
            jwt_audience="",
            secret_file=self.folder / "unused.secret",
        )
        return Minter(settings)

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("CHATKIT_")}
        env.update(
            CHATKIT_DATABASE_URL=self.database_url,
            CHATKIT_JWT_SECRET=self.secret,
            CHATKIT_SECRET_FILE=str(self.folder / "chatkit.secret"),
            PYTHONUNBUFFERED="1",
        )
        env.update({f"CHATKIT_{name.upper()}": value for name, value in self.settings})
        command = [sys.executable, "-m", "chatkit", "serve", "--host", "127.0.0.1", "--port", "0"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = _READY_LINE.search(self.log_path.read_text(errors="replace"))
            if match:
                self.url = match.group(1)
                return self.url
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise BenchError(f"the embedded server did not start: {self.log_tail()}")

    def stop(self) -> None:
        """SIGINT, as Ctrl-C would (a graceful shutdown), then a kill if it hangs."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no output)"
        return " | ".join(text[-lines:]) or "(no output)"
