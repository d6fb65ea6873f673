"""A token bucket shared by every OVH call of one credential."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """Allow `rate` calls per second on average and bursts of up to `burst` calls.

    Callers wait in arrival order. `waited_seconds` adds up the time spent waiting, for metrics.
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the rate limit needs a rate above 0 and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0

    async def acquire(self) -> float:
        """Take one token, waiting for it if needed; return the seconds waited."""
        async with self._lock:
            self._refill()
            shortfall = 1.0 - self._tokens
            delay = max(0.0, shortfall / self.rate)
            if delay > 0:
                await asyncio.sleep(delay)
                self._refill()
            self._tokens -= 1.0

        self.waited_seconds += delay
        return delay

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now
