"""The revocation sweep must leave alone the sockets that connect while it reads the database.

Found with `chatkit bench idle` (docs/benchmarks.md): during a connect ramp, every sweep cut a
batch of brand-new sockets as "your account no longer exists". `sweep_revocations` collects
the users of the connected sockets, awaits their token floors, then walks `self._sockets`
again, where a socket that connected meanwhile has a user the query never asked about.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.support.api import Api
from tests.support.processes import eventually
from tests.support.sockets import connected


async def test_a_socket_that_connects_during_a_sweep_is_not_cut(
    api: Api, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("holding the sweep's query needs a PostgreSQL table lock")
    present, arriving = await api.user("Already Here"), await api.user("Arrives Mid-Sweep")
    url, chat = api.server.url, api.server.services.chat
    arriving_token = api.server.token(arriving)
    lock = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        async with connected(url, api.server.token(present)):
            # Connecting once puts the arriving user's account check in the 2 s cache, so
            # its next connect does not need the users table the lock below holds.
            async with connected(url, arriving_token):
                pass
            transaction = lock.transaction()
            await transaction.start()
            await lock.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            sweep = asyncio.create_task(chat.sweep_revocations())

            async def sweep_is_waiting() -> bool:
                # Inside a transaction PostgreSQL keeps serving one snapshot of the activity
                # statistics; clear it so each look is a fresh one.
                await lock.execute("SELECT pg_stat_clear_snapshot()")
                waiting = await lock.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%FROM users%'"
                )
                return bool(waiting)

            await eventually(sweep_is_waiting, timeout=5)
            async with connected(url, arriving_token) as socket:
                await transaction.rollback()
                await asyncio.wait_for(sweep, 5)
                # The sweep is over: the socket is either cut already or still answers.
                cut = asyncio.ensure_future(socket.disconnected.wait())
                alive = asyncio.ensure_future(socket.barrier())
                done, pending = await asyncio.wait(
                    {cut, alive}, timeout=5, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()

                assert alive in done, socket.pending("token_revoked")
    finally:
        await lock.close()
