"""A ready demo dataset: mentors, mentees, sessions and conversations with some history.

Ids are derived from names, so running it twice changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatkit.server.data.store import Store
from chatkit.server.data.store.messages import NewMessage
from chatkit.timefmt import utcnow

_NAMESPACE = uuid.UUID("6f1d7c1e-2b51-4c8e-9a4e-5c1b8f0d2a77")


def demo_id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    email: str

    @property
    def id(self) -> str:
        return demo_id("user:" + self.name)


USERS = (
    DemoUser("Ada Lovelace", "mentor", "ada@example.com"),
    DemoUser("Grace Hopper", "mentor", "grace@example.com"),
    DemoUser("Alan Turing", "mentor", "alan@example.com"),
    DemoUser("Linus Park", "mentee", "linus@example.com"),
    DemoUser("Maya Chen", "mentee", "maya@example.com"),
    DemoUser("Sam Rivera", "mentee", "sam@example.com"),
)
_BY_NAME = {user.name: user for user in USERS}

# (mentor, mentee, start offset in days from now, status, conversation script)
SESSIONS: tuple[tuple[str, str, int, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Ada Lovelace",
        "Linus Park",
        -3,
        "completed",
        (
            ("Linus Park", "Hi Ada! Thanks again for the session on Tuesday."),
            ("Ada Lovelace", "My pleasure, Linus. Did you get the recursion exercise working?"),
            ("Linus Park", "Almost: the base case was wrong. Fixed it this morning."),
            ("Ada Lovelace", "Great. Next time we can look at memoisation."),
            ("Linus Park", "Sounds good. I'll bring the profiler output."),
        ),
    ),
    (
        "Ada Lovelace",
        "Maya Chen",
        2,
        "scheduled",
        (
            ("Maya Chen", "Hello! Looking forward to Thursday."),
            ("Ada Lovelace", "Me too. Could you send your CV before then?"),
        ),
    ),
    (
        "Grace Hopper",
        "Sam Rivera",
        0,
        "in_progress",
        (
            ("Grace Hopper", "Welcome Sam. What would you like to focus on today?"),
            ("Sam Rivera", "Compilers, if that's OK. I'm lost in parsing."),
            ("Grace Hopper", "Perfect, that's my favourite topic."),
        ),
    ),
    ("Alan Turing", "Linus Park", 7, "scheduled", ()),
)


def session_id(mentor: str, mentee: str) -> str:
    return demo_id(f"session:{mentor}:{mentee}")


async def seed(store: Store, *, now: datetime | None = None) -> None:
    """Create or refresh the demo users, sessions, conversations and their first messages."""
    now = now or utcnow()
    for user in USERS:
        await store.users.upsert(
            user_id=user.id, full_name=user.name, email=user.email, avatar_url=None
        )
    for mentor_name, mentee_name, days, status, script in SESSIONS:
        mentor, mentee = _BY_NAME[mentor_name], _BY_NAME[mentee_name]
        sid = session_id(mentor_name, mentee_name)
        await store.sessions.upsert(
            session_id=sid,
            mentor_id=mentor.id,
            mentee_id=mentee.id,
            start_at=(now + timedelta(days=days)).replace(minute=0, second=0, microsecond=0),
            status=status,
        )
        if not script:
            continue
        view, _created = await store.conversations.get_or_create_for_session(
            session_id=sid, user_id=mentor.id
        )
        if view.last_message is not None:
            continue  # already seeded
        participants = await store.conversations.participants(view.id)
        assert participants is not None
        started = now - timedelta(minutes=10 * len(script))
        for index, (sender, text) in enumerate(script):
            await store.messages.apply(
                [
                    NewMessage(
                        participants=participants,
                        sender_id=_BY_NAME[sender].id,
                        content=text,
                        content_type="text",
                        attachments=[],
                        client_message_id=None,
                    )
                ],
                now=started + timedelta(minutes=10 * index),
                notify_delay=0,
            )
