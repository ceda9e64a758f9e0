"""A thin REST client for tests, plus provisioning of users, sessions and conversations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support.contract import contract
from tests.support.server import Endpoint


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Pair:
    """A mentor, a mentee, their session and (once opened) their conversation."""

    mentor_id: str
    mentee_id: str
    session_id: str
    conversation_id: str
    mentor_token: str
    mentee_token: str


class Api:
    """Every reply is checked against the OpenAPI document (tests/support/contract.py) unless
    `check_contract=False`: the whole suite holds the server to what it publishes."""

    def __init__(self, server: Endpoint, *, check_contract: bool = True) -> None:
        self.server = server
        self.check_contract = check_contract
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(self.server.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        assert self._session is not None
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self._session.request(
            method, path, json=json, data=data, params=params, headers=all_headers
        ) as response:
            raw = await response.read()
            body: Any = None
            if raw:
                assert response.content_type == "application/json", raw[:200]
                body = await response.json()
            reply = Reply(response.status, body, dict(response.headers))
        if self.check_contract:
            contract().check(method, path, reply.status, reply.body, reply.headers)
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, **kwargs)

    # --- provisioning through the admin API ------------------------------------------------

    async def user(self, name: str = "Test User", *, avatar: str | None = None) -> str:
        user_id = str(uuid.uuid4())
        reply = await self.put(
            f"/api/admin/users/{user_id}",
            token=self.server.admin_token,
            json={"fullName": name, "email": f"{user_id[:8]}@example.com", "avatarUrl": avatar},
        )
        assert reply.status == 201, reply.body
        return user_id

    async def session(
        self,
        mentor_id: str,
        mentee_id: str,
        *,
        status: str = "scheduled",
        start_at: str = "2024-01-15T10:00:00Z",
    ) -> str:
        session_id = str(uuid.uuid4())
        reply = await self.put(
            f"/api/admin/sessions/{session_id}",
            token=self.server.admin_token,
            json={
                "mentorId": mentor_id,
                "menteeId": mentee_id,
                "startAt": start_at,
                "status": status,
            },
        )
        assert reply.status == 201, reply.body
        return session_id

    async def pair(self, *, open_conversation: bool = True) -> Pair:
        mentor_id = await self.user("Mentor Person")
        mentee_id = await self.user("Mentee Person")
        session_id = await self.session(mentor_id, mentee_id)
        mentor_token = self.server.token(mentor_id)
        conversation_id = ""
        if open_conversation:
            reply = await self.post(
                "/api/conversations/by-session", token=mentor_token, json={"sessionId": session_id}
            )
            assert reply.status == 201, reply.body
            conversation_id = reply.body["id"]
        return Pair(
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            session_id=session_id,
            conversation_id=conversation_id,
            mentor_token=mentor_token,
            mentee_token=self.server.token(mentee_id),
        )

    async def send(self, token: str, conversation_id: str, content: str, **extra: Any) -> Reply:
        return await self.post(
            f"/api/conversations/{conversation_id}/messages",
            token=token,
            json={"content": content, **extra},
        )

    async def edit(self, token: str, conversation_id: str, message_id: str, content: Any) -> Reply:
        return await self.patch(
            f"/api/conversations/{conversation_id}/messages/{message_id}",
            token=token,
            json={"content": content},
        )

    async def remove(self, token: str, conversation_id: str, message_id: str) -> Reply:
        return await self.delete(
            f"/api/conversations/{conversation_id}/messages/{message_id}", token=token
        )
