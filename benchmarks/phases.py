"""The measured phases of one run: convergence, reaction, steady state and restart."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from benchmarks.environment import (
    ADMIN_USER,
    GROUP,
    OPERATOR_USER,
    PLURAL,
    VERSION,
    OperatorProcess,
    Topology,
)
from benchmarks.probes import (
    AuditLog,
    PhaseMeter,
    ResourceSampler,
    count_ovh_requests,
    count_requests,
    cpu_seconds,
    memory_kib,
    percentile,
)
from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorControl

POLL_SECONDS = 0.05
RESUMED_LINE = "Resuming is processed"


@dataclass
class RateLimit:
    """The operator's token bucket of each credential."""

    per_second: float
    burst: int


@dataclass
class Bench:
    """Everything a phase works with during the run of one object count."""

    objects: int
    topology: Topology
    plane: ControlPlane
    simulator: SimulatorControl
    operator: OperatorProcess
    audit: AuditLog
    workdir: Path
    observe_interval: float
    busy_interval: float
    tick: float
    rate_limit: RateLimit
    custom: Any = None  # kubernetes CustomObjectsApi with the admin kubeconfig
    sampler: ResourceSampler | None = None
    meter: PhaseMeter | None = None
    profile_phase: str | None = None
    pool_ids: dict[str, str] = field(default_factory=dict)

    def connect(self) -> None:
        """Open the admin client of the benchmark itself."""
        client = kubernetes.config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.plane.admin_kubeconfig)
        )
        self.custom = kubernetes.client.CustomObjectsApi(client)

    def watch_operator(self) -> PhaseMeter:
        """Start sampling the running operator's memory; return the meter of its phases."""
        if self.sampler is not None:
            self.sampler.close()
        self.sampler = ResourceSampler(self.operator.pid)
        self.meter = PhaseMeter(self.sampler, self.profile_phase, self.workdir)
        return self.meter

    def list_objects(self) -> list[dict[str, Any]]:
        """Return every OVHNodePool."""
        result = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        items: list[dict[str, Any]] = result["items"]
        return items

    def patch_desired(self, namespace: str, name: str, desired: int) -> None:
        """Change spec.desiredNodes of one object, as a user would, with a merge patch."""
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, {"spec": {"desiredNodes": desired}}
        )

    def wait_all_ready(self, timeout: float, interval: float = 1.0) -> dict[str, float]:
        """Wait until every object is Ready; return the Unix time each was first seen Ready."""
        first_ready: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while True:
            now = time.time()
            for item in self.list_objects():
                key = f"{item['metadata']['namespace']}/{item['metadata']['name']}"
                if key not in first_ready and is_ready(item):
                    first_ready[key] = now
            if len(first_ready) >= self.objects:
                return first_ready
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {len(first_ready)} of {self.objects} objects were Ready after "
                    f"{timeout:.0f} s; see the operator log {self.operator.log_path}"
                )
            time.sleep(interval)


def is_ready(item: dict[str, Any]) -> bool:
    """Tell whether an object is Ready for its current generation."""
    status = item.get("status") or {}
    if status.get("observedGeneration") != item["metadata"].get("generation"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])
    )


def convergence_floor(bench: Bench) -> dict[str, float]:
    """Return the shortest convergence the rate limit allows, and the calls it counts.

    Each credential must send one POST per object and at least three listings per cluster: one
    before the POSTs, one that shows the new pools INSTALLING and one that shows them READY.
    The busiest credential sets the floor: (calls - burst) / rate seconds.
    """
    per_credential: dict[int, tuple[int, set[int]]] = {}
    for index in range(bench.objects):
        cluster = bench.topology.cluster_of(index)
        count, clusters = per_credential.get(cluster.credential.index, (0, set()))
        clusters.add(cluster.index)
        per_credential[cluster.credential.index] = (count + 1, clusters)

    limit = bench.rate_limit
    floors = []
    total_calls = 0
    for count, clusters in per_credential.values():
        calls = count + 3 * len(clusters)
        total_calls += calls
        floors.append(max(0.0, calls - limit.burst) / limit.per_second)
    # A new pool reads READY only in the listing after the one that shows it INSTALLING. The
    # operator lists a busy cluster once per busy interval, and its first check comes one tick in.
    waits = bench.tick + bench.busy_interval
    return {
        "floor_seconds": round(max(floors), 1),
        "floor_calls": total_calls,
        "interval_floor_seconds": waits,
    }


def measure_convergence(bench: Bench) -> dict[str, Any]:
    """Create every object with one `kubectl create` and time until all are Ready."""
    manifests = [bench.topology.object_manifest(i) for i in range(bench.objects)]
    path = bench.workdir / "objects.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    floor = convergence_floor(bench)
    timeout = 600.0 + 3 * floor["floor_seconds"]

    assert bench.meter is not None
    bench.meter.begin("convergence")
    started = time.time()
    bench.plane.kubectl("create", "-f", str(path), timeout=600)
    created = time.time()
    first_ready = bench.wait_all_ready(timeout)
    finished = time.time()
    process = bench.meter.end()

    ready_after = [moment - started for moment in first_ready.values()]
    for item in bench.list_objects():
        bench.pool_ids[item["metadata"]["name"]] = str(item["status"]["nodePoolId"])

    ovh = count_ovh_requests(window(bench.simulator.requests(since=started), started, finished))
    kube = count_requests(bench.audit.between(started, finished, OPERATOR_USER))
    return {
        "create_seconds": round(created - started, 2),
        "all_ready_seconds": round(finished - started, 2),
        "median_ready_seconds": round(percentile(ready_after, 0.5), 2),
        **floor,
        "ovh_calls": sum(ovh.values()),
        "ovh_calls_by_route": dict(sorted(ovh.items())),
        "kube_requests": sum(kube.values()),
        "kube_requests_by_verb": dict(sorted(kube.items())),
        "process": process,
    }


def window(entries: Sequence[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Return the simulator log entries with a time in [start, end)."""
    return [entry for entry in entries if start <= entry["time"] < end]


@dataclass(frozen=True)
class Change:
    """One spec change made by the benchmark: the object, its pool and when it was sent."""

    namespace: str
    name: str
    pool_id: str
    sent_at: float


def measure_reaction(bench: Bench, sample: int, gap: float, rest: float) -> dict[str, Any]:
    """Change desiredNodes of `sample` objects one at a time, then all at once.

    Reaction time is the arrival of the OVH PUT at the simulator minus the stage time of the
    PATCH at the API server (audit event ResponseComplete). Both clocks are this machine's.
    The phase starts after `rest` seconds without changes, so that it measures the operator
    and not the token buckets that the creations before it emptied.
    """
    time.sleep(rest)
    chosen = [
        bench.topology.object_manifest(i)["metadata"] for i in range(min(sample, bench.objects))
    ]
    assert bench.meter is not None
    bench.meter.begin("reaction")

    sequential: list[Change] = []
    for meta in chosen:
        change = _send_change(bench, meta["namespace"], meta["name"], 2)
        _wait_for_puts(bench, [change], timeout=120.0)
        sequential.append(change)
        time.sleep(gap)
    bench.wait_all_ready(timeout=300.0)

    burst = [_send_change(bench, meta["namespace"], meta["name"], 1) for meta in chosen]
    _wait_for_puts(bench, burst, timeout=300.0)
    process = bench.meter.end()
    bench.wait_all_ready(timeout=300.0)

    return {
        "sample": len(chosen),
        "gap_seconds": gap,
        "sequential": _reaction_stats(bench, sequential),
        "burst": _reaction_stats(bench, burst),
        "process": process,
    }


def _send_change(bench: Bench, namespace: str, name: str, desired: int) -> Change:
    sent_at = time.time()
    bench.patch_desired(namespace, name, desired)
    return Change(namespace, name, bench.pool_ids[name], sent_at)


def _put_times(bench: Bench, since: float) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for entry in bench.simulator.requests(since=since):
        if entry["method"] == "PUT":
            pool_id = entry["path"].rstrip("/").rsplit("/", 1)[-1]
            times.setdefault(pool_id, []).append(entry["time"])
    return times


def _wait_for_puts(bench: Bench, changes: Sequence[Change], timeout: float) -> None:
    since = min(change.sent_at for change in changes)
    deadline = time.monotonic() + timeout
    while True:
        puts = _put_times(bench, since)
        missing = [c for c in changes if not any(t >= c.sent_at for t in puts.get(c.pool_id, []))]
        if not missing:
            return
        if time.monotonic() > deadline:
            names = ", ".join(c.name for c in missing[:5])
            raise TimeoutError(
                f"no OVH PUT arrived within {timeout:.0f} s for {len(missing)} changed "
                f"object(s), e.g. {names}; see the operator log {bench.operator.log_path}"
            )
        time.sleep(POLL_SECONDS)


def _reaction_stats(bench: Bench, changes: Sequence[Change]) -> dict[str, Any]:
    since = min(change.sent_at for change in changes)
    puts = _put_times(bench, since)
    patches = [
        event
        for event in bench.audit.between(since - 1.0, time.time() + 1.0, ADMIN_USER)
        if event.verb == "patch" and event.resource == PLURAL and not event.subresource
    ]

    samples = []
    for change in changes:
        patched = min(
            event.time
            for event in patches
            if event.namespace == change.namespace
            and event.name == change.name
            and event.time >= change.sent_at
        )
        put = min(t for t in puts[change.pool_id] if t >= change.sent_at)
        samples.append(put - patched)
    return summarize(samples)


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """Return p50, p99 and max of samples in seconds, with the samples in milliseconds."""
    return {
        "count": len(samples),
        "p50_seconds": round(percentile(samples, 0.5), 3),
        "p99_seconds": round(percentile(samples, 0.99), 3),
        "max_seconds": round(max(samples), 3),
        "samples_ms": [round(1000 * value) for value in samples],
    }


def measure_steady_state(bench: Bench, settle: float, duration: float) -> dict[str, Any]:
    """Count OVH calls and the operator's API requests while nothing changes."""
    bench.wait_all_ready(timeout=300.0)
    time.sleep(settle)

    assert bench.meter is not None
    bench.simulator.clear_requests()
    bench.meter.begin("steady")
    started = time.time()
    time.sleep(duration)
    finished = time.time()
    process = bench.meter.end()

    per_hour = 3600.0 / (finished - started)
    ovh = count_ovh_requests(window(bench.simulator.requests(since=started), started, finished))
    kube = count_requests(bench.audit.between(started, finished, OPERATOR_USER))
    clusters = len({bench.topology.cluster_of(i).index for i in range(bench.objects)})
    kube_total = sum(kube.values())
    return {
        "window_seconds": round(finished - started, 1),
        "ovh_calls": sum(ovh.values()),
        "ovh_calls_by_route": dict(sorted(ovh.items())),
        "ovh_calls_per_hour": round(sum(ovh.values()) * per_hour, 1),
        "clusters_in_use": clusters,
        "floor_per_hour": round(clusters * 3600.0 / bench.observe_interval, 1),
        "per_object_polling_per_hour": round(bench.objects * 3600.0 / bench.observe_interval, 1),
        "kube_requests": kube_total,
        "kube_requests_by_verb": dict(sorted(kube.items())),
        "kube_requests_per_object_per_hour": round(kube_total * per_hour / bench.objects, 2),
        "process": process,
    }


def measure_restart(bench: Bench, quiet_seconds: float) -> dict[str, Any]:
    """Stop the operator with SIGTERM, start it again and count the calls of the resume."""
    assert bench.sampler is not None
    first_peak_mib = memory_kib(bench.operator.pid, "VmHWM") / 1024
    first_cpu = cpu_seconds(bench.operator.pid)
    bench.sampler.close()
    shutdown = bench.operator.stop()
    bench.simulator.clear_requests()

    started = time.time()
    bench.operator.start()
    meter = bench.watch_operator()
    meter.begin("restart")
    resumed = wait_for_log_lines(bench, RESUMED_LINE, bench.objects, timeout=900.0)
    all_resumed = time.time()
    time.sleep(quiet_seconds)
    finished = time.time()
    process = meter.end()

    entries = window(bench.simulator.requests(since=started), started, finished)
    ovh = count_ovh_requests(entries)
    authenticated = sum(n for key, n in ovh.items() if key != "GET /auth/time")
    kube = count_requests(bench.audit.between(started, finished, OPERATOR_USER))
    clusters = len({bench.topology.cluster_of(i).index for i in range(bench.objects)})
    return {
        "shutdown_seconds": round(shutdown, 2),
        "resumed_objects": resumed,
        "all_resumed_seconds": round(all_resumed - started, 2),
        "counted_seconds": round(finished - started, 2),
        "ovh_calls": sum(ovh.values()),
        "ovh_calls_authenticated": authenticated,
        "ovh_calls_by_route": dict(sorted(ovh.items())),
        "target_calls": clusters,
        "kube_requests": sum(kube.values()),
        "kube_requests_by_verb": dict(sorted(kube.items())),
        "first_process_peak_rss_mib": round(first_peak_mib, 1),
        "first_process_cpu_seconds": round(first_cpu, 2),
        "process": process,
    }


def wait_for_log_lines(bench: Bench, text: str, count: int, timeout: float) -> int:
    """Wait until the operator's current run has logged `text` `count` times; return the count."""
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = bench.operator.new_log().count(text)
        if found >= count:
            return found
        time.sleep(0.2)
    raise TimeoutError(
        f"the operator logged {found} of {count} {text!r} lines within {timeout:.0f} s; "
        f"see {bench.operator.log_path}"
    )
