"""Provisioning before the timed phase, through the public API only (so any server works).

Users and sessions through `PUT /api/admin/users/:id` and `PUT /api/admin/sessions/:id`
with an admin token, conversations through `POST /api/conversations/by-session` as the
mentor, history through `POST /api/conversations/:id/messages`. Requests run concurrently;
a 5xx, 429 or dropped connection is retried (message POSTs carry a `clientMessageId`, so a
retry never stores a message twice), anything else stops the run with the server's answer.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from chatkit.bench.options import BenchOptions
from chatkit.bench.plan import ConversationPlan, Person, Plan
from chatkit.bench.target import BenchError, Minter
from chatkit.timefmt import iso, utcnow

CONCURRENCY = 64
RETRIES = 6
CONVERSATIONS_PER_MENTOR = 50  # history: mentors with long conversation lists
Progress = Callable[[str, int, int], None]


class Provisioner:
    def __init__(
        self, url: str, minter: Minter, *, run_id: str, ttl_seconds: int, progress: Progress
    ) -> None:
        self._url = url.rstrip("/")
        self._minter = minter
        self._run_id = run_id
        self._ttl = ttl_seconds
        self._admin = minter.admin(ttl_seconds)
        self._progress = progress
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Provisioner:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        self._http = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._http is not None
        await self._http.close()

    async def people(self, count: int) -> list[Person]:
        ids = [str(uuid.uuid4()) for _ in range(count)]
        done = 0

        async def one(index: int, user_id: str) -> None:
            nonlocal done
            body = {
                "fullName": f"Bench User {index}",
                "email": f"bench-{self._run_id}-{index}@example.com",
            }
            await self._call("PUT", f"/api/admin/users/{user_id}", self._admin, body)
            done += 1
            self._progress("users", done, count)

        await asyncio.gather(*(one(index, user_id) for index, user_id in enumerate(ids)))
        return [Person(id=user_id, token=self._minter.user(user_id, self._ttl)) for user_id in ids]

    async def conversations(
        self, people: list[Person], pairs: list[tuple[int, int]]
    ) -> list[ConversationPlan]:
        """A session per (mentor, mentee) pair, then its conversation, opened by the mentor."""
        done = 0
        start_at = iso(utcnow())

        async def one(mentor: int, mentee: int) -> ConversationPlan:
            nonlocal done
            session_id = str(uuid.uuid4())
            session = {
                "mentorId": people[mentor].id,
                "menteeId": people[mentee].id,
                "startAt": start_at,
                "status": "in_progress",
            }
            await self._call("PUT", f"/api/admin/sessions/{session_id}", self._admin, session)
            body = await self._call(
                "POST",
                "/api/conversations/by-session",
                people[mentor].token,
                {"sessionId": session_id},
            )
            done += 1
            self._progress("conversations", done, len(pairs))
            return ConversationPlan(id=str(body["id"]), mentor=mentor, mentee=mentee)

        return list(await asyncio.gather(*(one(mentor, mentee) for mentor, mentee in pairs)))

    async def seed(
        self, people: list[Person], conversations: list[ConversationPlan], total: int
    ) -> None:
        """`total` messages spread over the conversations, each conversation in order."""
        done = 0
        share, extra = divmod(total, len(conversations))

        async def fill(index: int, conversation: ConversationPlan) -> None:
            nonlocal done
            for number in range(share + (1 if index < extra else 0)):
                by_mentor = number % 2 == 0
                sender = conversation.mentor if by_mentor else conversation.mentee
                body = {
                    "content": f"history message {number} of conversation {index}: "
                    "how did the exercise from last week go?",
                    "clientMessageId": f"seed-{self._run_id}-{index}-{number}",
                }
                path = f"/api/conversations/{conversation.id}/messages"
                message = await self._call("POST", path, people[sender].token, body)
                conversation.message_ids.append(str(message["id"]))
                if by_mentor:
                    conversation.mentor_messages += 1
                else:
                    conversation.mentee_messages += 1
                done += 1
                self._progress("history messages", done, total)

        await asyncio.gather(*(fill(i, c) for i, c in enumerate(conversations)))

    async def _call(self, method: str, path: str, token: str, body: Any) -> Any:
        assert self._http is not None
        headers = {"Authorization": f"Bearer {token}"}
        delay = 0.1
        for attempt in range(RETRIES):
            async with self._limit:
                try:
                    async with self._http.request(
                        method, self._url + path, json=body, headers=headers
                    ) as response:
                        text = await response.text()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    if attempt == RETRIES - 1:
                        raise BenchError(f"{method} {path} failed: {exc!r}") from None
                    status, text = 0, ""
            if 200 <= status < 300:
                try:
                    return json.loads(text)
                except ValueError:
                    raise BenchError(f"{method} {path} answered invalid JSON") from None
            if status and status < 500 and status != 429:
                raise BenchError(f"provisioning: {method} {path} answered {status}: {text[:300]}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise BenchError(f"provisioning: {method} {path} kept failing (last status {status})")


async def build_plan(
    options: BenchOptions, url: str, minter: Minter, *, run_id: str, progress: Progress
) -> Plan:
    """Provision what the profile needs and describe it for the Locust processes."""
    ttl = int(options.duration + options.grace) + 6 * 3600  # outlives a long seeding
    name, users = options.profile.name, options.users
    slots: list[list[int]]
    async with Provisioner(
        url, minter, run_id=run_id, ttl_seconds=ttl, progress=progress
    ) as provisioner:
        if name == "history":
            mentors = math.ceil(options.conversations / CONVERSATIONS_PER_MENTOR)
            people = await provisioner.people(mentors + options.conversations)
            pairs = [(i % mentors, mentors + i) for i in range(options.conversations)]
            conversations = await provisioner.conversations(people, pairs)
            if options.messages:
                await provisioner.seed(people, conversations, options.messages)
            readers = [
                (g // 2) % mentors if g % 2 == 0 else mentors + (g // 2) % options.conversations
                for g in range(users)
            ]
            slots = [[reader] for reader in readers]
        elif name == "idle":
            people = await provisioner.people(users + users % 2)
            pairs = [(2 * i, 2 * i + 1) for i in range(len(people) // 2)]
            conversations = await provisioner.conversations(people, pairs)
            slots = [[g] for g in range(users)]
        elif name == "connect-storm":
            people = await provisioner.people(2 * users)
            pairs = [(2 * i, 2 * i + 1) for i in range(users)]
            conversations = await provisioner.conversations(people, pairs)
            slots = [[2 * g, 2 * g + 1] for g in range(users)]
        else:  # chat, burst, fanout: every user owns whole conversations
            people = await provisioner.people(2 * options.conversations)
            pairs = [(2 * i, 2 * i + 1) for i in range(options.conversations)]
            conversations = await provisioner.conversations(people, pairs)
            slots = [list(range(g, options.conversations, users)) for g in range(users)]
    return Plan(
        profile=name,
        url=url,
        run_id=run_id,
        users=users,
        spawn_rate=options.spawn_rate,
        duration=options.duration,
        grace=options.grace,
        rate=options.rate,
        processes=options.processes,
        in_flight=options.in_flight,
        tabs=options.tabs,
        transport=options.transport,
        people=people,
        conversations=conversations,
        slots=slots,
    )
