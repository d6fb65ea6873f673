"""Tests of the token bucket that paces OVH calls.

The rates are high (50 calls per second) so that each wait lasts about 20 ms.
"""

import asyncio
import math
import time

import pytest

from ovh_nodepool_operator.clients.ratelimit import TokenBucket

RATE = 50.0
INTERVAL = 1 / RATE
# asyncio may wake a sleeper up to one clock tick early, and a busy machine wakes it late.
EARLY_SLACK = 0.003
LATE_SLACK = 0.05


async def acquire_many(bucket: TokenBucket, count: int) -> list[float]:
    return [await bucket.acquire() for _ in range(count)]


def test_burst_passes_without_waiting() -> None:
    bucket = TokenBucket(rate=RATE, burst=5)

    started = time.monotonic()
    delays = asyncio.run(acquire_many(bucket, 5))
    elapsed = time.monotonic() - started

    assert delays == [0.0] * 5
    assert elapsed < LATE_SLACK
    assert bucket.waited_seconds == 0.0


def test_call_after_burst_waits_one_interval() -> None:
    bucket = TokenBucket(rate=RATE, burst=3)
    asyncio.run(acquire_many(bucket, 3))

    started = time.monotonic()
    delay = asyncio.run(bucket.acquire())
    elapsed = time.monotonic() - started

    assert INTERVAL - EARLY_SLACK <= delay <= INTERVAL
    assert elapsed >= delay - EARLY_SLACK
    assert elapsed < INTERVAL + LATE_SLACK


def test_waits_add_up() -> None:
    bucket = TokenBucket(rate=RATE, burst=1)

    delays = asyncio.run(acquire_many(bucket, 4))

    assert delays[0] == 0.0
    assert math.isclose(bucket.waited_seconds, sum(delays))
    assert bucket.waited_seconds >= 3 * INTERVAL - 3 * EARLY_SLACK


def test_concurrent_callers_are_paced() -> None:
    bucket = TokenBucket(rate=RATE, burst=2)

    async def run_together() -> float:
        started = time.monotonic()
        await asyncio.gather(*(bucket.acquire() for _ in range(5)))
        return time.monotonic() - started

    elapsed = asyncio.run(run_together())

    # Two calls use the burst. The other three wait one interval each, one after the other.
    assert elapsed >= 3 * INTERVAL - 3 * EARLY_SLACK
    assert elapsed < 3 * INTERVAL + LATE_SLACK


def test_idle_bucket_refills_to_burst() -> None:
    bucket = TokenBucket(rate=RATE, burst=2)
    asyncio.run(acquire_many(bucket, 2))

    time.sleep(3 * INTERVAL)
    delays = asyncio.run(acquire_many(bucket, 3))

    assert delays[:2] == [0.0, 0.0]
    assert delays[2] > 0.0


@pytest.mark.parametrize(
    ("rate", "burst"),
    [(0.0, 1), (-1.0, 1), (RATE, 0), (RATE, -3)],
)
def test_invalid_arguments_raise(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=rate, burst=burst)
