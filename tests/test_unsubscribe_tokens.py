"""Regression found by probing the unsubscribe link: any token that is not genuine is a 400,
never a server error — also one whose signature is not ASCII."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest

from chatkit.server.notify.unsubscribe import UNSUBSCRIBE_PATH, verify_unsubscribe_token
from tests.support.api import Api

SECRET = "unsubscribe-secret-0123456789"


@pytest.mark.parametrize("signature", ["é", "ünïcode", "😀", "\x00", ""])
def test_a_signature_that_is_not_ascii_is_not_genuine(signature: str) -> None:
    assert verify_unsubscribe_token(SECRET, f"{uuid.uuid4()}.{signature}") is None


async def test_the_link_with_such_a_token_is_a_400(api: Api) -> None:
    user = await api.user("Reader")
    link = f"{UNSUBSCRIBE_PATH}?token={quote(f'{user}.é')}"

    for method in ("GET", "POST"):
        reply = await api.request(method, link)
        assert reply.status == 400, (method, reply.body)
        assert reply.body["error"]["code"] == "invalid_unsubscribe_token"
