"""The Store: every query module of the app, bundled around one Database."""

from __future__ import annotations

from chatkit.server.data.database import Database
from chatkit.server.data.store.conversations import ConversationStore
from chatkit.server.data.store.messages import MessageStore
from chatkit.server.data.store.notifications import NotificationStore
from chatkit.server.data.store.sessions import SessionStore
from chatkit.server.data.store.users import UserStore


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.users = UserStore(database)
        self.sessions = SessionStore(database)
        self.conversations = ConversationStore(database)
        self.messages = MessageStore(database)
        self.notifications = NotificationStore(database)
