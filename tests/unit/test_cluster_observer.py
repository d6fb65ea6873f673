"""Tests of the shared cluster listing: per-pool write marks and the age callers accept."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from ovh_nodepool_operator.clients.ovh_api import OvhApi
from ovh_nodepool_operator.handlers.runtime import ClusterObserver


class CountingApi:
    """Stands in for OvhApi's listing call only, and counts the listings."""

    identity = "application-key/consumer-key"

    def __init__(self) -> None:
        self.listings = 0

    async def list_pools(self, project_id: str, kube_id: str) -> list[Any]:
        self.listings += 1
        return []


def listings_after(steps: list[tuple[str, str, float]]) -> int:
    """Run ("read" or "write", pool, max_age) steps and return how many listings were made."""

    async def run() -> int:
        api = CountingApi()
        observer = ClusterObserver()
        client = cast(OvhApi, api)
        for action, pool, max_age in steps:
            if action == "write":
                await asyncio.sleep(0.01)  # The write comes after the listing in time.
                observer.mark_written(client, "project", "kube", pool)
            else:
                await observer.snapshot(client, "project", "kube", pool_name=pool, max_age=max_age)
        return api.listings

    return asyncio.run(run())


def test_fresh_listing_is_shared() -> None:
    assert listings_after([("read", "a", 60.0), ("read", "b", 60.0)]) == 1


def test_write_to_other_pool_keeps_listing() -> None:
    steps = [("read", "a", 60.0), ("write", "a", 0.0), ("read", "b", 60.0)]

    assert listings_after(steps) == 1


def test_write_to_own_pool_needs_new_listing() -> None:
    steps = [("read", "a", 60.0), ("write", "a", 0.0), ("read", "a", 60.0)]

    assert listings_after(steps) == 2


def test_zero_age_always_lists() -> None:
    assert listings_after([("read", "a", 60.0), ("read", "a", 0.0)]) == 2
