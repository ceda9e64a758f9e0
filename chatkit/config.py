"""One settings model, read from defaults < chatkit.toml < CHATKIT_* environment < flags."""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG_FILE = "chatkit.toml"
ENV_PREFIX = "CHATKIT_"


# The URL settings (empty when unset), the schemes each takes, and what an error says.
URL_SCHEMES: dict[str, tuple[tuple[str, ...], str]] = {
    "public_url": (("http://", "https://"), "must be an http:// or https:// URL"),
    "redis_url": (
        ("redis://", "rediss://", "unix://"),
        "must start with redis://, rediss:// or unix://",
    ),
    "smtp_url": (("smtp://", "smtps://"), "must look like smtp://[user:pass@]host:port"),
}


class ConfigError(Exception):
    """A setting is wrong; the message is one line that names it."""


class Settings(BaseSettings):
    """Everything a chatkit process can be told. See chatkit.toml for the documented sample."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, extra="forbid", validate_default=True
    )

    # [server]
    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    public_url: str = ""
    cors_origins: str = "*"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"

    # [limits]
    message_rate: str = "1200/10 seconds"
    event_rate: str = "2400/10 seconds"
    max_sockets_per_user: int = Field(default=100, ge=0)
    typing_timeout: float = Field(default=8.0, gt=0)
    # Seconds a user's last socket may stay closed before partners are told they went offline.
    presence_grace: float = Field(default=5.0, ge=0)

    # [database]
    database_url: str = "sqlite+aiosqlite:///./chatkit.db"

    # [jwt]
    jwt_secret: SecretStr | None = None
    secret_file: Path = Path("chatkit.secret")
    jwt_algorithm: Literal["HS256", "HS384", "HS512", "RS256", "ES256"] = "HS256"
    jwt_public_key: str = ""
    jwt_private_key: str = ""
    jwt_jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    # Seconds of clock skew tolerated on exp and nbf, for issuers whose clock drifts.
    jwt_leeway: float = Field(default=0.0, ge=0, le=3600)

    # [redis]
    redis_url: str = ""
    presence_ttl: float = Field(default=30.0, ge=1.0)

    # [notify]
    smtp_url: str = ""
    mail_from: str = "chatkit <chatkit@localhost>"
    notify_delay: float = Field(default=120.0, ge=0)
    smtp_starttls: Literal["auto", "always", "never"] = "auto"
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)
    notify_outbox: Path = Path("outbox")
    notify_worker: bool = True
    notify_poll_interval: float = Field(default=5.0, ge=0.01, le=3600)
    notify_include_content: bool = True
    notify_max_attempts: int = Field(default=5, ge=1, le=100)
    notify_retry_delay: float = Field(default=60.0, ge=0)
    # Seconds a finished (sent, dropped, failed) notification row is kept; 0 keeps them all.
    notify_retention: float = Field(default=30 * 86400.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return with_driver(value)

    @field_validator("jwt_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        # CHATKIT_JWT_SECRET= (set but empty) means "no secret configured", as unset does.
        return None if value == "" else value

    @field_validator("message_rate", "event_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value.strip() in ("", "0", "off"):
            return ""
        from chatkit.server.ratelimit import parse_rates

        try:
            parse_rates(value)
        except ValueError:
            raise ValueError("must look like 30/second, 100/minute or 5 per 10 seconds") from None
        return value.strip()

    @field_validator(*URL_SCHEMES)
    @classmethod
    def _url_scheme(cls, value: str, info: ValidationInfo) -> str:
        schemes, problem = URL_SCHEMES[info.field_name or ""]
        if value and not value.startswith(schemes):
            raise ValueError(problem)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_without_slash(cls, value: str) -> str:
        # Paths are appended to it (links in emails, `chatkit tui` without --url).
        return value.rstrip("/")

    @model_validator(mode="after")
    def _keys_for_algorithm(self) -> Settings:
        asymmetric = self.jwt_algorithm in {"RS256", "ES256"}
        if asymmetric and not (self.jwt_public_key or self.jwt_jwks_url):
            raise ValueError(
                f"jwt_algorithm {self.jwt_algorithm} needs jwt_public_key or jwt_jwks_url"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file is passed in by load_settings as the lowest init source; flags (init
        # kwargs) beat the environment, which beats the file.
        return (init_settings, env_settings)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        """Where people reach this server: public_url, else the listening address."""
        return self.public_url or f"http://{self.host}:{self.port}"


# The 12-factor spellings of a database URL, and the async driver chatkit adds to each.
DRIVERS = {
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
    "sqlite://": "sqlite+aiosqlite://",
}


def with_driver(url: str) -> str:
    """`url` with chatkit's async driver: postgresql://, postgres:// and sqlite:// URLs get
    it added; the driver-qualified forms pass unchanged; anything else is refused."""
    url = url.strip()
    for plain, qualified in DRIVERS.items():
        if url.startswith(plain):
            return qualified + url[len(plain) :]
    if not url.startswith(tuple(DRIVERS.values())):
        raise ValueError(
            "must start with postgresql://, postgres://, sqlite:// (or the driver-qualified "
            "postgresql+asyncpg://, sqlite+aiosqlite://)"
        )
    return url


# Where each setting lives in chatkit.toml. Top-level keys with the setting's own name work too.
FILE_KEYS: dict[tuple[str, str], str] = {
    ("server", "host"): "host",
    ("server", "port"): "port",
    ("server", "workers"): "workers",
    ("server", "public_url"): "public_url",
    ("server", "cors_origins"): "cors_origins",
    ("server", "max_body_bytes"): "max_body_bytes",
    ("server", "log_level"): "log_level",
    ("server", "log_format"): "log_format",
    ("limits", "message_rate"): "message_rate",
    ("limits", "event_rate"): "event_rate",
    ("limits", "max_sockets_per_user"): "max_sockets_per_user",
    ("limits", "typing_timeout"): "typing_timeout",
    ("limits", "presence_grace"): "presence_grace",
    ("database", "url"): "database_url",
    ("jwt", "secret"): "jwt_secret",
    ("jwt", "secret_file"): "secret_file",
    ("jwt", "algorithm"): "jwt_algorithm",
    ("jwt", "public_key"): "jwt_public_key",
    ("jwt", "private_key"): "jwt_private_key",
    ("jwt", "jwks_url"): "jwt_jwks_url",
    ("jwt", "issuer"): "jwt_issuer",
    ("jwt", "audience"): "jwt_audience",
    ("jwt", "leeway"): "jwt_leeway",
    ("redis", "url"): "redis_url",
    ("redis", "presence_ttl"): "presence_ttl",
    ("notify", "smtp_url"): "smtp_url",
    ("notify", "mail_from"): "mail_from",
    ("notify", "delay"): "notify_delay",
    ("notify", "smtp_starttls"): "smtp_starttls",
    ("notify", "smtp_timeout"): "smtp_timeout",
    ("notify", "outbox"): "notify_outbox",
    ("notify", "worker"): "notify_worker",
    ("notify", "poll_interval"): "notify_poll_interval",
    ("notify", "include_content"): "notify_include_content",
    ("notify", "max_attempts"): "notify_max_attempts",
    ("notify", "retry_delay"): "notify_retry_delay",
    ("notify", "retention"): "notify_retention",
}


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    values: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                name = FILE_KEYS.get((key, sub_key))
                if name is None:
                    raise ConfigError(f"unknown setting '[{key}] {sub_key}' in {path}")
                values[name] = sub_value
        elif key in Settings.model_fields:
            values[key] = value
        else:
            raise ConfigError(f"unknown setting '{key}' in {path}")
    return values


def _environment_names() -> set[str]:
    return {
        key[len(ENV_PREFIX) :].lower() for key in os.environ if key.upper().startswith(ENV_PREFIX)
    }


def load_settings(config: Path | None = None, **flags: Any) -> Settings:
    """Build Settings from the file (explicit, else ./chatkit.toml if present), env and flags.

    Raises ConfigError with one line naming the offending setting.
    """
    return load_with_sources(config, **flags)[0]


def load_with_sources(
    config: Path | None = None, **flags: Any
) -> tuple[Settings, dict[str, str], Path | None]:
    """load_settings, plus where each setting came from ("default", "file", "environment" or
    "flag") and the config file read, if any."""
    path = config
    if path is None and os.environ.get("CHATKIT_CONFIG"):
        path = Path(os.environ["CHATKIT_CONFIG"])
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    if config is not None and not config.is_file():
        raise ConfigError(f"config file {config} does not exist")
    file_values = read_config_file(path) if path is not None else {}
    env_names = _environment_names() - {"config", "token", "url"}
    # The environment must win over the file, so file values the environment also sets are
    # dropped before they become init kwargs (which would otherwise beat the environment).
    values = {k: v for k, v in file_values.items() if k not in env_names}
    given = {k: v for k, v in flags.items() if v is not None}
    values.update(given)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, set(given))) from None
    sources = {}
    for name in Settings.model_fields:
        if name in given:
            sources[name] = "flag"
        elif name in env_names:
            sources[name] = "environment"
        elif name in file_values:
            sources[name] = "file"
        else:
            sources[name] = "default"
    return settings, sources, path


def _describe(exc: ValidationError, path: Path | None, flag_names: set[str]) -> str:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    if name in flag_names:
        where = f"--{name.replace('_', '-')}"
    elif name in _environment_names():
        where = f"{ENV_PREFIX}{name.upper()}"
    elif name and path is not None:
        where = f"'{name}' in {path}"
    else:
        where = name or "settings"
    if error["type"] == "extra_forbidden":
        return f"unknown setting {where}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"invalid setting {where}: {message}"


def signing_secret(
    settings: Settings,
    *,
    generate: bool = True,
    on_generate: Callable[[Path], None] | None = None,
) -> str:
    """The HS* secret: configured, else read from secret_file, else (generate=True only)
    generated once into secret_file, calling `on_generate` with where it went.

    Whatever mints tokens passes generate=False: a secret it invented would sign tokens that
    the server, holding another one, refuses.
    """
    if settings.jwt_secret is not None:
        value = settings.jwt_secret.get_secret_value()
        if len(value) < 16:
            raise ConfigError("invalid setting CHATKIT_JWT_SECRET: use at least 16 characters")
        return value
    path = settings.secret_file
    if path.is_file():
        value = path.read_text().strip()
        if value:
            return value
    if not generate:
        raise ConfigError(
            "no signing secret found: CHATKIT_JWT_SECRET is not set, no [jwt] secret is "
            f"configured and {path.absolute()} does not exist; run this where `chatkit serve` "
            "runs (it creates that file), or pass the server's secret as CHATKIT_JWT_SECRET"
        )
    value = secrets.token_urlsafe(48)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process won the race to create it; use theirs.
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot write secret_file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    if on_generate is not None:
        on_generate(path.absolute())
    return value
