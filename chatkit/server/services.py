"""What the handlers need, built once per app by create_app and kept in typed app storage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import socketio
from aiohttp import web

from chatkit.config import Settings
from chatkit.server.auth import Authenticator
from chatkit.server.db import Database
from chatkit.server.metrics import Metrics
from chatkit.server.presence import Presence
from chatkit.server.publisher import Publisher
from chatkit.server.ratelimit import RateLimits
from chatkit.server.realtime import ChatNamespace
from chatkit.server.store import Store
from chatkit.server.writer import MessageWriter


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
