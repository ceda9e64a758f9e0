"""create_app(settings) -> web.Application: REST and Socket.IO on one port."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp_cors
from aiohttp import web

from chatkit.config import Settings
from chatkit.server.data import migrate
from chatkit.server.data.database import Database
from chatkit.server.data.store import Store
from chatkit.server.data.writer import MessageWriter
from chatkit.server.http.auth import Authenticator
from chatkit.server.http.edge import edge_middleware
from chatkit.server.http.error_responses import errors_in_json
from chatkit.server.http.routes import (
    admin,
    conversations,
    health,
    message_changes,
    notifications,
    openapi,
)
from chatkit.server.metrics import Metrics
from chatkit.server.notify import build_worker
from chatkit.server.ratelimit import RateLimits
from chatkit.server.realtime.namespace import ChatNamespace
from chatkit.server.realtime.presence import LocalPresence, Presence, RedisPresence
from chatkit.server.realtime.presence_events import PresenceEvents
from chatkit.server.realtime.presence_handover import PresenceHandover
from chatkit.server.realtime.publisher import Publisher
from chatkit.server.realtime.redis_manager import RedisRoomManager
from chatkit.server.realtime.rooms import RoomLinkingManager
from chatkit.server.realtime.socket_server import ChatSocketServer
from chatkit.server.realtime.typing_tracker import TypingTracker
from chatkit.server.services import SERVICES, Services
from chatkit.server.wire import jsonutil
from chatkit.tokens import TokenVerifier

log = logging.getLogger("chatkit.server")

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def lifespan(
    start: Callable[[], Awaitable[None] | None], stop: Callable[[], Awaitable[None]]
) -> CleanupContext:
    """One component's cleanup context: aiohttp runs the contexts' start-ups in list order
    and their clean-ups in reverse, so each component stops before the ones it uses. All of
    them have started before the server accepts a connection."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        started = start()
        if started is not None:
            await started
        yield
        await stop()

    return context


def migrated(database: Database, *, run_migrations: bool) -> CleanupContext:
    """The database: migrated at start-up (unless told not to), disposed of last."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        if run_migrations:
            await migrate.upgrade(database)
        yield
        await database.dispose()

    return context


def _client_manager(settings: Settings) -> RoomLinkingManager:
    if settings.redis_url:
        return RedisRoomManager(settings.redis_url, channel="chatkit")
    return RoomLinkingManager()


def _presence(settings: Settings) -> Presence:
    if settings.redis_url:
        return RedisPresence(settings.redis_url, ttl=settings.presence_ttl)
    return LocalPresence()


def _readiness(
    database: Database, presence: Presence, manager: RoomLinkingManager
) -> dict[str, Callable[[], Awaitable[None]]]:
    checks: dict[str, Callable[[], Awaitable[None]]] = {"database": database.ping}
    if isinstance(presence, RedisPresence):
        checks["redis"] = presence.ping
    if isinstance(manager, RedisRoomManager):

        async def listener() -> None:
            if not manager.healthy:
                raise ConnectionError(manager.last_error or "the redis listener is not subscribed")

        checks["redis_listener"] = listener
    return checks


def _cors(settings: Settings) -> str | list[str]:
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    return "*" if origins == ["*"] else origins


def _allow_cross_origin(app: web.Application, settings: Settings) -> None:
    """Browsers on the allowed origins may call the REST API (tokens, not cookies)."""
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False,
        expose_headers=("Retry-After", "X-Request-Id"),
        allow_headers=("Authorization", "Content-Type", "X-Request-Id"),
        max_age=600,
    )
    origins = _cors(settings)
    cors = aiohttp_cors.setup(
        app, defaults=dict.fromkeys([origins] if origins == "*" else origins, options)
    )
    for route in list(app.router.routes()):
        if route.resource is not None and route.resource.canonical.startswith("/api/"):
            cors.add(route)


def create_app(
    settings: Settings, *, run_migrations: bool = True, presence: Presence | None = None
) -> web.Application:
    """Build the whole server from `settings`; nothing touches the network until it starts."""
    database = Database(settings.database_url)
    store = Store(database)
    authenticator = Authenticator(TokenVerifier(settings), store.users)
    presence = presence or _presence(settings)
    manager = _client_manager(settings)
    sio = ChatSocketServer(
        async_mode="aiohttp",
        client_manager=manager,
        json=jsonutil,
        cors_allowed_origins=_cors(settings),
        logger=False,
        engineio_logger=False,
        max_http_buffer_size=settings.max_body_bytes,
    )
    metrics = Metrics(database_connections=database.open_connections)
    limits = RateLimits(settings)
    publisher = Publisher(sio, metrics)
    typing = TypingTracker(publisher.user_typing, timeout=settings.typing_timeout)
    writer = MessageWriter(
        store.messages,
        presence,
        # In this order: a stored message is pushed before its sender's typing ends.
        listeners=(publisher, typing),
        notify_delay=settings.notify_delay,
        metrics=metrics,
    )
    # A restart takes longer than a network blip; with Redis the ttl bounds it anyway.
    restart_grace = max(settings.presence_ttl, settings.presence_grace)
    presence_events = PresenceEvents(
        presence,
        conversations=store.conversations,
        users=store.users,
        publisher=publisher,
        grace=settings.presence_grace,
        sweep_every=settings.presence_ttl / 3,
        restart_grace=restart_grace,
        # Without Redis (one process: see runner.py) the database carries presence across
        # a clean restart; with Redis, Redis does.
        handover=PresenceHandover(presence, store.users, restart_grace=restart_grace)
        if isinstance(presence, LocalPresence)
        else None,
    )
    chat = ChatNamespace(
        store=store,
        authenticator=authenticator,
        presence=presence_events,
        writer=writer,
        publisher=publisher,
        typing=typing,
        limits=limits,
        metrics=metrics,
        max_sockets_per_user=settings.max_sockets_per_user,
    )
    sio.register_namespace(chat)  # the client manager hands it room commands from now on
    # Built now so that a bad smtp_url stops start-up with one line.
    notifier = build_worker(settings, store.notifications) if settings.notify_worker else None

    app = web.Application(
        middlewares=[edge_middleware(authenticator, metrics)],
        client_max_size=settings.max_body_bytes,
    )
    app.on_response_prepare.append(errors_in_json)
    app[SERVICES] = Services(
        settings=settings,
        database=database,
        store=store,
        authenticator=authenticator,
        presence=presence,
        sio=sio,
        chat=chat,
        publisher=publisher,
        writer=writer,
        metrics=metrics,
        limits=limits,
        readiness=_readiness(database, presence, manager),
    )
    app.router.add_routes(health.routes)
    app.router.add_routes(conversations.routes)
    app.router.add_routes(message_changes.routes)
    app.router.add_routes(admin.routes)
    app.router.add_routes(notifications.routes)
    app.router.add_routes(openapi.routes)
    _allow_cross_origin(app, settings)
    sio.attach(app)  # Engine.IO answers CORS for /socket.io itself (cors_allowed_origins)

    # Started in this order, stopped in reverse: stored writes are flushed and pushed
    # before the sockets' manager, presence and the database go away.
    app.cleanup_ctx.extend(
        [
            migrated(database, run_migrations=run_migrations),
            lifespan(presence.start, presence.close),
            lifespan(sio.start_manager, sio.stop_manager),
            lifespan(publisher.start, publisher.stop),
            lifespan(presence_events.start, presence_events.stop),
            lifespan(writer.start, writer.stop),
            lifespan(chat.start, chat.stop),
            lifespan(metrics.start, metrics.stop),
        ]
    )
    if notifier is not None:
        app.cleanup_ctx.append(lifespan(notifier.start, notifier.stop))

    async def close_connections(app: web.Application) -> None:
        # on_shutdown runs before aiohttp waits for in-flight requests: long-polls and
        # websockets end now, so clients reconnect instead of hanging until the timeout.
        presence_events.shutting_down()
        await sio.close_all_transports()

    app.on_shutdown.append(close_connections)
    return app
