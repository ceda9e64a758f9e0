"""The names of the events the server pushes on the `/chat` namespace, defined once.

Their payloads are defined in chatkit.wire (`SERVER_EVENTS` maps each name to its object).
This module imports nothing, so that the command line can offer the names without loading
the client or pydantic.
"""

from __future__ import annotations

NEW_MESSAGE = "new_message"
USER_TYPING = "user_typing"
MESSAGES_READ = "messages_read"
MESSAGE_UPDATED = "message_updated"
MESSAGE_DELETED = "message_deleted"
PRESENCE = "presence"
# Sent just before the server disconnects the socket.
TOKEN_EXPIRED = "token_expired"
TOKEN_REVOKED = "token_revoked"

# What a chat client shows: the conversations' events and the people's presence.
CHAT_EVENTS = (NEW_MESSAGE, USER_TYPING, MESSAGES_READ, MESSAGE_UPDATED, MESSAGE_DELETED, PRESENCE)
# Every event the server pushes to clients.
SERVER_EVENTS = (*CHAT_EVENTS, TOKEN_EXPIRED, TOKEN_REVOKED)
