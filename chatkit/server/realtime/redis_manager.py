"""Rooms shared by several processes through Redis pub/sub (python-socketio's Redis manager,
with a sturdier listener and pipelined publishing)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chatkit.aiotools import QueueService
from chatkit.server.realtime.rooms import RoomLinkingManager
from chatkit.socketio_internals import RedisManagerBase

log = logging.getLogger("chatkit.realtime")

# Events sent to Redis in one pipeline at most.
PUBLISH_BATCH = 500


class RedisRoomManager(RedisManagerBase, RoomLinkingManager):
    """Rooms shared by several processes through Redis pub/sub.

    Differences from the stock manager: the listener never waits more than a couple of
    seconds before resubscribing after Redis comes back (the stock one backs off to 60 s,
    a minute during which this process is deaf), reading the subscription never times out
    (redis-py 8 applies a 5 s socket timeout by default), a health-check PING detects a dead
    connection, and `listening` says whether the listener is subscribed right now.
    """

    RETRY_MAX_SECONDS = 2.0

    def __init__(self, url: str, channel: str = "chatkit") -> None:
        super().__init__(
            url,
            channel=channel,
            redis_options={
                "socket_timeout": None,
                "socket_connect_timeout": 5,
                "health_check_interval": 5,
            },
        )
        self.listening = False
        self.last_error: str | None = None
        self._sender: QueueService[dict[str, Any]] = QueueService(
            "chatkit-redis-publish",
            self._send,
            log=log,
            max_batch=PUBLISH_BATCH,
        )
        self._client: Any = None

    @property
    def healthy(self) -> bool:
        return self.listening and self.listener_alive

    async def publish_to_processes(self, data: dict[str, Any]) -> None:
        """Queue a message for the other processes; the sender task pipelines them.

        The stock manager awaits one PUBLISH round trip per emit, in the publisher's path:
        under load the events of every conversation waited in line for Redis. One queue and
        one task keep the order and send whatever has accumulated in one pipeline.
        """
        self._sender.start()
        self._sender.put(data)

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        if self._client is None:
            self._client = self.redis_client(socket_timeout=5, socket_connect_timeout=5)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for data in batch:
                    pipe.publish(self.channel, self.json.dumps(data))
                await pipe.execute()
        except Exception as exc:  # pub/sub is fire-and-forget; clients catch up
            log.error("cannot publish %d events to redis: %s", len(batch), exc)

    async def close(self) -> None:
        await self._sender.stop(drain=False)
        client, self._client = self._client, None
        if client is not None:
            await _quietly_close(client)

    async def listen_to_processes(self) -> Any:
        # The listener has its own connection: the stock code shares one with publishing and
        # replaces it whenever a publish fails, leaking a client on every retry.
        retry = 0.1
        while True:
            client = self.redis_client(**self.redis_options)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            self.pubsub = pubsub
            try:
                await pubsub.subscribe(self.channel)
                self.listening = True
                self.last_error = None
                retry = 0.1
                async for message in pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                self.listening = False
                raise
            except Exception as exc:  # any failure: report, wait a little, resubscribe
                self.listening = False
                self.last_error = str(exc) or type(exc).__name__
                log.error(
                    "redis listener lost its subscription (%s); retrying in %.1fs",
                    self.last_error,
                    retry,
                )
                await asyncio.sleep(retry)
                retry = min(retry * 2, self.RETRY_MAX_SECONDS)
            finally:
                await _quietly_close(pubsub, client)


async def _quietly_close(*resources: Any) -> None:
    for resource in resources:
        try:
            await resource.aclose()
        except Exception:  # closing a broken connection may fail; nothing left to do
            pass
