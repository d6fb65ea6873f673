"""One task that follows every OVHNodePool at OVH, in place of a Kopf daemon per object.

A Kopf daemon costs each object a task, its stack and a retained copy of the whole body. The
ticker keeps a compact body per object and runs a reconcile only while one is due. Handlers'
requests (a new or changed spec, a resume) and the ticks each run at most `slots` at once, and
nothing starts while the gate reports that another operator instance has the right to act.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ovh_nodepool_operator.handlers.state import ObjectState

LOGGER = logging.getLogger(__name__)
# How often a paused ticker checks the gate again, because a peer's keep-alive can expire.
GATE_RECHECK_SECONDS = 1.0
# Metadata that the reconciles read. The rest, managedFields above all, is dropped.
KEPT_METADATA = ("name", "namespace", "uid", "generation", "creationTimestamp")
# Annotations that contain whole copies of the spec, written by kubectl and by Kopf.
DROPPED_ANNOTATION_PREFIXES = ("kubectl.kubernetes.io/", "kopf.")


class Gate(Protocol):
    """Source of the verdict whether this operator instance may act now."""

    def pause_reason(self) -> str | None:
        """Return why the instance must not act, or None when it may."""


class OpenGate:
    """The gate of a standalone operator: always open."""

    def pause_reason(self) -> str | None:
        """Return None: a standalone operator always acts."""
        return None


@dataclass(frozen=True)
class Job:
    """One reconcile to run: the oldest listing time it accepts, and whether to force it.

    `listed_after` is a time.monotonic() reading. A request keeps the listing age it asked for
    at the time it was made, so requests that wait in the queue share one listing.
    """

    listed_after: float
    force: bool

    def max_age(self, now: float | None = None) -> float:
        """Return the oldest listing age, in seconds, that this job accepts now."""
        return max(0.0, (time.monotonic() if now is None else now) - self.listed_after)


@dataclass
class Tracked:
    """An object that the ticker follows: its state and a compact copy of its body."""

    state: ObjectState
    body: dict[str, Any]
    deleting: bool = False


@dataclass
class _Lane:
    """Queued jobs of one kind, with the slots that bound how many run at once."""

    jobs: dict[str, Job]
    slots: asyncio.Semaphore
    ready: asyncio.Event


# Runs one reconcile of an object with the job that the ticker supplies.
RunFn = Callable[[Tracked, Job], Awaitable[None]]
# Returns the job of a periodic tick, or None when the object needs none now.
TickFn = Callable[[ObjectState], Job | None]


def _lane(slots: int) -> _Lane:
    return _Lane(jobs={}, slots=asyncio.Semaphore(slots), ready=asyncio.Event())


@dataclass
class Ticker:
    """Loop that ticks every tracked object and runs handlers' requests, a few at once.

    Requests and ticks have their own slots, so a queue of creations never delays the tick that
    reports an earlier pool as ready, and ticks never delay a request.
    """

    run: RunFn
    tick_job: TickFn
    gate: Gate
    tick_seconds: float
    slots: int
    _objects: dict[str, Tracked] = field(default_factory=dict)
    _running: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _paused_for: str | None = None

    def __post_init__(self) -> None:
        self._requests = _lane(self.slots)
        self._ticks = _lane(self.slots)

    def start(self) -> None:
        """Start the tick loop and the dispatchers, once.

        Kopf's per-object context reaches the reconciles through these tasks, so the first
        handler call starts them, not the startup handler: Kopf posts Events from there.
        """
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._tick_loop(), name="ovhnp-ticks"),
                asyncio.create_task(self._dispatch(self._requests), name="ovhnp-requests"),
                asyncio.create_task(self._dispatch(self._ticks), name="ovhnp-tick-jobs"),
            ]

    async def stop(self) -> None:
        """Cancel the loops and every running reconcile, and wait for them to end."""
        tasks = [*self._tasks, *self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []

    def track(self, uid: str, state: ObjectState, body: Mapping[str, Any]) -> None:
        """Follow an object or refresh its copy. An object marked for deletion is halted."""
        tracked = self._objects.get(uid)
        if tracked is None:
            tracked = self._objects[uid] = Tracked(state=state, body={})
        tracked.state = state
        tracked.body = compact_body(body)
        if tracked.body["metadata"].get("deletionTimestamp"):
            self.halt(uid)

    def forget(self, uid: str) -> None:
        """Stop following a deleted object."""
        self.halt(uid)
        self._objects.pop(uid, None)

    def halt(self, uid: str) -> None:
        """Stop reconciling an object: drop its pending work and cancel its running reconcile.

        A cancelled create is safe: the intent recorded before the POST lets the deletion
        find a pool that the POST created after all.
        """
        tracked = self._objects.get(uid)
        if tracked is not None:
            tracked.deleting = True
        self._requests.jobs.pop(uid, None)
        self._ticks.jobs.pop(uid, None)
        running = self._running.get(uid)
        if running is not None:
            running.cancel()

    def request(self, uid: str, max_age: float) -> None:
        """Queue a forced reconcile with a listing at most `max_age` seconds older than now.

        Of two pending requests, the one that needs the newer listing wins.
        """
        tracked = self._objects.get(uid)
        if tracked is None or tracked.deleting:
            return
        listed_after = time.monotonic() - max_age
        pending = self._requests.jobs.get(uid)
        if pending is not None:
            listed_after = max(listed_after, pending.listed_after)
        self._requests.jobs[uid] = Job(listed_after=listed_after, force=True)
        self._ticks.jobs.pop(uid, None)
        self._requests.ready.set()

    def pending(self) -> int:
        """Return how many requests and ticks wait for a slot."""
        return len(self._requests.jobs) + len(self._ticks.jobs)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                self._tick()
            except Exception:
                # A bug here must not end the ticks of every object: log it, tick again.
                LOGGER.exception("Tick of the tracked objects failed unexpectedly.")

    def _tick(self) -> None:
        if self._check_gate() is not None:
            return
        for uid, tracked in self._objects.items():
            if tracked.deleting or uid in self._running:
                continue
            if uid in self._requests.jobs or uid in self._ticks.jobs:
                continue
            job = self.tick_job(tracked.state)
            if job is not None:
                self._ticks.jobs[uid] = job
        if self._ticks.jobs:
            self._ticks.ready.set()

    async def _dispatch(self, lane: _Lane) -> None:
        while True:
            await lane.slots.acquire()
            uid, job = await self._next(lane)
            task = asyncio.create_task(self._run_one(uid, job), name=f"ovhnp-reconcile-{uid}")
            self._running[uid] = task
            task.add_done_callback(functools.partial(self._finished, uid, lane))

    def _finished(self, uid: str, lane: _Lane, _task: asyncio.Task[None]) -> None:
        self._running.pop(uid, None)
        lane.slots.release()
        if uid in self._requests.jobs:
            self._requests.ready.set()  # A request arrived while this object's reconcile ran.

    async def _run_one(self, uid: str, job: Job) -> None:
        tracked = self._objects.get(uid)
        if tracked is None or tracked.deleting:
            return
        try:
            await self.run(tracked, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The reconciler reports its own errors, so this is a bug: keep the trace.
            LOGGER.exception(f"Reconcile of object {uid} failed unexpectedly.")
        if tracked.state.deleted:
            self._running.pop(uid, None)  # This task ends now; forgetting must not cancel it.
            self.forget(uid)

    async def _next(self, lane: _Lane) -> tuple[str, Job]:
        while True:
            paused = self._check_gate() is not None
            if not paused:
                for uid in lane.jobs:
                    if uid not in self._running:
                        return uid, lane.jobs.pop(uid)
                lane.ready.clear()

            # An open gate needs no polling: new work sets `ready`, which checks the gate again.
            timeout = GATE_RECHECK_SECONDS if paused else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lane.ready.wait(), timeout=timeout)

    def _check_gate(self) -> str | None:
        reason = self.gate.pause_reason()
        if reason is not None and self._paused_for is None:
            LOGGER.info(f"Paused reconciles of {len(self._objects)} objects: {reason}.")
            for task in self._running.values():
                task.cancel()
        elif reason is None and self._paused_for is not None:
            LOGGER.info(f"Resumed reconciles of {len(self._objects)} objects.")
        self._paused_for = reason
        return reason


def compact_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """Return the parts of an object's body that reconciles read, without the large rest."""
    metadata = body.get("metadata") or {}
    compact: dict[str, Any] = {key: metadata[key] for key in KEPT_METADATA if key in metadata}
    annotations = {
        key: value
        for key, value in (metadata.get("annotations") or {}).items()
        if not key.startswith(DROPPED_ANNOTATION_PREFIXES)
    }
    if annotations:
        compact["annotations"] = annotations
    if metadata.get("deletionTimestamp"):
        compact["deletionTimestamp"] = metadata["deletionTimestamp"]
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": compact,
        "spec": body.get("spec") or {},
        "status": body.get("status") or {},
    }


def tick_job(
    state: ObjectState, *, busy_seconds: float, observe_seconds: float, now: float | None = None
) -> Job | None:
    """Return the job of a tick: none while a retry waits, forced once the retry is due."""
    if state.lock.locked():
        return None
    now = time.monotonic() if now is None else now
    retrying = state.retry_at > 0.0
    if retrying and now < state.retry_at:
        return None
    max_age = busy_seconds if state.busy else observe_seconds
    return Job(listed_after=now - max_age, force=retrying)
