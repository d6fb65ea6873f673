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
    # A handler's request for a forced reconcile, as the oldest listing it accepts (seconds).
    requested_max_age: float | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _wake_waiter: asyncio.Future[Any] | None = None

    def request(self, max_age: float) -> None:
        """Ask the object's daemon for a forced reconcile with a listing at most `max_age` old."""
        current = self.requested_max_age
        self.requested_max_age = max_age if current is None else min(current, max_age)
        self.wake.set()

    def take_request(self) -> float | None:
        """Return the pending request's listing age and clear it, or None without a request."""
        max_age = self.requested_max_age
        self.requested_max_age = None
        self.wake.clear()
        return max_age

    async def rest(self, stop: asyncio.Future[Any], seconds: float) -> None:
        """Wait `seconds`, or less when a request arrives or `stop` completes."""
        if self.wake.is_set():
            return
        if self._wake_waiter is None or self._wake_waiter.done():
            self._wake_waiter = asyncio.ensure_future(self.wake.wait())
        await asyncio.wait(
            (self._wake_waiter, stop),
            timeout=seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )

    def close(self) -> None:
        """Cancel the wait for requests. The daemon calls this when it exits."""
        if self._wake_waiter is not None:
            self._wake_waiter.cancel()
            self._wake_waiter = None


def object_state(memo: kopf.Memo) -> ObjectState:
    """Return the object's state, creating it on first use."""
    state: Any = memo.get("object_state")
    if isinstance(state, ObjectState):
        return state
    created = ObjectState()
    memo["object_state"] = created
    return created
