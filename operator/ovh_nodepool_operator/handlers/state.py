"""Per-object memory kept between handler calls, in Kopf's per-object memo."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import kopf


@dataclass
class ObjectState:
    """In-memory state of one OVHNodePool while the operator runs.

    Nothing here must survive a restart, because the object's status contains what must.
    """

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    busy: bool = True
    retry_at: float = 0.0
    failures: int = 0
    seen_version: int = -1
    last_verdict: tuple[str, str] | None = None
    delete_requested_at: float | None = None
    # Set when a status write found the object deleted. The ticker then stops following it.
    deleted: bool = False


def object_state(memo: kopf.Memo) -> ObjectState:
    """Return the object's state, creating it on first use."""
    state: Any = memo.get("object_state")
    if isinstance(state, ObjectState):
        return state
    created = ObjectState()
    memo["object_state"] = created
    return created
