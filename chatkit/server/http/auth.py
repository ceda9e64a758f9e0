"""Who is calling: the Authenticator (tokens and user checks, for REST and sockets alike) and
the bearer token of each /api request."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from cachetools import TTLCache

from chatkit.server.data.store.users import UserStore
from chatkit.server.errors import Forbidden, Unauthorized
from chatkit.tokens import Claims, TokenError, TokenVerifier, bearer_token

CLAIMS = web.RequestKey("chatkit.claims", Claims)
# How long "this user exists and these are their revocation settings" is trusted before it is
# read again; short enough that deleting a user or revoking tokens takes effect quickly.
USER_CHECK_TTL_SECONDS = 2.0


class Authenticator:
    def __init__(self, verifier: TokenVerifier, users: UserStore) -> None:
        self._verifier = verifier
        self._users = users
        self._known: TTLCache[str, tuple[bool, datetime | None]] = TTLCache(
            maxsize=200_000, ttl=USER_CHECK_TTL_SECONDS
        )

    async def authenticate(self, token: str | None, *, user_required: bool = True) -> Claims:
        """Verified claims; raises TokenError with the reason otherwise.

        `user_required=False` accepts admin tokens whose subject is not a user (provisioning).
        """
        claims = await self._verifier.verify_async(token)
        if not user_required and claims.is_admin:
            return claims
        state = self._known.get(claims.user_id)
        if state is None:
            state = await self._users.auth_state(claims.user_id)
            self._known[claims.user_id] = state
        exists, valid_after = state
        if not exists:
            raise TokenError("unknown_user", "the token's user does not exist")
        if valid_after is not None and (
            claims.issued_at is None or claims.issued_at < int(valid_after.timestamp())
        ):
            raise TokenError("token_revoked", "the token was revoked; get a new one")
        return claims

    def forget(self, user_id: str) -> None:
        """Drop what is cached about a user (after a change made in this process)."""
        self._known.pop(user_id, None)


async def authorize(authenticator: Authenticator, request: web.Request) -> None:
    """Check the bearer token of an /api request and remember the caller; raises 401/403."""
    path = request.path
    if request.method == "OPTIONS" or path in PUBLIC_PATHS or not path.startswith("/api/"):
        return
    admin_area = path.startswith("/api/admin/")
    # An admin token may also delete any message (moderation) without being a user.
    admin_allowed = admin_area or request.method == "DELETE"
    try:
        claims = await authenticator.authenticate(
            bearer_token(request.headers.get("Authorization")), user_required=not admin_allowed
        )
    except TokenError as error:
        raise Unauthorized(error.message, code=error.code) from None
    if admin_area and not claims.is_admin:
        raise Forbidden("this needs an admin token (role: admin)", code="admin_required")
    request[CLAIMS] = claims


PUBLIC_PATHS = frozenset({"/api/openapi.json"})


def caller(request: web.Request) -> Claims:
    return request[CLAIMS]
