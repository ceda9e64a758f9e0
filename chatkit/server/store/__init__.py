"""Every query lives here, one module per concern; the Store bundles them for the app."""

from __future__ import annotations

from chatkit.server.db import Database
from chatkit.server.store.conversations import ConversationStore
from chatkit.server.store.messages import MessageStore
from chatkit.server.store.notifications import NotificationStore
from chatkit.server.store.sessions import SessionStore
from chatkit.server.store.users import UserStore


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.users = UserStore(database)
        self.sessions = SessionStore(database)
        self.conversations = ConversationStore(database)
        self.messages = MessageStore(database)
        self.notifications = NotificationStore(database)


__all__ = ["Store"]
