"""Injected faults (error status, 429, latency, drop, malformed body) and the request log."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("status", "rate_limit", "latency", "drop", "malformed", "timeout")
FAULT_STATUSES = (500, 502, 503, 504)
DEFAULT_TIMEOUT_SECONDS = 30.0


class FaultError(ValueError):
    """Raised when a fault description is invalid."""


@dataclass
class Fault:
    """One injected fault and how many more requests it applies to (None: until cleared)."""

    id: str
    method: str
    route: str
    kind: str
    remaining: int | None
    status: int = 500
    retry_after: int = 1
    seconds: float = 0.0
    hits: int = 0

    def matches(self, method: str, route: str | None) -> bool:
        """Return True when this fault applies to a request."""
        method_ok = self.method in ("*", method)
        route_ok = self.route in ("*", route)
        return method_ok and route_ok and (self.remaining is None or self.remaining > 0)

    def to_json(self) -> dict[str, Any]:
        """Return the fault as listed by GET /_sim/faults."""
        return {
            "id": self.id,
            "method": self.method,
            "route": self.route,
            "kind": self.kind,
            "count": self.remaining,
            "remaining": self.remaining,
            "status": self.status,
            "retryAfter": self.retry_after,
            "seconds": self.seconds,
            "hits": self.hits,
        }


@dataclass
class FaultRegistry:
    """The active faults, in the order they were added; the first match wins."""

    faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, spec: dict[str, Any]) -> Fault:
        """Check a fault description from the control API and register it."""
        fault = _parse_fault(f"fault-{next(self._ids)}", spec)
        self.faults.append(fault)
        return fault

    def take(self, method: str, route: str | None) -> Fault | None:
        """Return the first fault matching a request and count the hit."""
        for fault in self.faults:
            if fault.matches(method, route):
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    def remove(self, fault_id: str) -> bool:
        """Remove one fault; return False when no fault has this id."""
        before = len(self.faults)
        self.faults = [fault for fault in self.faults if fault.id != fault_id]
        return len(self.faults) != before


def _parse_fault(fault_id: str, spec: dict[str, Any]) -> Fault:
    unknown = set(spec) - {"method", "route", "kind", "count", "status", "retryAfter", "seconds"}
    if unknown:
        raise FaultError(f"unknown fault fields {sorted(unknown)}")

    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError(f"fault kind must be one of {list(FAULT_KINDS)}, got {kind!r}")
    count = spec.get("count", 1)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise FaultError(f"fault count must be an integer >= 1 or null, got {count!r}")
    status = spec.get("status", 500)
    if kind == "status" and status not in FAULT_STATUSES:
        raise FaultError(f"fault status must be one of {list(FAULT_STATUSES)}, got {status!r}")

    default_seconds = DEFAULT_TIMEOUT_SECONDS if kind == "timeout" else 1.0
    seconds = spec.get("seconds", default_seconds)
    retry_after = spec.get("retryAfter", 1)
    for name, value in (("seconds", seconds), ("retryAfter", retry_after)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise FaultError(f"fault {name} must be a number >= 0, got {value!r}")

    return Fault(
        id=fault_id,
        method=str(spec.get("method", "*")).upper(),
        route=str(spec.get("route", "*")),
        kind=kind,
        remaining=count,
        status=status,
        retry_after=int(retry_after),
        seconds=float(seconds),
    )


@dataclass
class RequestLog:
    """Entries for every request to the OVH routes; secrets are never stored."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    max_entries: int = 100_000

    def add(self, entry: dict[str, Any]) -> None:
        """Append an entry, dropping the oldest beyond max_entries."""
        self.entries.append(entry)
        if len(self.entries) > self.max_entries:
            del self.entries[: len(self.entries) - self.max_entries]

    def since(self, start: float | None) -> list[dict[str, Any]]:
        """Return the entries logged at or after a Unix time (all without one)."""
        if start is None:
            return list(self.entries)
        return [entry for entry in self.entries if entry["time"] >= start]


def log_entry(method: str, path: str, route: str | None, query_id: str) -> dict[str, Any]:
    """Return a new log entry for a request; the middleware fills in status and identity."""
    return {
        "time": time.time(),
        "method": method,
        "path": path,
        "route": route,
        "status": None,
        "queryId": query_id,
        "applicationKey": None,
        "clientId": None,
        "fault": None,
    }
