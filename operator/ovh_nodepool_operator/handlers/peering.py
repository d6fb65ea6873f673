"""Whether this operator instance may act, by Kopf's peering rule, for the ticker.

Kopf pauses its own handlers and watch streams while a peer has the right to act. The ticker
runs outside Kopf's handlers, so it follows the same peering objects and applies the same rule.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ovh_nodepool_operator.clients.kube import PeeringFollower
from ovh_nodepool_operator.domain.peering import pause_reason


class PeeringGate:
    """Closed while a peer has the right to act, or while a peering object cannot be read."""

    def __init__(
        self,
        *,
        name: str,
        namespaces: list[str] | None,
        priority: int,
        mandatory: bool,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._priority = priority
        self._mandatory = mandatory
        # Kopf takes its identity from POD_ID when it is set. Otherwise Kopf draws one, so the
        # rule counts this instance among the entries of its own priority.
        self._identity = os.environ.get("POD_ID") or None
        self._readings: dict[str, tuple[Mapping[str, Any] | None, str | None]] = {}
        scopes: list[str | None] = list(namespaces) if namespaces is not None else [None]
        self._followers = [
            PeeringFollower(name=name, namespace=namespace, loop=loop, callback=self._record)
            for namespace in scopes
        ]

    def start(self) -> None:
        """Start following the peering objects."""
        for follower in self._followers:
            follower.start()

    def stop(self) -> None:
        """Stop following the peering objects."""
        for follower in self._followers:
            follower.stop()

    def pause_reason(self, now: datetime | None = None) -> str | None:
        """Return why this instance must not act now, or None when it may."""
        now = now or datetime.now(UTC)
        for follower in self._followers:
            reading = self._readings.get(follower.reference)
            if reading is None:
                return f"{follower.reference} is not read yet"
            status, problem = reading
            if problem is not None:
                if self._mandatory:
                    return problem
                continue
            reason = pause_reason(
                status or {}, priority=self._priority, identity=self._identity, now=now
            )
            if reason is not None:
                return f"{reason} in {follower.reference}"
        return None

    def _record(
        self, reference: str, status: Mapping[str, Any] | None, problem: str | None
    ) -> None:
        self._readings[reference] = (status, problem)
