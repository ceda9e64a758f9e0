"""Readers over a seeded history: conversation lists and history pages, each one checked.

The runner seeded every conversation through the API and kept the ids it got back, oldest
first. So a page `?before=<id>` must hold exactly the 50 ids before it, in order: an id
missing from the page is lost, one that comes twice is duplicated, a page out of
chronological order is out of order. A list must show each conversation's last message and
its unread count (nobody reads during this profile, so it is everything the other side sent).
"""

from __future__ import annotations

import random
import time
from typing import Any

from chatkit.bench import results as r
from chatkit.bench.load.base import BenchUser
from chatkit.bench.plan import ConversationPlan

PAGE = 50
LIST_PAGE = 20
LIST_SHARE = 1 / 3  # one list for every two history pages


class HistoryReader(BenchUser):
    abstract = True

    def setup(self) -> None:
        self.person = self.plan.slots[self.slot][0]
        self.mine = [self.plan.conversations[i] for i in self.plan.conversations_of(self.person)]
        self.by_id = {conversation.id: conversation for conversation in self.mine}

    def steady(self) -> None:
        self.repeat(self.read_once, concurrency=self.plan.in_flight)

    def read_once(self) -> None:
        if random.random() < LIST_SHARE:
            self.read_list()
        else:
            self.read_page()

    def read_list(self) -> None:
        offset = LIST_PAGE * random.randrange(max(1, -(-len(self.mine) // LIST_PAGE)))
        body = self._get("/api/conversations", {"limit": LIST_PAGE, "offset": offset}, "list")
        if body is None:
            return
        expected = min(LIST_PAGE, max(0, len(self.mine) - offset))
        if not isinstance(body, list) or len(body) != expected:
            self._mismatch(f"list at offset {offset}: expected {expected} items, got {body!r}")
            return
        for item in body:
            key = item.get("id") if isinstance(item, dict) else None
            conversation = self.by_id.get(key) if isinstance(key, str) else None
            if conversation is None:
                self._mismatch(f"list holds a conversation that is not the reader's: {item!r}")
                continue
            self._check_summary(conversation, item)

    def _check_summary(self, conversation: ConversationPlan, item: dict[str, Any]) -> None:
        is_mentor = conversation.mentor == self.person
        unread = conversation.mentee_messages if is_mentor else conversation.mentor_messages
        last = item.get("lastMessage")
        last_id = last.get("id") if isinstance(last, dict) else None
        expected_last = conversation.message_ids[-1] if conversation.message_ids else None
        if item.get("unreadCount") != unread or last_id != expected_last:
            self._mismatch(
                f"conversation {conversation.id}: unreadCount {item.get('unreadCount')} "
                f"(expected {unread}), lastMessage {last_id} (expected {expected_last})"
            )

    def read_page(self) -> None:
        conversation = random.choice(self.mine)
        ids = conversation.message_ids
        position = random.randint(0, len(ids))  # len(ids): the newest page, without a cursor
        params: dict[str, Any] = {"limit": PAGE}
        if position < len(ids):
            params["before"] = ids[position]
        path = f"/api/conversations/{conversation.id}/messages"
        body = self._get(path, params, "page")
        if body is None:
            return
        expected = ids[max(0, position - PAGE) : position]
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list):
            self._mismatch(f"history page without messages: {body!r}")
            return
        got = [item.get("id") if isinstance(item, dict) else None for item in messages]
        self._check_page(expected, got)
        has_more = position - PAGE > 0
        cursor = ids[position - PAGE] if has_more else None
        if body.get("hasMore") != has_more or body.get("nextCursor") != cursor:
            self._mismatch(
                f"page before {params.get('before')}: hasMore {body.get('hasMore')} "
                f"nextCursor {body.get('nextCursor')} (expected {has_more}, {cursor})"
            )

    def _check_page(self, expected: list[str], got: list[Any]) -> None:
        result = self.bench.result
        wanted = set(expected)
        seen: set[Any] = set()
        for item in got:
            if item in seen:
                result.count(r.DUPLICATED)
            elif item not in wanted:
                self._mismatch(f"history page holds {item!r}, which belongs elsewhere")
            seen.add(item)
        result.count(r.LOST, len(wanted - seen))
        in_page = [item for item in dict.fromkeys(got) if item in wanted]
        if in_page != [item for item in expected if item in seen]:
            result.count(r.OUT_OF_ORDER)

    def _get(self, path: str, params: dict[str, Any], kind: str) -> Any:
        started = time.monotonic()
        name = "/api/conversations" if kind == "list" else "/api/conversations/:id/messages"
        query = "&".join(f"{key}={value}" for key, value in params.items())
        with self.http.get(
            f"{path}?{query}", headers=self.auth(self.person), name=name, catch_response=True
        ) as response:
            ms = (time.monotonic() - started) * 1000
            result = self.bench.result
            if response.status_code != 200:
                detail = (
                    f"GET {name} answered {response.status_code}: {(response.text or '')[:200]}"
                )
                result.error(r.READ_FAILED, detail)
                response.failure(detail)
                return None
            try:
                body = response.json()
            except ValueError:
                result.error(r.READ_FAILED, f"{name} answered with invalid JSON")
                response.failure("invalid JSON")
                return None
            response.success()
        result.count(r.READS)
        result.tick(r.READS, started)
        result.sample(kind, started, ms)
        return body

    def _mismatch(self, detail: str) -> None:
        self.bench.result.error(r.MISMATCHES, detail)
