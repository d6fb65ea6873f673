"""Tests of Kopf's peering rule as the ticker applies it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ovh_nodepool_operator.domain.peering import pause_reason

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def entry(priority: int, seen_ago: float = 5.0, lifetime: int = 60) -> dict[str, Any]:
    seen = NOW - timedelta(seconds=seen_ago)
    return {"priority": priority, "lifetime": lifetime, "lastseen": seen.isoformat()}


def test_alone_may_act() -> None:
    status = {"me": entry(10)}

    assert pause_reason(status, priority=10, identity="me", now=NOW) is None
    assert pause_reason({}, priority=10, identity="me", now=NOW) is None


def test_higher_priority_peer_pauses() -> None:
    status = {"me": entry(10), "peer-b": entry(20)}

    reason = pause_reason(status, priority=10, identity="me", now=NOW)

    assert reason == "peer peer-b has a higher priority than 10"
    assert pause_reason(status, priority=20, identity="peer-b", now=NOW) is None


def test_same_priority_pauses_both() -> None:
    status = {"me": entry(10), "peer-b": entry(10)}

    assert pause_reason(status, priority=10, identity="me", now=NOW) is not None
    assert pause_reason(status, priority=10, identity="peer-b", now=NOW) is not None


def test_expired_peer_is_ignored() -> None:
    status = {"me": entry(10), "peer-b": entry(20, seen_ago=61.0)}

    assert pause_reason(status, priority=10, identity="me", now=NOW) is None


def test_without_identity_counts_itself_once() -> None:
    assert pause_reason({"x": entry(10)}, priority=10, identity=None, now=NOW) is None
    both = {"x": entry(10), "y": entry(10)}
    assert pause_reason(both, priority=10, identity=None, now=NOW) is not None


def test_malformed_entries_are_skipped() -> None:
    status = {"me": entry(10), "bad": {"priority": 99}, "worse": "text"}

    assert pause_reason(status, priority=10, identity="me", now=NOW) is None


def test_kopf_timestamp_without_zone_is_utc() -> None:
    naive = (NOW - timedelta(seconds=5)).replace(tzinfo=None).isoformat()
    status = {"peer-b": {"priority": 20, "lifetime": 60, "lastseen": naive}}

    assert pause_reason(status, priority=10, identity="me", now=NOW) is not None
