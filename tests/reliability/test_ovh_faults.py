"""OVH faults on every route the operator calls: the operator backs off, then converges.

Each (route, kind) pair is a lane with a simulator of its own, so that a fault on one lane's
route never touches another lane. The six lanes of one fault kind run at the same time, against
the suite's single operator, and each parametrized test then checks one lane's record.

A lane brings its object to the point where the route is needed and adds the fault with no
count limit. It then performs the action that needs the route (create, scale or delete), keeps
the fault for a window of a few seconds, clears it, and waits for the object to converge.
"""

from __future__ import annotations

import concurrent.futures
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import E2E_OAUTH2_CREDENTIALS, FAST_SETTINGS, OperatorProcess, new_cluster
from tests.reliability.harness import (
    POOL_ROUTE,
    POOLS_ROUTE,
    TOKEN_ROUTE,
    Kube,
    Scenario,
    condition,
    find_secrets,
    is_stalled,
    oauth2_secret,
    release_all,
    reliability_seed,
    secret_scan_sources,
    signed_secret,
)
from tests.reliability.invariants import Released, violations, wait_settled

pytestmark = pytest.mark.e2e

NAME = "fp"
REQUEST_TIMEOUT = float(FAST_SETTINGS["OVHNP_REQUEST_TIMEOUT_SECONDS"])
BUSY_INTERVAL = float(FAST_SETTINGS["OVHNP_BUSY_INTERVAL_SECONDS"])
BACKOFF_MAX = float(FAST_SETTINGS["OVHNP_BACKOFF_MAX_SECONDS"])
# Retry-After equals OVHNP_BACKOFF_MAX_SECONDS of the tests (2 s), because the operator caps
# every wait, Retry-After included, at that setting.
RETRY_AFTER = 2
# The fastest pace the operator should ever retry at under the test settings: once per busy
# interval (0.5 s). A tight loop, or a retry per Kopf event, goes far above it.
MAX_RATE = 1.0 / BUSY_INTERVAL


@dataclass(frozen=True)
class Route:
    """A route the operator calls, and the action on an object that makes it call it."""

    id: str
    method: str
    route: str
    action: str  # "create", "scale" or "delete"
    oauth2: bool = False


@dataclass(frozen=True)
class Kind:
    """A fault kind, its options and how long the fault lasts."""

    id: str
    kind: str
    window: float
    options: dict[str, Any] = field(default_factory=dict)


ROUTES = [
    Route("list", "GET", POOLS_ROUTE, "create"),
    Route("get", "GET", POOL_ROUTE, "delete"),
    Route("create", "POST", POOLS_ROUTE, "create"),
    Route("update", "PUT", POOL_ROUTE, "scale"),
    Route("delete", "DELETE", POOL_ROUTE, "delete"),
    Route("oauth2-token", "POST", TOKEN_ROUTE, "create", oauth2=True),
]
KINDS = [
    Kind("status-503", "status", 5, {"status": 503}),
    Kind("rate-limit-429", "rate_limit", 6, {"retry_after": RETRY_AFTER}),
    Kind("timeout", "timeout", 13, {"seconds": 12}),
    Kind("drop", "drop", 5),
    Kind("latency-2s", "latency", 5, {"seconds": 2}),
    Kind("malformed", "malformed", 5),
]


@dataclass
class Lanes:
    """The lane simulators and the records of the batches run so far, one per fault kind."""

    kube: Kube
    operator: OperatorProcess
    simulators: dict[str, SimulatorServer]
    metrics_port: int
    outcomes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def lanes(kube: Kube, operator: OperatorProcess, metrics_port: int) -> Iterator[Lanes]:
    """Start one simulator per route; batches of lanes run on them lazily."""
    simulators = {route.id: SimulatorServer(seed=reliability_seed()).start() for route in ROUTES}
    yield Lanes(kube, operator, simulators, metrics_port)
    for server in simulators.values():
        server.stop()


def outcome_of(lanes: Lanes, route: Route, kind: Kind) -> dict[str, Any]:
    """Return a lane's record, running the batch of its fault kind first if needed."""
    if (route.id, kind.id) not in lanes.outcomes:
        if lanes.operator.process is None or lanes.operator.process.poll() is not None:
            lanes.operator.start()
        with concurrent.futures.ThreadPoolExecutor(len(ROUTES)) as pool:
            futures = {r.id: pool.submit(run_lane_safely, lanes, r, kind) for r in ROUTES}
            for route_id, future in futures.items():
                lanes.outcomes[(route_id, kind.id)] = future.result()
    return lanes.outcomes[(route.id, kind.id)]


def run_lane_safely(lanes: Lanes, route: Route, kind: Kind) -> dict[str, Any]:
    """Run a lane; an exception becomes part of its record instead of stopping the batch."""
    record: dict[str, Any] = {}
    namespace = f"rel-fault-{uuid.uuid4().hex[:8]}"
    sim = lanes.simulators[route.id]
    try:
        run_lane(lanes, route, kind=kind, sim=sim, namespace=namespace, record=record)
    except Exception:
        record["error"] = traceback.format_exc(limit=4)
    finally:
        sim.control.clear_faults()
    record["cleanupForced"] = release_all(lanes.kube, [namespace])
    sources = secret_scan_sources(
        lanes.kube, [namespace], [lanes.operator.log_path], lanes.metrics_port
    )
    record["secretHits"] = find_secrets(sources)
    return record


def run_lane(
    lanes: Lanes,
    route: Route,
    *,
    kind: Kind,
    sim: SimulatorServer,
    namespace: str,
    record: dict[str, Any],
) -> None:
    kube = lanes.kube
    kube.create_namespace(namespace)
    project_id, kube_id = new_cluster(sim)
    scn = Scenario(kube, sim, lanes.operator, namespace, project_id, kube_id, record)
    if route.oauth2:
        client = {**E2E_OAUTH2_CREDENTIALS, "clientId": f"e2e-oauth2-{uuid.uuid4().hex[:8]}"}
        sim.control.seed({"credentials": [{**client, "projects": ["*"]}]})
        kube.apply_secret(oauth2_secret(namespace, sim.base_url, client))
    else:
        kube.apply_secret(signed_secret(namespace, sim.base_url))

    if route.action != "create":
        scn.create(NAME, desiredNodes=1, minNodes=0, maxNodes=10)
        scn.wait_ready(NAME)

    started = time.time()
    scn.inject(kind.kind, route.method, route.route, count=None, **kind.options)
    if route.action == "create":
        scn.create(NAME, desiredNodes=2, minNodes=0, maxNodes=10)
    elif route.action == "scale":
        scn.patch_spec(NAME, desiredNodes=3)
    else:
        scn.delete(NAME)

    observed: list[str] = []
    first_error: float | None = None
    while time.time() - started < kind.window:
        obj = scn.get(NAME)
        reconciling = condition(obj, "Reconciling")
        if is_stalled(obj):
            observed.append(f"Stalled {condition(obj, 'Stalled').get('reason')}")
        if first_error is None and reconciling.get("reason") == "TransientError":
            first_error = time.time() - started
        time.sleep(0.2)
    sim.control.clear_faults()
    ended = time.time()

    entries = sim.control.requests(started)
    hits = [e for e in entries if e["fault"] == kind.kind and e["time"] < ended]
    record["faultedRequests"] = len(hits)
    record["faultedPerSecond"] = round(len(hits) / (ended - started), 2)
    record["stalledDuringFault"] = sorted(set(observed))
    record["firstTransientErrorSeconds"] = None if first_error is None else round(first_error, 2)
    record["gapAfterFirstFaultSeconds"] = gap_after_first_fault(entries, kind.kind)
    record["retryAfterViolations"] = early_retries(entries) if kind.kind == "rate_limit" else []

    if route.action == "delete":
        scn.wait_gone(NAME)
        record["violations"] = violations(scn, released=[Released(NAME)])
    else:
        record["settleSeconds"] = round(wait_settled(scn), 2)
        record["violations"] = violations(scn)
    record["convergedSeconds"] = round(time.time() - ended, 2)


def gap_after_first_fault(entries: list[dict[str, Any]], kind: str) -> float | None:
    """Return the seconds from the first faulted request to the lane's next request."""
    faulted = [e for e in entries if e["fault"] == kind]
    if not faulted:
        return None
    later = [e["time"] for e in entries if e["time"] > faulted[0]["time"]]
    return round(min(later) - faulted[0]["time"], 2) if later else None


def early_retries(entries: list[dict[str, Any]]) -> list[str]:
    """Return the requests sent less than Retry-After seconds after a 429."""
    found = []
    for limited in (e for e in entries if e["status"] == 429):
        for entry in entries:
            gap = entry["time"] - limited["time"]
            if 0 < gap < RETRY_AFTER - 0.1:
                found.append(f"{entry['method']} {entry['route']} {gap:.2f} s after a 429")
    return found


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.id)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_fault_then_converge(
    lanes: Lanes, route: Route, kind: Kind, record: dict[str, Any]
) -> None:
    outcome = outcome_of(lanes, route, kind)
    record.update(
        group="OVH fault",
        case=f"{route.id}/{kind.id}",
        injected=f"{kind.kind} {kind.options} on {route.method} {route.route} for {kind.window} s",
        **outcome,
    )

    assert "error" not in outcome, outcome.get("error")
    assert outcome["violations"] == [], outcome["violations"]
    assert outcome["secretHits"] == [], outcome["secretHits"]
    assert outcome["faultedRequests"] >= 1, "the fault never hit a request"
    assert outcome["faultedPerSecond"] <= MAX_RATE, "no backoff while the fault lasted"
    assert outcome["stalledDuringFault"] == [], "a transient fault was reported as Stalled"
    assert outcome["retryAfterViolations"] == [], "Retry-After was not honoured"
    if kind.kind == "timeout":
        # The client gives up after the request timeout and retries within the backoff, long
        # before the simulator closes the connection (12 s).
        gap = outcome["gapAfterFirstFaultSeconds"]
        assert gap is not None, "no request followed the timed-out one"
        assert gap <= REQUEST_TIMEOUT + BACKOFF_MAX + 1, "a call outlived the request timeout"
    assert lanes.operator.process is not None
    assert lanes.operator.process.poll() is None, "the operator exited"
