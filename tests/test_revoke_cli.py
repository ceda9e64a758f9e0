"""`chatkit users revoke-tokens ID` against a running server: REST refuses the old tokens
within the user cache's lifetime, and the revocation sweep cuts live sockets that use one."""

from __future__ import annotations

import asyncio
import time

import pytest
from typer.testing import CliRunner

from chatkit.cli import app
from chatkit.tokens import mint
from tests.support.api import Api
from tests.support.processes import eventually
from tests.support.server import RunningServer
from tests.support.sockets import connected


async def test_revoking_from_the_command_line_reaches_a_running_server(
    api: Api, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await api.user("Compromised")
    # Revocation works at the resolution of `iat` (seconds): this token is from earlier.
    old = mint(server.settings, user_id=user, now=time.time() - 5)
    monkeypatch.setenv("CHATKIT_DATABASE_URL", server.settings.database_url)
    assert (await api.get("/api/conversations", token=old)).status == 200

    async with connected(server.url, old) as socket:
        result = await asyncio.to_thread(CliRunner().invoke, app, ["users", "revoke-tokens", user])
        assert result.exit_code == 0, result.output

        async def refused() -> bool:
            reply = await api.get("/api/conversations", token=old)
            return reply.status == 401 and reply.body["error"]["code"] == "token_revoked"

        await eventually(refused, timeout=5)  # the server trusts its user cache for 2 s
        await server.services.chat.sweep_revocations()  # what runs every 30 s
        notice = await socket.next("token_revoked")
        await asyncio.wait_for(socket.disconnected.wait(), 5)

    assert notice["code"] == "token_revoked"
    assert (await api.get("/api/conversations", token=server.token(user))).status == 200
