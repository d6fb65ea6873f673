"""Tests of the ticker: requests and ticks, bounded concurrency, halts, and the gate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ovh_nodepool_operator.handlers.state import ObjectState
from ovh_nodepool_operator.handlers.ticker import Job, Ticker, Tracked, compact_body, tick_job


def body(uid: str, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ovh.nodepool-operator.io/v1alpha1",
        "kind": "OVHNodePool",
        "metadata": {"name": uid, "namespace": "team", "uid": uid, **metadata},
        "spec": {"desiredNodes": 1},
        "status": {},
    }


class Gate:
    """A gate that a test opens and closes."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def pause_reason(self) -> str | None:
        return self.reason


class Recorder:
    """A run function that records its calls and can hold them until released."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Job]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.running = 0
        self.max_running = 0
        self.cancelled: list[str] = []

    async def __call__(self, tracked: Tracked, job: Job) -> None:
        uid = tracked.body["metadata"]["uid"]
        self.calls.append((uid, job))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.append(uid)
            raise
        finally:
            self.running -= 1


def make_ticker(recorder: Recorder, gate: Gate, *, slots: int = 2, tick: float = 3600.0) -> Ticker:
    return Ticker(
        run=recorder,
        tick_job=lambda state: tick_job(state, busy_seconds=10.0, observe_seconds=60.0),
        gate=gate,
        tick_seconds=tick,
        slots=slots,
    )


def run_with(test: Callable[[Ticker, Recorder, Gate], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        recorder, gate = Recorder(), Gate()
        ticker = make_ticker(recorder, gate, **options)
        ticker.start()
        try:
            await test(ticker, recorder, gate)
        finally:
            await ticker.stop()

    asyncio.run(main())


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_request_runs_forced_reconcile() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        ticker.track("a", ObjectState(), body("a"))
        ticker.request("a", 60.0)
        ticker.request("a", 2.0)
        await settle()

        [(uid, job)] = recorder.calls
        assert uid == "a"
        assert job.force
        assert 2.0 <= job.max_age() < 3.0

    run_with(test)


def test_queued_request_keeps_listing_age() -> None:
    job = Job(listed_after=100.0, force=True)

    assert job.max_age(now=102.0) == 2.0
    assert job.max_age(now=160.0) == 60.0
    assert job.max_age(now=99.0) == 0.0


def test_request_of_untracked_dropped() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        ticker.request("unknown", 2.0)
        ticker.track("gone", ObjectState(), body("gone", deletionTimestamp="2026-12-05T00:00:00Z"))
        ticker.request("gone", 2.0)
        await settle()

        assert recorder.calls == []

    run_with(test)


def test_slots_bound_concurrent_reconciles() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        recorder.release.clear()
        for uid in "abcde":
            ticker.track(uid, ObjectState(), body(uid))
            ticker.request(uid, 2.0)
        await settle()

        assert recorder.running == 2
        assert ticker.pending() == 3
        recorder.release.set()
        await settle()
        assert sorted(uid for uid, _ in recorder.calls) == list("abcde")
        assert recorder.max_running == 2

    run_with(test, slots=2)


def test_ticks_run_beside_requests() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        recorder.release.clear()
        for uid in "abc":
            ticker.track(uid, ObjectState(busy=False), body(uid))
        ticker.request("a", 2.0)
        ticker.request("b", 2.0)
        await asyncio.sleep(0.08)  # One tick queues c, whose tick has a slot of its own.

        assert [uid for uid, _ in recorder.calls] == ["a", "c"]
        assert not recorder.calls[1][1].force
        assert 60.0 <= recorder.calls[1][1].max_age() < 61.0

    run_with(test, slots=1, tick=0.05)


def test_request_replaces_queued_tick() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        recorder.release.clear()
        for uid in "ab":
            ticker.track(uid, ObjectState(busy=False), body(uid))
        await asyncio.sleep(0.08)  # One tick queues a and b, and a takes the only tick slot.
        ticker.request("b", 2.0)
        recorder.release.set()
        await settle()

        jobs = [(uid, job.force) for uid, job in recorder.calls]
        assert jobs[:2] == [("a", False), ("b", True)]

    run_with(test, slots=1, tick=0.05)


def test_halt_cancels_running_reconcile() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        recorder.release.clear()
        ticker.track("a", ObjectState(), body("a"))
        ticker.request("a", 2.0)
        await settle()

        ticker.track("a", ObjectState(), body("a", deletionTimestamp="2026-12-05T00:00:00Z"))
        await settle()

        assert recorder.cancelled == ["a"]
        ticker.request("a", 2.0)
        await settle()
        assert len(recorder.calls) == 1

    run_with(test)


def test_closed_gate_holds_requests() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        recorder.release.clear()
        ticker.track("a", ObjectState(), body("a"))
        ticker.track("b", ObjectState(), body("b"))
        ticker.request("a", 2.0)
        await settle()

        gate.reason = "peer p1 has a higher priority than 5"
        ticker.request("b", 2.0)
        await asyncio.sleep(0.1)  # The tick loop notices the closed gate.
        assert recorder.cancelled == ["a"]
        assert [uid for uid, _ in recorder.calls] == ["a"]

        gate.reason = None
        recorder.release.set()
        await asyncio.sleep(1.2)  # The dispatcher checks the gate again within a second.
        assert recorder.calls[1][0] == "b"
        assert recorder.calls[1][1].force

    run_with(test, tick=0.05)


def test_deleted_object_forgotten() -> None:
    async def test(ticker: Ticker, recorder: Recorder, gate: Gate) -> None:
        state = ObjectState()
        ticker.track("a", state, body("a"))
        state.deleted = True
        ticker.request("a", 2.0)
        await settle()
        ticker.request("a", 2.0)
        await settle()

        assert len(recorder.calls) == 1

    run_with(test)


def test_tick_job_waits_for_retry_then_forces() -> None:
    state = ObjectState(busy=True, retry_at=100.0)

    assert tick_job(state, busy_seconds=10.0, observe_seconds=60.0, now=99.0) is None
    retry = tick_job(state, busy_seconds=10.0, observe_seconds=60.0, now=101.0)
    assert retry == Job(listed_after=91.0, force=True)
    state.retry_at, state.busy = 0.0, False
    tick = tick_job(state, busy_seconds=10.0, observe_seconds=60.0, now=200.0)
    assert tick == Job(listed_after=140.0, force=False)


def test_compact_body_drops_large_metadata() -> None:
    full = body(
        "a",
        generation=3,
        managedFields=[{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        annotations={
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "kopf.ovh.nodepool-operator.io/last-handled-configuration": "{}",
            "ovh.nodepool-operator.io/paused": "true",
        },
    )

    compact = compact_body(full)

    assert compact["metadata"] == {
        "name": "a",
        "namespace": "team",
        "uid": "a",
        "generation": 3,
        "annotations": {"ovh.nodepool-operator.io/paused": "true"},
    }
    assert compact["spec"] is full["spec"]
