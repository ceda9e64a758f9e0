"""A typed async client of the chat API: REST (`ApiClient`) and Socket.IO (`RealtimeClient`).

It speaks only the public contract, so it works against any server that implements it; the
TUI and the command-line client are built on it.
"""

from chatkit.client.api import ApiClient, TokenSource, new_client_message_id, token_subject
from chatkit.client.errors import ApiError, ClientError, EventError, NotConnected, Unreachable
from chatkit.client.events import (
    ConnectionEvent,
    ConnectionState,
    ConnectionStatus,
    Event,
    EventStream,
    MessageDeletedEvent,
    MessageEvent,
    MessageUpdatedEvent,
    NewMessageEvent,
    PresenceEvent,
    ReadEvent,
    ServerEvent,
    TypingEvent,
)
from chatkit.client.models import (
    Attachment,
    Conversation,
    LastMessage,
    Message,
    MessagePage,
    Person,
    ProtocolError,
    ReadReceipt,
    SendResult,
    SessionInfo,
)
from chatkit.client.realtime import RealtimeClient
from chatkit.client.reconnect import Backoff

__all__ = [
    "ApiClient",
    "ApiError",
    "Attachment",
    "Backoff",
    "ClientError",
    "ConnectionEvent",
    "ConnectionState",
    "ConnectionStatus",
    "Conversation",
    "Event",
    "EventError",
    "EventStream",
    "LastMessage",
    "Message",
    "MessagePage",
    "MessageDeletedEvent",
    "MessageEvent",
    "MessageUpdatedEvent",
    "NewMessageEvent",
    "PresenceEvent",
    "NotConnected",
    "Person",
    "ProtocolError",
    "ReadEvent",
    "ReadReceipt",
    "RealtimeClient",
    "SendResult",
    "ServerEvent",
    "SessionInfo",
    "TokenSource",
    "TypingEvent",
    "Unreachable",
    "new_client_message_id",
    "token_subject",
]
