"""docs/guarantees.md names the tests that prove each guarantee: every one must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"`(test_\w+\.py)::(test_\w+)`")


def test_every_test_named_in_guarantees_md_exists() -> None:
    text = (ROOT / "docs" / "guarantees.md").read_text()
    references = REFERENCE.findall(text)
    missing = [
        f"{module}::{name}"
        for module, name in references
        if not re.search(
            rf"^(async )?def {name}\(", (ROOT / "tests" / module).read_text(), re.MULTILINE
        )
    ]

    assert len(references) > 40
    assert missing == []
