"""ApiClient: the contract's REST endpoints, typed, over one aiohttp session."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import aiohttp
import jwt
from typing_extensions import TypedDict, Unpack

from chatkit.client.errors import ApiError, Unreachable
from chatkit.client.models import (
    Attachment,
    Conversation,
    Message,
    MessagePage,
    ProtocolError,
    ReadReceipt,
    SendResult,
)

TokenSource = str | Callable[[], str]
"""A token, or a function returning the current one (called for each request and connect)."""

DEFAULT_TIMEOUT_SECONDS = 10.0


class RequestOptions(TypedDict, total=False):
    """What a request carries besides its method and path (ApiClient.request and
    request_with_status take the same)."""

    params: dict[str, Any] | None  # the query string; each value is sent as str(value)
    json_body: Any


def new_client_message_id() -> str:
    """A fresh id for `clientMessageId`: a retry that reuses it can never duplicate."""
    return str(uuid.uuid4())


def resolve_token(token: TokenSource) -> str:
    return token() if callable(token) else token


def token_subject(token: TokenSource) -> str | None:
    """The user id a JWT speaks for (its `sub`), read without verifying: the server verifies;
    a client only needs to know which messages are its own."""
    try:
        claims = jwt.decode(resolve_token(token), options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None


class ApiClient:
    """An async client of the public REST API. Use as `async with ApiClient(url, token)`,
    or call `close()`; a session passed in is left open for its owner."""

    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def bearer(self) -> str:
        return resolve_token(self.token)

    # --- endpoints -------------------------------------------------------------------------

    async def conversations(self, *, limit: int = 20, offset: int = 0) -> list[Conversation]:
        """One page of the caller's conversations, newest `updatedAt` first."""
        body = await self.request(
            "GET", "/api/conversations", params={"limit": limit, "offset": offset}
        )
        if not isinstance(body, list):
            raise ProtocolError("expected GET /api/conversations to answer a list")
        return [Conversation.from_json(item) for item in body]

    async def all_conversations(self, *, page_size: int = 100) -> AsyncIterator[Conversation]:
        """Every conversation of the caller, following `offset` until a short page."""
        offset = 0
        while True:
            page = await self.conversations(limit=page_size, offset=offset)
            for conversation in page:
                yield conversation
            if len(page) < page_size:
                return
            offset += len(page)

    async def conversation(self, conversation_id: str) -> Conversation:
        body = await self.request("GET", f"/api/conversations/{conversation_id}")
        return Conversation.from_json(body)

    async def conversation_by_session(self, session_id: str) -> tuple[Conversation, bool]:
        """Get or create the conversation of a session; True when this call created it."""
        status, body = await self.request_with_status(
            "POST", "/api/conversations/by-session", json_body={"sessionId": session_id}
        )
        return Conversation.from_json(body), status == 201

    async def messages(
        self,
        conversation_id: str,
        *,
        limit: int = 50,
        before: str | None = None,
        after: str | None = None,
        after_seq: int | None = None,
        change_seq: int | None = None,
    ) -> MessagePage:
        """A history page, oldest first: the newest `limit` (before `before`), or those after
        `after` / `after_seq` (with `change_seq`: also the changes made since)."""
        params: dict[str, Any] = {"limit": limit}
        if after_seq is not None:
            params["afterSeq"] = after_seq
        if change_seq is not None:
            params["changeSeq"] = change_seq
        if before is not None:
            params["before"] = before
        if after is not None:
            params["after"] = after
        body = await self.request(
            "GET", f"/api/conversations/{conversation_id}/messages", params=params
        )
        return MessagePage.from_json(body)

    async def edit(self, conversation_id: str, message_id: str, content: str) -> Message:
        """Change the text of one of your messages (chatkit's extension)."""
        body = await self.request(
            "PATCH",
            f"/api/conversations/{conversation_id}/messages/{message_id}",
            json_body={"content": content},
        )
        return Message.from_json(body)

    async def delete(self, conversation_id: str, message_id: str) -> Message:
        """Delete a message (yours, or any with an admin token); answers the tombstone."""
        body = await self.request(
            "DELETE", f"/api/conversations/{conversation_id}/messages/{message_id}"
        )
        return Message.from_json(body)

    async def send(
        self,
        conversation_id: str,
        content: str,
        *,
        content_type: str = "text",
        attachments: Iterable[Attachment] = (),
        client_message_id: str | None = None,
    ) -> SendResult:
        """Store a message. Pass the same `client_message_id` to retry without duplicating."""
        payload: dict[str, Any] = {
            "content": content,
            "contentType": content_type,
            "attachments": [item.wire() for item in attachments],
        }
        if client_message_id is not None:
            payload["clientMessageId"] = client_message_id
        status, body = await self.request_with_status(
            "POST", f"/api/conversations/{conversation_id}/messages", json_body=payload
        )
        return SendResult(Message.from_json(body), created=status == 201)

    async def mark_read(self, conversation_id: str) -> ReadReceipt:
        body = await self.request("PATCH", f"/api/conversations/{conversation_id}/read")
        return ReadReceipt.from_json(body)

    async def answers(self) -> bool:
        """Whether the server is up enough to answer `GET /healthz` (no auth) below 500."""
        try:
            await self.request("GET", "/healthz")
        except Unreachable:
            return False
        except ApiError as exc:
            return exc.status < 500
        return True

    # --- transport -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        **options: Unpack[RequestOptions],
    ) -> Any:
        """The decoded JSON of a successful answer; ApiError for anything else."""
        _status, body = await self.request_with_status(method, path, **options)
        return body

    async def request_with_status(
        self,
        method: str,
        path: str,
        **options: Unpack[RequestOptions],
    ) -> tuple[int, Any]:
        """The status and decoded JSON of a successful answer, for the calls whose status
        means something (201 created or 200 found); ApiError for anything else."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self.bearer()}", "Accept": "application/json"}
        query = {key: str(value) for key, value in (options.get("params") or {}).items()}
        try:
            async with self._session.request(
                method,
                url,
                params=query,
                json=options.get("json_body"),
                headers=headers,
                timeout=self._timeout,
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise Unreachable(
                "timeout", f"{self.base_url} did not answer {method} {path} in time"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise Unreachable(
                "unreachable", f"cannot reach {self.base_url}: {connect_failure(exc)}"
            ) from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise Unreachable(
                "unreachable", f"the connection to {self.base_url} failed: {exc}"
            ) from None
        body = _decode(raw)
        if status >= 400:
            raise _error(status, body, raw)
        if body is _NOT_JSON:
            raise ApiError(status, "not_json", f"{method} {path} did not answer JSON")
        return status, body


_NOT_JSON = object()


def connect_failure(exc: aiohttp.ClientConnectorError) -> str:
    """Why a connection could not be made, in words: getaddrinfo's errors (negative EAI_*
    codes on Linux) are not errnos, and os.strerror calls them "unknown error -2"."""
    error = exc.os_error
    errno = error.errno or 0
    if isinstance(error, socket.gaierror) or errno < 0:
        detail = (error.strerror or str(error)).lower()
        return f"DNS lookup failed for {exc.host} ({detail})"
    return os.strerror(errno).lower() if errno else str(error) or str(exc)


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


def _error(status: int, body: Any, raw: bytes) -> ApiError:
    """The contract's `{"error": {code, message}}`, or a sensible line for anything else (a
    proxy's HTML page, an empty body)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = error.get("code")
        message = error.get("message")
        if isinstance(code, str) and isinstance(message, str):
            return ApiError(status, code, message)
    text = raw[:200].decode("utf-8", "replace").strip().splitlines()
    detail = text[0] if text else "no body"
    return ApiError(status, f"http_{status}", f"the server answered HTTP {status}: {detail}")
