"""Pending emails follow edits and deletions: the current text of edited messages, deleted ones
left out, no email at all when every message was deleted. Real SMTP (aiosmtpd)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatkit.server.data.database import Database
from chatkit.server.data.store.notifications import NotificationStore
from chatkit.server.notify import build_worker
from tests.support.smtp import Inbox
from tests.test_notifications import chat, inbox, mail, notify_settings, smtp_url

__all__ = ["inbox", "mail"]  # fixtures

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


async def test_a_pending_email_shows_current_text_and_leaves_deleted_out(
    database_url: str, tmp_path: Path, inbox: Inbox, mail: int
) -> None:
    settings = notify_settings(
        database_url, tmp_path, smtp_url=smtp_url(mail), notify_worker=False, notify_delay=0
    )
    async with chat(settings) as api:
        kept = await api.pair()
        gone = await api.pair()
        typo, oops, fine = [
            (await api.send(kept.mentor_token, kept.conversation_id, text)).body
            for text in ("see you tomorow", "wrong window, sorry", "bring the slides")
        ]
        await api.edit(kept.mentor_token, kept.conversation_id, typo["id"], "see you tomorrow")
        await api.remove(kept.mentor_token, kept.conversation_id, oops["id"])
        for text in ("first", "second"):
            sent = (await api.send(gone.mentor_token, gone.conversation_id, text)).body
            await api.remove(gone.mentor_token, gone.conversation_id, sent["id"])

        database = Database(settings.database_url)
        try:
            worker = build_worker(settings, NotificationStore(database))
            report = await worker.run_once()
            again = await worker.run_once()
        finally:
            await database.dispose()

        (email,) = await inbox.wait_for(1)
        text = email.part("plain")
        rows = await api.server.services.store.notifications.list(limit=100)

    assert report.emails == 1 and again.emails == 0
    assert email.message["X-Chatkit-Conversation"] == kept.conversation_id
    assert "see you tomorrow" in text and "tomorow" not in text
    assert "wrong window" not in text
    assert fine["content"] in text
    by_message = {row.message_id: row.status for row in rows}
    assert by_message[oops["id"]] == "dropped"
    assert by_message[typo["id"]] == by_message[fine["id"]] == "sent"
    gone_rows = [row for row in rows if row.conversation_id == gone.conversation_id]
    assert len(gone_rows) == 2 and {row.status for row in gone_rows} == {"dropped"}
