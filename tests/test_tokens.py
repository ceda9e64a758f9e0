"""Minting and verifying tokens: algorithm pinned by config, every claim checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chatkit.config import Settings
from chatkit.tokens import NIL_USER, TokenError, TokenVerifier, mint, parse_ttl

SECRET = "unit-test-secret-with-enough-bytes!!"


def _settings(**overrides: object) -> Settings:
    return Settings(jwt_secret=SECRET, **overrides)  # type: ignore[arg-type]


def test_minted_tokens_verify() -> None:
    settings = _settings()
    user = str(uuid.uuid4())

    claims = TokenVerifier(settings).verify(mint(settings, user_id=user, ttl_seconds=60))

    assert claims.user_id == user
    assert not claims.is_admin
    assert 55 <= claims.expires_at - time.time() <= 61


def test_admin_tokens_without_a_user_carry_the_nil_subject() -> None:
    settings = _settings()

    claims = TokenVerifier(settings).verify(mint(settings, user_id=None, admin=True))

    assert claims.is_admin and claims.user_id == NIL_USER


def test_leeway_tolerates_clock_skew_on_exp_and_nbf() -> None:
    user = str(uuid.uuid4())
    now = int(time.time())
    expired = _forge({"sub": user, "iat": now - 65, "exp": now - 5})
    early = _forge({"sub": user, "iat": now, "nbf": now + 5, "exp": now + 60})
    strict = TokenVerifier(_settings())
    lenient = TokenVerifier(_settings(jwt_leeway=10))

    claims = lenient.verify(expired)
    assert lenient.verify(early).user_id == user
    for token, code in ((expired, "token_expired"), (early, "token_not_yet_valid")):
        with pytest.raises(TokenError) as refused:
            strict.verify(token)
        assert refused.value.code == code
    assert claims.expires_at == now - 5
    assert claims.accepted_until == now + 5
    with pytest.raises(TokenError, match="expired"):
        TokenVerifier(_settings(jwt_leeway=4)).verify(expired)


def _forge(payload: dict[str, object], *, alg: str = "HS256", key: str = SECRET) -> str:
    return jwt.encode(payload, key, algorithm=alg)


def _unsigned(payload: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda sub, now: None, "missing_token"),
        (lambda sub, now: "garbage", "malformed_token"),
        (lambda sub, now: _unsigned({"sub": sub, "exp": now + 60}), "invalid_algorithm"),
        (lambda sub, now: _forge({"sub": sub, "exp": now + 60}, alg="HS512"), "invalid_algorithm"),
        (
            lambda sub, now: _forge({"sub": sub, "exp": now + 60}, key="x" * 40),
            "invalid_signature",
        ),
        (lambda sub, now: _forge({"sub": sub}), "invalid_claims"),
        (lambda sub, now: _forge({"exp": now + 60}), "invalid_claims"),
        (lambda sub, now: _forge({"sub": "bob", "exp": now + 60}), "invalid_claims"),
        (lambda sub, now: _forge({"sub": sub, "exp": now - 1}), "token_expired"),
        (
            lambda sub, now: _forge({"sub": sub, "exp": now + 60, "nbf": now + 30}),
            "token_not_yet_valid",
        ),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(make: object, code: str) -> None:
    now = int(time.time())
    token = make(str(uuid.uuid4()), now)  # type: ignore[operator]

    with pytest.raises(TokenError) as caught:
        TokenVerifier(_settings()).verify(token)

    assert caught.value.code == code


def test_issuer_and_audience_are_checked_when_configured() -> None:
    strict = _settings(jwt_issuer="https://platform.example", jwt_audience="chatkit")
    user = str(uuid.uuid4())
    now = int(time.time())

    TokenVerifier(strict).verify(mint(strict, user_id=user))
    for payload in (
        {"sub": user, "exp": now + 60, "aud": "chatkit"},
        {"sub": user, "exp": now + 60, "iss": "https://platform.example", "aud": "other"},
    ):
        with pytest.raises(TokenError) as caught:
            TokenVerifier(strict).verify(_forge(payload))
        assert caught.value.code == "invalid_claims"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_keys_from_files(tmp_path: Path, algorithm: str) -> None:
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "private.pem").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "public.pem").write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = Settings(
        jwt_algorithm=algorithm,  # type: ignore[arg-type]
        jwt_public_key=str(tmp_path / "public.pem"),
        jwt_private_key=str(tmp_path / "private.pem"),
    )
    user = str(uuid.uuid4())

    assert TokenVerifier(settings).verify(mint(settings, user_id=user)).user_id == user
    # An HS256 token signed with the public key as secret (the classic confusion) is refused.
    public_text = (tmp_path / "public.pem").read_text()
    forged = _hs256_by_hand({"sub": user, "exp": int(time.time()) + 60}, public_text)
    with pytest.raises(TokenError) as caught:
        TokenVerifier(settings).verify(forged)
    assert caught.value.code == "invalid_algorithm"


def _hs256_by_hand(payload: dict[str, object], key: str) -> str:
    """PyJWT will not sign HS256 with a PEM key, an attacker would: do it by hand."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{part(json.dumps(payload).encode())}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800)]
)
def test_ttl_parsing(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1y", "-5m", "an hour"])
def test_bad_ttls(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ttl(text)
