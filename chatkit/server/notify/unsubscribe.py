"""Unsubscribe links: a user id signed with the server's secret, good for that user only.

They are not bearer tokens (they grant nothing but turning emails off), they do not expire
(an old email's link must keep working), and they need no table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from chatkit.ids import parse_uuid

UNSUBSCRIBE_PATH = "/notifications/unsubscribe"
_PURPOSE = b"chatkit-unsubscribe\x00"


def _signature(secret: str, user_id: str) -> str:
    digest = hmac.new(secret.encode(), _PURPOSE + user_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def unsubscribe_token(secret: str, user_id: str) -> str:
    return f"{user_id}.{_signature(secret, user_id)}"


def verify_unsubscribe_token(secret: str, token: str | None) -> str | None:
    """The user id the token was made for, or None when it is not genuine."""
    if not token or "." not in token:
        return None
    raw_id, _, signature = token.partition(".")
    user_id = parse_uuid(raw_id)
    if user_id is None or user_id != raw_id:
        return None
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    if not hmac.compare_digest(signature.encode(), _signature(secret, user_id).encode()):
        return None
    return user_id


def unsubscribe_url(base_url: str, secret: str, user_id: str) -> str:
    return f"{base_url}{UNSUBSCRIBE_PATH}?token={quote(unsubscribe_token(secret, user_id))}"
