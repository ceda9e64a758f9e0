"""Offline-recipient email notifications: the delivery worker, the mailers and the email.

The outbox rows are written by the message writer (chatkit.server.data.writer) and queried in
chatkit.server.data.store.notifications; this package turns them into emails.
"""

from chatkit.server.notify.worker import NotifyWorker, build_worker

__all__ = ["NotifyWorker", "build_worker"]
