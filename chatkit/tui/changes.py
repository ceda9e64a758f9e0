"""Edits, deletions and presence, live or from a catch-up, applied to the app's model of
conversations (the open conversation's log is updated by its screen)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from chatkit.client import (
    Conversation,
    Message,
    MessageDeletedEvent,
    MessageUpdatedEvent,
    Person,
    PresenceEvent,
)
from chatkit.tui.format import message_time, session_line
from chatkit.tui.widgets.message_log import MessageLog

if TYPE_CHECKING:
    from chatkit.tui.app import ChatApp

Change = MessageUpdatedEvent | MessageDeletedEvent | PresenceEvent
EVENTS = (MessageUpdatedEvent, MessageDeletedEvent, PresenceEvent)


def tombstone(message: Message, deleted_at: datetime) -> Message:
    """The message as a deletion leaves it: in its place, without text or attachments."""
    return dataclasses.replace(message, content="", attachments=(), deleted_at=deleted_at)


def apply(conversations: dict[str, Conversation], event: Change) -> bool:
    """Bring the conversations up to date; True when something shown in the list changed."""
    if isinstance(event, PresenceEvent):
        changed = False
        for conversation in list(conversations.values()):
            updated = _with_presence(conversation, event)
            if updated != conversation:
                conversations[conversation.id], changed = updated, True
        return changed
    found = conversations.get(event.conversation_id)
    last = found.last_message if found is not None else None
    if found is None or last is None:
        return False
    if isinstance(event, MessageDeletedEvent) and last.id == event.message_id:
        last = dataclasses.replace(last, content="", deleted_at=event.deleted_at)
    elif isinstance(event, MessageUpdatedEvent) and last.id == event.message.id:
        last = dataclasses.replace(
            last, content=event.message.content, edited_at=event.message.edited_at
        )
    else:
        return False
    conversations[found.id] = dataclasses.replace(found, last_message=last)
    return True


def _with_presence(conversation: Conversation, event: PresenceEvent) -> Conversation:
    def person(value: Person) -> Person:
        if value.id != event.user_id:
            return value
        return dataclasses.replace(value, online=event.online, last_seen_at=event.last_seen_at)

    return dataclasses.replace(
        conversation, mentor=person(conversation.mentor), mentee=person(conversation.mentee)
    )


def presence_dot(person: Person) -> tuple[str, str]:
    """A dot and its style: green when online, hollow when not, nothing when unknown."""
    if person.online is None:
        return "", ""
    return ("●", "bold green") if person.online else ("○", "dim")


def presence_line(person: Person, now: datetime, tz: tzinfo | None) -> str:
    """`● online`, `○ last seen 14:05`, or "" from a server without presence."""
    if person.online is None:
        return ""
    if person.online:
        return "● online"
    if person.last_seen_at is None:
        return "○ offline"
    return f"○ last seen {message_time(person.last_seen_at, now, tz)}"


def show(app: ChatApp, event: Change) -> None:
    """Apply `event` to the app's model, the list and every open conversation."""
    from chatkit.tui.screens.conversation import ConversationScreen

    if apply(app.conversations, event) and app.loaded:
        app.refresh_views()
    for screen in app.screen_stack:
        if isinstance(screen, ConversationScreen):
            screen.apply(event)


def show_in_log(log: MessageLog, event: Change) -> None:
    """Re-render the edited or deleted message if it is on screen (the history loads it as it
    is now otherwise)."""
    if isinstance(event, PresenceEvent):
        return
    message_id = event.message_id if isinstance(event, MessageDeletedEvent) else event.message.id
    item = log.item_for(message_id)
    if item is None or item.message is None:
        return
    if isinstance(event, MessageDeletedEvent):
        item.replace_message(tombstone(item.message, event.deleted_at))
    else:
        item.replace_message(event.message)


def peer_line(conversation: Conversation, app: ChatApp) -> str:
    """The line above a conversation: who, their presence, the session."""
    other = conversation.other(app.me)
    session = conversation.session
    now, tz = app.now(), app.options.tz
    when = session_line(session.start_at, session.status, now, tz)
    presence = presence_line(other, now, tz)
    return f"{other.full_name}{' · ' + presence if presence else ''} · session {when}"
