"""Kopf's peering rule: whether another operator instance has the right to act now.

Each instance writes a keep-alive into the peering object's status: one entry per instance,
with its priority, the time it was last seen and how long that sighting counts. An instance
pauses while a live peer has a higher priority, or the same one (then every such peer pauses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_LIFETIME_SECONDS = 60


@dataclass(frozen=True)
class Peer:
    """One instance's keep-alive entry in a peering object's status."""

    identity: str
    priority: int
    deadline: datetime


def parse_peers(status: Mapping[str, Any], now: datetime) -> list[Peer]:
    """Return the live peers of a peering object's status; skip the expired and malformed."""
    peers = []
    for identity, entry in status.items():
        if not isinstance(entry, Mapping):
            continue
        try:
            priority = int(entry.get("priority", 0))
            lifetime = int(entry.get("lifetime", DEFAULT_LIFETIME_SECONDS))
            seen = datetime.fromisoformat(str(entry["lastseen"]))
        except (KeyError, TypeError, ValueError):
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        deadline = seen + timedelta(seconds=lifetime)
        if deadline > now:
            peers.append(Peer(identity=str(identity), priority=priority, deadline=deadline))
    return peers


def pause_reason(
    status: Mapping[str, Any], *, priority: int, identity: str | None, now: datetime
) -> str | None:
    """Return why this instance must pause, or None when it may act.

    Without its own identity, the instance counts itself among the entries of its priority.
    """
    peers = parse_peers(status, now)
    higher = sorted(peer.identity for peer in peers if peer.priority > priority)
    if higher:
        return f"peer {higher[0]} has a higher priority than {priority}"

    same = [peer.identity for peer in peers if peer.priority == priority]
    others = [name for name in same if name != identity] if identity else same[1:]
    if others:
        return f"peer {sorted(others)[0]} has the same priority {priority}"
    return None
