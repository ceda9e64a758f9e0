"""Mint and verify the JWTs that identify users; shared by the CLI, the server and the TUI."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cachetools import LRUCache

from chatkit.config import ConfigError, Settings, signing_secret
from chatkit.ids import new_id, parse_uuid

ADMIN_ROLE = "admin"
VERIFIED_CACHE_SIZE = 50_000
# Admin tokens need not name a user (the platform provisions users with them), so a token
# minted with --admin and no --user carries this nil subject.
NIL_USER = "00000000-0000-0000-0000-000000000000"

_TTL = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_TTL_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class TokenError(Exception):
    """A token that cannot be accepted; `code` is the machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    expires_at: float  # the token's exp
    accepted_until: float  # exp plus the configured leeway: when the server stops accepting it
    issued_at: float | None
    is_admin: bool
    raw: dict[str, Any]


def parse_ttl(text: str) -> int:
    """`90`, `90s`, `15m`, `1h`, `7d`, `2w` → seconds."""
    match = _TTL.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"invalid TTL {text!r}: use a number with s, m, h, d or w (e.g. 1h)")
    return int(match.group(1)) * _TTL_SECONDS[match.group(2)]


def _read_key(value: str, setting: str) -> str:
    """A PEM key given inline or as a path to a file."""
    if "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"invalid setting {setting}: cannot read {path} ({exc.strerror})"
        ) from exc


def signing_key(settings: Settings) -> str:
    """The key `chatkit token` signs with."""
    if settings.jwt_algorithm.startswith("HS"):
        return signing_secret(settings, generate=False)
    if not settings.jwt_private_key:
        raise ConfigError(
            f"minting {settings.jwt_algorithm} tokens needs jwt_private_key "
            "(CHATKIT_JWT_PRIVATE_KEY); the server itself only needs the public key"
        )
    return _read_key(settings.jwt_private_key, "jwt_private_key")


def mint(
    settings: Settings,
    *,
    user_id: str | None,
    ttl_seconds: int = 3600,
    admin: bool = False,
    now: float | None = None,
) -> str:
    """A signed token for `user_id` (the nil user for a bare admin token)."""
    subject = parse_uuid(user_id) if user_id is not None else NIL_USER
    if subject is None:
        raise ValueError(f"user id must be a UUID, got {user_id!r}")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": new_id(),
    }
    if admin:
        claims["role"] = ADMIN_ROLE
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, signing_key(settings), algorithm=settings.jwt_algorithm)


class TokenVerifier:
    """Checks signature, algorithm (pinned by config, never by the token), exp, nbf, iss, aud."""

    def __init__(self, settings: Settings) -> None:
        self._algorithms = [settings.jwt_algorithm]
        self._issuer = settings.jwt_issuer or None
        self._audience = settings.jwt_audience or None
        self._leeway = settings.jwt_leeway
        self._jwks: jwt.PyJWKClient | None = None
        self._key: str | None = None
        self._verified: LRUCache[str, Claims] = LRUCache(VERIFIED_CACHE_SIZE)
        if settings.jwt_algorithm.startswith("HS"):
            self._key = signing_secret(settings)
        elif settings.jwt_public_key:
            self._key = _read_key(settings.jwt_public_key, "jwt_public_key")
        else:
            self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True)

    async def verify_async(self, token: str | None) -> Claims:
        if self._jwks is None:
            return self.verify(token)
        return await asyncio.to_thread(self.verify, token)

    def verify(self, token: str | None) -> Claims:
        if not token:
            raise TokenError("missing_token", "no token was given")
        if not token.isascii():
            # A JWT is ASCII; a latin-1 byte in the header arrives as a surrogate escape that
            # the JWT library cannot even encode.
            raise TokenError("malformed_token", "the token is not a well-formed JWT")
        # Clients send the same token with every request: checking a signature costs ~50 µs,
        # remembering that it was good costs a dictionary lookup. Expiry is still checked.
        known = self._verified.get(token)
        if known is not None:
            if known.accepted_until > time.time():
                return known
            del self._verified[token]
        claims = self._verify(token)
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> Claims:
        try:
            key: Any = self._key
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
            payload = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                # A token "issued in the future" only means the issuer's clock runs ahead.
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self._audience is not None,
                    "verify_iat": False,
                },
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token_not_yet_valid", "the token is not valid yet (nbf)") from None
        except jwt.InvalidSignatureError:
            raise TokenError("invalid_signature", "the token signature does not verify") from None
        except jwt.InvalidAlgorithmError:
            raise TokenError(
                "invalid_algorithm", "the token uses an algorithm not accepted here"
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError("invalid_claims", f"the token lacks the {exc.claim} claim") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError) as exc:
            raise TokenError(
                "invalid_claims", f"the token was not issued for this server: {exc}"
            ) from None
        except jwt.DecodeError:
            raise TokenError("malformed_token", "the token is not a well-formed JWT") from None
        except jwt.PyJWKClientError as exc:
            raise TokenError("invalid_signature", f"no key to verify the token: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid_token", f"the token is not acceptable: {exc}") from None
        user_id = parse_uuid(payload.get("sub"))
        if user_id is None:
            raise TokenError("invalid_claims", "the token's sub claim is not a user id (UUID)")
        issued_at = payload.get("iat")
        return Claims(
            user_id=user_id,
            expires_at=float(payload["exp"]),
            accepted_until=float(payload["exp"]) + self._leeway,
            issued_at=float(issued_at) if isinstance(issued_at, int | float) else None,
            is_admin=payload.get("role") == ADMIN_ROLE,
            raw=payload,
        )


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
