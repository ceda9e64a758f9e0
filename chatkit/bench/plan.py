"""The plan: everything the Locust processes need, written by the runner as one JSON file.

Locust users claim a *slot* each (see `claim_slot`); a slot names the conversations or
people that user owns for the whole run, so every message of a conversation is sent and
received inside one Locust user, and correctness is checked there without cross-process joins.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PLAN_FILE = "plan.json"
RUN_DIR_ENV = "CHATKIT_BENCH_RUN_DIR"
CLAIMS_DIR = "claims"
RESULTS_DIR = "results"
PROGRESS_FILE = "progress.jsonl"

# Content of every benchmark message: marker, run id, conversation index, per-conversation
# counter. Receivers recognise their own messages by it, on servers that echo nothing else.
CONTENT_MARKER = "chatkit-bench"


@dataclass(frozen=True)
class Person:
    id: str
    token: str


@dataclass
class ConversationPlan:
    id: str
    mentor: int  # index into Plan.people
    mentee: int
    # history only: the seeded message ids, oldest first, and who sent how many
    message_ids: list[str] = field(default_factory=list)
    mentor_messages: int = 0
    mentee_messages: int = 0


@dataclass
class Plan:
    profile: str
    url: str
    run_id: str
    users: int
    spawn_rate: float
    duration: float
    grace: float
    rate: float | None
    processes: int
    in_flight: int
    tabs: int
    transport: str
    people: list[Person]
    conversations: list[ConversationPlan]
    slots: list[list[int]]  # per Locust user: conversation (or person) indices it owns

    def save(self, run_dir: Path) -> None:
        (run_dir / PLAN_FILE).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, run_dir: Path) -> Plan:
        raw: dict[str, Any] = json.loads((run_dir / PLAN_FILE).read_text())
        raw["people"] = [Person(**item) for item in raw["people"]]
        raw["conversations"] = [ConversationPlan(**item) for item in raw["conversations"]]
        return cls(**raw)

    def conversations_of(self, person: int) -> list[int]:
        return [
            index
            for index, conversation in enumerate(self.conversations)
            if person in (conversation.mentor, conversation.mentee)
        ]


def message_content(run_id: str, conversation: int, counter: int) -> str:
    return f"{CONTENT_MARKER} {run_id} {conversation} {counter}"


def parse_content(content: object, run_id: str) -> tuple[int, int] | None:
    """(conversation index, counter) of one of this run's messages, else None."""
    if not isinstance(content, str):
        return None
    parts = content.split(" ")
    if len(parts) != 4 or parts[0] != CONTENT_MARKER or parts[1] != run_id:
        return None
    try:
        return int(parts[2]), int(parts[3])
    except ValueError:
        return None


def claim_slot(run_dir: Path, slots: int, start: int = 0) -> int | None:
    """Atomically take the lowest free slot at or after `start`, across processes."""
    claims = run_dir / CLAIMS_DIR
    for slot in range(start, slots):
        try:
            os.close(os.open(claims / str(slot), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            continue
        return slot
    return None


def prepare_run_dir(run_dir: Path) -> None:
    (run_dir / CLAIMS_DIR).mkdir(parents=True, exist_ok=True)
    (run_dir / RESULTS_DIR).mkdir(parents=True, exist_ok=True)
