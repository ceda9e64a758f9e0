"""What the handlers need, built once per app by create_app and kept in typed app storage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    # Types only: the handlers of every area reach the components through this container,
    # so importing it must not import the areas (tests/test_architecture.py).
    import socketio

    from chatkit.config import Settings
    from chatkit.server.data.database import Database
    from chatkit.server.data.store import Store
    from chatkit.server.data.writer import MessageWriter
    from chatkit.server.http.auth import Authenticator
    from chatkit.server.metrics import Metrics
    from chatkit.server.ratelimit import RateLimits
    from chatkit.server.realtime.namespace import ChatNamespace
    from chatkit.server.realtime.presence import Presence
    from chatkit.server.realtime.publisher import Publisher


@dataclass(slots=True)
class Services:
    settings: Settings
    database: Database
    store: Store
    authenticator: Authenticator
    presence: Presence
    sio: socketio.AsyncServer
    chat: ChatNamespace
    publisher: Publisher
    writer: MessageWriter
    metrics: Metrics
    limits: RateLimits
    # Named checks for /readyz; each raises when its dependency is unusable.
    readiness: dict[str, Callable[[], Awaitable[None]]]


SERVICES = web.AppKey("chatkit.services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
