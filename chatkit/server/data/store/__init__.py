"""Every query lives here, one module per concern; the Store bundles them for the app.

`Store` is loaded on first use, so that importing the plain records (records.py) does not
import SQLAlchemy: command-line tools that only need the records start faster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatkit.server.data.store.facade import Store


def __getattr__(name: str) -> Any:
    if name == "Store":
        from chatkit.server.data.store.facade import Store

        return Store
    raise AttributeError(name)


__all__ = ["Store"]
