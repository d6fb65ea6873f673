"""Tests of the per-object state: requests from handlers and the daemon's rest between ticks."""

from __future__ import annotations

import asyncio
import time

from ovh_nodepool_operator.handlers.state import ObjectState


def test_request_keeps_freshest_age() -> None:
    state = ObjectState()

    state.request(60.0)
    state.request(2.0)
    state.request(30.0)

    assert state.take_request() == 2.0
    assert state.take_request() is None
    assert not state.wake.is_set()


def rest_seconds(
    state: ObjectState, *, request_after: float | None, stop_after: float | None
) -> float:
    async def run() -> float:
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[None] = loop.create_future()
        if request_after is not None:
            loop.call_later(request_after, state.request, 2.0)
        if stop_after is not None:
            loop.call_later(stop_after, stop.set_result, None)
        started = time.monotonic()
        await state.rest(stop, 5.0)
        elapsed = time.monotonic() - started
        state.close()
        stop.cancel()
        return elapsed

    return asyncio.run(run())


def test_rest_ends_on_request() -> None:
    state = ObjectState()

    elapsed = rest_seconds(state, request_after=0.05, stop_after=None)

    assert elapsed < 1.0
    assert state.take_request() == 2.0


def test_rest_ends_on_stop() -> None:
    assert rest_seconds(ObjectState(), request_after=None, stop_after=0.05) < 1.0


def test_rest_skipped_when_requested() -> None:
    state = ObjectState()
    state.request(2.0)

    assert rest_seconds(state, request_after=None, stop_after=None) < 0.5


def test_rest_times_out() -> None:
    async def run() -> float:
        state = ObjectState()
        stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        started = time.monotonic()
        await state.rest(stop, 0.2)
        state.close()
        stop.cancel()
        return time.monotonic() - started

    assert 0.2 <= asyncio.run(run()) < 1.0
