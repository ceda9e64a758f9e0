"""What the TUI keeps on this machine between runs: per conversation, the draft in the
composer and the messages not sent yet (failed, or refused by the server).

One small JSON file per server and user in the user's data directory. It is written whole,
atomically (a temporary file renamed over it), so a crash leaves the previous version; a file
that cannot be read is set aside rather than trusted or lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

log = logging.getLogger("chatkit.tui")

FORMAT = 1


class UnsentState(StrEnum):
    PENDING = "pending"  # handed to the server, no answer yet
    FAILED = "failed"  # no answer, or an answer that may change (429, 5xx): Ctrl+R retries
    REFUSED = "refused"  # a 4xx that will not change by retrying: the text goes back to edit


@dataclass(slots=True)
class Unsent:
    client_message_id: str
    text: str
    state: UnsentState = UnsentState.PENDING
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        # A send in flight when the TUI stopped has no known outcome: it is retried with the
        # same clientMessageId, which cannot store it twice.
        state = UnsentState.FAILED if self.state is UnsentState.PENDING else self.state
        return {
            "clientMessageId": self.client_message_id,
            "text": self.text,
            "state": state.value,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Unsent:
        return cls(
            str(data["clientMessageId"]),
            str(data["text"]),
            UnsentState(data.get("state", "failed")),
            str(data.get("reason", "")),
        )


def state_file(data_dir: Path, url: str, user_id: str) -> Path:
    """Where one account's state lives: the same user on two servers keeps two files."""
    digest = hashlib.sha256(f"{url.rstrip('/')} {user_id}".encode()).hexdigest()[:16]
    return data_dir / f"tui-{digest}.json"


class LocalState:
    """Drafts and unsent messages, in memory; `save()` writes them when a file is given."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._drafts: dict[str, str] = {}
        self._unsent: dict[str, list[Unsent]] = {}
        self._dirty = False
        if path is not None:
            self._load(path)

    # --- drafts ---------------------------------------------------------------------------

    def draft(self, conversation_id: str) -> str:
        return self._drafts.get(conversation_id, "")

    def set_draft(self, conversation_id: str, text: str) -> None:
        if text.strip():
            changed = self._drafts.get(conversation_id) != text
            self._drafts[conversation_id] = text
        else:
            changed = self._drafts.pop(conversation_id, None) is not None
        self._dirty |= changed

    def drafts(self) -> dict[str, str]:
        return dict(self._drafts)

    # --- unsent messages ------------------------------------------------------------------

    def unsent(self, conversation_id: str) -> list[Unsent]:
        return list(self._unsent.get(conversation_id, ()))

    def find(self, conversation_id: str, client_message_id: str) -> Unsent | None:
        for entry in self._unsent.get(conversation_id, ()):
            if entry.client_message_id == client_message_id:
                return entry
        return None

    def add(self, conversation_id: str, entry: Unsent) -> None:
        self._unsent.setdefault(conversation_id, []).append(entry)
        self._dirty = True

    def mark(
        self, conversation_id: str, client_message_id: str, state: UnsentState, reason: str = ""
    ) -> Unsent | None:
        entry = self.find(conversation_id, client_message_id)
        if entry is not None:
            entry.state, entry.reason = state, reason
            self._dirty = True
        return entry

    def remove(self, conversation_id: str, client_message_id: str) -> Unsent | None:
        entries = self._unsent.get(conversation_id, [])
        entry = self.find(conversation_id, client_message_id)
        if entry is None:
            return None
        entries.remove(entry)
        if not entries:
            del self._unsent[conversation_id]
        self._dirty = True
        return entry

    def conversations_with_unsent(self) -> list[str]:
        return list(self._unsent)

    def not_sent_counts(self) -> dict[str, int]:
        """Per conversation, the messages that failed or were refused (not those in flight)."""
        counts = {}
        for cid, entries in self._unsent.items():
            count = sum(1 for e in entries if e.state is not UnsentState.PENDING)
            if count:
                counts[cid] = count
        return counts

    # --- the file -------------------------------------------------------------------------

    def save(self) -> None:
        """Write the file if anything changed since the last save."""
        if self.path is None or not self._dirty:
            return
        document = {
            "format": FORMAT,
            "drafts": self._drafts,
            "unsent": {
                cid: [entry.to_json() for entry in entries] for cid, entries in self._unsent.items()
            },
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, ensure_ascii=False, indent=1)
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("cannot keep drafts in %s: %s", self.path, exc)
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)
            return
        self._dirty = False

    def _load(self, path: Path) -> None:
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read drafts from %s: %s", path, exc)
            return
        try:
            document = json.loads(raw)
            drafts = {str(k): str(v) for k, v in document.get("drafts", {}).items()}
            unsent = {
                str(cid): [Unsent.from_json(entry) for entry in entries]
                for cid, entries in document.get("unsent", {}).items()
            }
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            aside = path.with_suffix(".unreadable")
            log.warning("drafts in %s are unreadable (%s); moved to %s", path, exc, aside)
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            return
        self._drafts = drafts
        self._unsent = {cid: entries for cid, entries in unsent.items() if entries}
