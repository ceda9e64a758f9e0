"""Where `chatkit users …` and `chatkit sessions …` do their work: the local database, or a
running server's admin HTTP API (`--url URL --token ADMIN_TOKEN`).

Both speak the API's JSON shapes (User, Session), so the commands print the same thing and
exit with the same status whichever way they went.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from chatkit.commands.common import (
    ConfigOption,
    fail,
    friendly_errors,
    settings_or_exit,
    with_store,
)
from chatkit.commands.option_groups import OptionGroup
from chatkit.config import Settings
from chatkit.timefmt import iso

if TYPE_CHECKING:
    from chatkit.client import ApiClient
    from chatkit.server.data.store import Store
    from chatkit.server.wire.schemas import Body

T = TypeVar("T")
BodyT = TypeVar("BodyT", bound="Body")
Json = dict[str, Any]
PAGE = 1000  # the most the admin list endpoints answer at once

AdminUrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Work through this server's admin API instead of the local database.",
        envvar="CHATKIT_URL",
        show_default=False,
    ),
]
AdminTokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="ADMIN_TOKEN",
        help="With --url: an admin token (`chatkit token --admin` where the server runs).",
        envvar="CHATKIT_TOKEN",
        show_default=False,
    ),
]


class AdminBackend(Protocol):
    def put_user(self, user_id: str, fields: Json) -> Json: ...
    def list_users(self, limit: int) -> list[Json]: ...
    def set_notify_email(self, user_id: str, enabled: bool) -> None: ...
    def revoke_tokens(self, user_id: str) -> str: ...
    def remove_user(self, user_id: str) -> None: ...
    def put_session(self, session_id: str, fields: Json) -> Json: ...
    def list_sessions(self, user_id: str | None, limit: int) -> tuple[list[Json], dict[str, str]]:
        """The sessions, and the names of their participants by id."""
        ...


@dataclass(frozen=True, slots=True)
class AdminOptions(OptionGroup):
    """--url, --token and --config, which every `users` and `sessions` command takes (after
    its own options): where it does its work."""

    url: AdminUrlOption = None
    token: AdminTokenOption = None
    config: ConfigOption = None

    def backend(self) -> AdminBackend:
        """The remote API when --url (CHATKIT_URL) is given, else the local database."""
        url, token = self.url, self.token
        if url is None:
            return LocalAdmin(settings_or_exit(self.config))
        if not url.startswith(("http://", "https://")):
            fail(f"--url must start with http:// or https://, got {url!r}", code=2)
        if not token or not token.strip():
            fail("--url needs an admin token: give --token (or CHATKIT_TOKEN)", code=2)
        return RemoteAdmin(url.rstrip("/"), token.strip())


class LocalAdmin:
    """The database of the local config; writes migrate it first, reads never do."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _run(self, work: Callable[[Store], Awaitable[T]], *, writes: bool) -> T:
        return with_store(self._settings, work, writes=writes)

    def _put(
        self,
        model: type[BodyT],
        fields: Json,
        save: Callable[[Store, BodyT], Awaitable[tuple[Mapping[str, object], bool]]],
    ) -> Json:
        """Validate `fields` as the admin API does, then `save` them (one of
        `chatkit.server.wire.admin_writes`); bad input is refused (in the API's words) before
        the database is touched."""
        from chatkit.server.wire.schemas import validate

        with friendly_errors():
            payload = validate(model, fields)
        saved, _created = self._run(lambda store: save(store, payload), writes=True)
        return dict(saved)

    def put_user(self, user_id: str, fields: Json) -> Json:
        from chatkit.server.wire import admin_writes
        from chatkit.server.wire.schemas import UserIn

        return self._put(
            UserIn, fields, lambda store, user: admin_writes.put_user(store, user_id, user)
        )

    def list_users(self, limit: int) -> list[Json]:
        from chatkit.server.wire import render

        async def work(store: Store) -> list[Json]:
            return [dict(render.user(r)) for r in await store.users.list(limit=limit)]

        return self._run(work, writes=False)

    def set_notify_email(self, user_id: str, enabled: bool) -> None:
        async def work(store: Store) -> None:
            await store.users.set_notify_email(user_id=user_id, enabled=enabled)

        self._run(work, writes=True)

    def revoke_tokens(self, user_id: str) -> str:
        async def work(store: Store) -> datetime:
            return await store.users.revoke_tokens(user_id=user_id)

        return iso(self._run(work, writes=True))

    def remove_user(self, user_id: str) -> None:
        async def work(store: Store) -> None:
            await store.users.delete(user_id=user_id)

        self._run(work, writes=True)

    def put_session(self, session_id: str, fields: Json) -> Json:
        from chatkit.server.wire import admin_writes
        from chatkit.server.wire.schemas import SessionIn

        return self._put(
            SessionIn,
            fields,
            lambda store, session: admin_writes.put_session(store, session_id, session),
        )

    def list_sessions(self, user_id: str | None, limit: int) -> tuple[list[Json], dict[str, str]]:
        from chatkit.server.wire import render

        async def work(store: Store) -> tuple[list[Json], dict[str, str]]:
            records = await store.sessions.list(user_id=user_id, limit=limit)
            ids = {r.mentor_id for r in records} | {r.mentee_id for r in records}
            return [dict(render.session(r)) for r in records], await store.users.names(ids)

        return self._run(work, writes=False)


class RemoteAdmin:
    """A running server's /api/admin endpoints, with an admin token."""

    def __init__(self, url: str, token: str) -> None:
        self._url = url
        self._token = token

    def _run(self, work: Callable[[ApiClient], Awaitable[T]]) -> T:
        from chatkit.client import ApiError, ClientError
        from chatkit.commands.connection import explain, with_api

        try:
            return with_api(self._url, self._token, work)
        except ApiError as exc:
            if exc.status in (0, 401):
                explain(exc)
            # The server's message alone: the local mode prints the same words.
            fail(exc.message)
        except ClientError as exc:
            explain(exc)

    def put_user(self, user_id: str, fields: Json) -> Json:
        body = {key: value for key, value in fields.items() if value is not None}
        return self._run(
            lambda api: api.request("PUT", f"/api/admin/users/{user_id}", json_body=body)
        )

    def list_users(self, limit: int) -> list[Json]:
        return self._run(lambda api: _paged(api, "/api/admin/users", {}, limit))

    def set_notify_email(self, user_id: str, enabled: bool) -> None:
        path = f"/api/admin/users/{user_id}/notifications"
        self._run(lambda api: api.request("PUT", path, json_body={"email": enabled}))

    def revoke_tokens(self, user_id: str) -> str:
        path = f"/api/admin/users/{user_id}/revoke-tokens"
        answer = self._run(lambda api: api.request("POST", path))
        return str(answer["tokensValidAfter"])

    def remove_user(self, user_id: str) -> None:
        self._run(lambda api: api.request("DELETE", f"/api/admin/users/{user_id}"))

    def put_session(self, session_id: str, fields: Json) -> Json:
        path = f"/api/admin/sessions/{session_id}"
        return self._run(lambda api: api.request("PUT", path, json_body=fields))

    def list_sessions(self, user_id: str | None, limit: int) -> tuple[list[Json], dict[str, str]]:
        from chatkit.client import ApiError

        async def work(api: ApiClient) -> tuple[list[Json], dict[str, str]]:
            params = {"user": user_id} if user_id is not None else {}
            listed = await _paged(api, "/api/admin/sessions", params, limit)
            names: dict[str, str] = {}
            for person in {s["mentorId"] for s in listed} | {s["menteeId"] for s in listed}:
                try:
                    names[person] = (await api.request("GET", f"/api/admin/users/{person}"))[
                        "fullName"
                    ]
                except ApiError as exc:
                    if exc.status != 404:
                        raise
            return listed, names

        return self._run(work)


async def _paged(api: ApiClient, path: str, params: dict[str, Any], limit: int) -> list[Json]:
    """Up to `limit` items of a list endpoint, page by page (it answers at most PAGE)."""
    found: list[Json] = []
    while len(found) < limit:
        size = min(PAGE, limit - len(found))
        page = await api.request(
            "GET", path, params={**params, "limit": size, "offset": len(found)}
        )
        found.extend(page)
        if len(page) < size:
            break
    return found
