"""Bad input: invalid objects rejected at admission, and valid objects that cannot work.

The admission cases live in tests/e2e/test_admission.py, and this module only counts them. The
runtime cases are valid objects that OVH or the cluster cannot serve. Examples are wrong or
revoked keys, an unknown flavor, cluster or project, a missing zone, a project quota, a pool
that belongs to someone else, and a missing or incomplete Secret. All of them are created at
once, each in a cluster of its own. Then one 10 s window measures how often each calls OVH.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from ovh_api_simulator.testing import SimulatorServer
from tests.e2e import test_admission
from tests.e2e.support import (
    E2E_OAUTH2_CREDENTIALS,
    FAST_SETTINGS,
    OperatorProcess,
    new_cluster,
    seed_pool,
)
from tests.reliability.harness import (
    DEMO_REVOKED,
    TOKEN_ROUTE,
    Kube,
    Scenario,
    condition,
    find_secrets,
    is_stalled,
    oauth2_secret,
    release_all,
    secret_scan_sources,
    signed_secret,
)
from tests.reliability.invariants import violations

pytestmark = pytest.mark.e2e

WINDOW_SECONDS = 10.0
STALLED_RETRY = float(FAST_SETTINGS["OVHNP_STALLED_RETRY_SECONDS"])
# One try per stalled retry period plus the first: 6 tries in 10 s. A try is a listing of the
# cluster and at most one write, so 12 requests at most.
MAX_TRIES_PER_OBJECT = int(WINDOW_SECONDS / STALLED_RETRY) + 1
MAX_REQUESTS_PER_OBJECT = 2 * MAX_TRIES_PER_OBJECT


@dataclass(frozen=True)
class BadCase:
    """A valid object that cannot work, the reason it must get, and words of the fix."""

    id: str
    reason: str
    fix_words: tuple[str, ...]
    spec: dict[str, Any] = field(default_factory=dict)
    secret: Mapping[str, str | None] | None = None  # overrides of the e2e signed keys
    oauth2_secret: str | None = None
    no_secret: bool = False
    region: str = "GRA11"
    quota: int | None = None
    unknown: str | None = None  # "cluster" or "project"
    foreign: bool = False
    second_owner: bool = False
    query_id: bool = False


CASES = [
    BadCase(
        "wrong-application-secret",
        "InvalidCredentials",
        ("application secret",),
        secret={"applicationSecret": "wrong-application-secret-9d1e"},
    ),
    BadCase(
        "unknown-application-key",
        "InvalidCredentials",
        ("application key",),
        secret={"applicationKey": "unknown-application-key"},
    ),
    BadCase("revoked-consumer-key", "InvalidCredentials", ("revoked",), secret=DEMO_REVOKED),
    BadCase(
        "oauth2-wrong-secret",
        "InvalidCredentials",
        ("clientSecret",),
        oauth2_secret="wrong-oauth2-secret-6b0f",
    ),
    BadCase(
        "unknown-flavor",
        "InvalidSpec",
        ("flavorName",),
        spec={"flavorName": "zz-99"},
        query_id=True,
    ),
    BadCase(
        "unavailable-flavor",
        "InvalidSpec",
        ("flavorName",),
        spec={"flavorName": "b2-7"},
        query_id=True,
    ),
    BadCase("unknown-cluster", "ClusterNotFound", ("kubeId",), unknown="cluster", query_id=True),
    BadCase("unknown-project", "ClusterNotFound", ("projectId",), unknown="project", query_id=True),
    BadCase(
        "limited-consumer-key",
        "ClusterNotFound",
        ("projectId",),
        secret={**DEMO_REVOKED, "consumerKey": "demo-ck-limited"},
        query_id=True,
    ),
    BadCase(
        "zone-required",
        "InvalidSpec",
        ("availabilityZones is mandatory",),
        region="EU-WEST-PAR",
        query_id=True,
    ),
    BadCase(
        "quota-exceeded", "InvalidSpec", ("Quota exceeded",), spec={"desiredNodes": 3}, quota=2
    ),
    BadCase("foreign-pool-same-name", "AlreadyExists", ("adopt", "spec.name"), foreign=True),
    BadCase("duplicate-owner", "Conflict", ("ObserveOnly", "spec.name"), second_owner=True),
    BadCase("missing-secret", "SecretNotFound", ("create it",), no_secret=True),
    BadCase(
        "secret-missing-key",
        "InvalidCredentials",
        ("consumerKey",),
        secret={"consumerKey": None},
    ),
    BadCase(
        "endpoint-not-name-nor-url",
        "InvalidCredentials",
        ("ovh-eu", "base URL"),
        secret={"endpoint": "eu-api-ovh"},
    ),
]


@dataclass
class Run:
    """Everything the module's single run produced, by case id."""

    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def bad_inputs(
    kube: Kube, simulator: SimulatorServer, operator: OperatorProcess, metrics_port: int
) -> Iterator[Run]:
    """Create every case at once, wait until each is Stalled, then measure one window."""
    if operator.process is None or operator.process.poll() is not None:
        operator.start()
    namespace = f"rel-bad-{uuid.uuid4().hex[:8]}"
    kube.create_namespace(namespace)
    run = Run()
    scenarios = {case.id: build(kube, simulator, operator, namespace, case) for case in CASES}

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not all(
        is_stalled(kube.get(namespace, case.id)) for case in CASES
    ):
        time.sleep(0.5)

    log_offset = len(operator.logs())
    events_before = count_warnings(kube, namespace)
    window_start = time.time()
    time.sleep(WINDOW_SECONDS)
    window_end = time.time()
    entries = simulator.control.requests(window_start)
    log_window = operator.logs()[log_offset:]
    events_after = count_warnings(kube, namespace)

    for case in CASES:
        scn = scenarios[case.id]
        obj = kube.get(namespace, case.id)
        counted = [e for e in entries if e["time"] < window_end and scn.kube_id in e["path"]]
        if case.oauth2_secret:
            counted += [e for e in entries if e["route"] == TOKEN_ROUTE and e["time"] < window_end]
        stalled = condition(obj, "Stalled")
        run.outcomes[case.id] = {
            "reason": stalled.get("reason") if stalled.get("status") == "True" else None,
            "message": stalled.get("message", ""),
            "requestsInWindow": len(counted),
            "objectsInCluster": 2 if case.second_owner else 1,
            "warningEventsAddedInWindow": events_after.get(case.id, 0)
            - events_before.get(case.id, 0),
            "tracebacksInWindow": log_window.count("Traceback"),
            "operatorAlive": operator.process is not None and operator.process.poll() is None,
            "violations": violations(scn, foreign=scn.record.get("foreign", [])),
        }
    yield run

    forced = release_all(kube, [namespace])
    hits = find_secrets(secret_scan_sources(kube, [namespace], [operator.log_path], metrics_port))
    for outcome in run.outcomes.values():
        outcome["cleanupForced"] = forced
        outcome["secretHits"] = hits


def build(
    kube: Kube, sim: SimulatorServer, operator: OperatorProcess, namespace: str, case: BadCase
) -> Scenario:
    """Create a case's cluster, Secret, foreign pool or first owner, and object."""
    project_id, kube_id = new_cluster(sim, region=case.region)
    if case.quota is not None:
        sim.control.seed(
            {
                "projects": [
                    {
                        "id": project_id,
                        "quota": {"maxNodes": case.quota},
                        "clusters": [
                            {"id": kube_id, "name": f"q-{kube_id[:8]}", "region": "GRA11"}
                        ],
                    }
                ]
            }
        )
    if case.unknown == "cluster":
        kube_id = str(uuid.uuid4())
    elif case.unknown == "project":
        project_id = uuid.uuid4().hex
    record: dict[str, Any] = {}
    scn = Scenario(kube, sim, operator, namespace, project_id, kube_id, record, secret_name=case.id)

    if case.oauth2_secret is not None:
        client = {**E2E_OAUTH2_CREDENTIALS, "clientSecret": case.oauth2_secret}
        kube.apply_secret(oauth2_secret(namespace, sim.base_url, client, name=case.id))
    elif not case.no_secret:
        overrides = dict(case.secret or {})
        endpoint = overrides.pop("endpoint", None) or sim.base_url
        kube.apply_secret(signed_secret(namespace, endpoint, name=case.id, **overrides))

    spec: dict[str, Any] = {"desiredNodes": 1, **case.spec}
    if case.foreign:
        pool = seed_pool(sim, project_id, kube_id, name=case.id, desiredNodes=1)
        record["foreign"] = [pool["id"]]
    if case.second_owner:
        scn.create(f"{case.id}-first", name="shared", **spec)
        scn.wait_ready(f"{case.id}-first")
        spec["name"] = "shared"
    scn.create(case.id, **spec)
    return scn


def count_warnings(kube: Kube, namespace: str) -> dict[str, int]:
    """Return the number of Warning Events per object, counting repeats of an Event."""
    counts: dict[str, int] = {}
    for event in kube.events(namespace):
        if event.get("type") == "Warning":
            name = event["involvedObject"]["name"]
            counts[name] = counts.get(name, 0) + int(event.get("count") or 1)
    return counts


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_runtime_invalid_stalls(bad_inputs: Run, case: BadCase, record: dict[str, Any]) -> None:
    outcome = bad_inputs.outcomes[case.id]
    record.update(
        group="runtime-invalid",
        case=case.id,
        injected=f"expected reason {case.reason}",
        window=WINDOW_SECONDS,
        **outcome,
    )
    limit = MAX_REQUESTS_PER_OBJECT * outcome["objectsInCluster"]

    assert outcome["reason"] == case.reason, outcome["message"]
    for words in case.fix_words:
        assert words in outcome["message"], f"the message does not name the fix: {words!r}"
    if case.query_id:
        assert re.search(r"OVH query id \S+", outcome["message"]), "no OVH query id"
    assert outcome["operatorAlive"], "the operator exited"
    assert outcome["tracebacksInWindow"] == 0, "the operator logged a traceback"
    assert outcome["requestsInWindow"] <= limit, f"more than {limit} OVH requests in 10 s"
    assert outcome["violations"] == [], outcome["violations"]


def test_stalled_repeats_not_reposted(bad_inputs: Run, record: dict[str, Any]) -> None:
    reposted = {
        case_id: outcome["warningEventsAddedInWindow"]
        for case_id, outcome in bad_inputs.outcomes.items()
        if outcome["warningEventsAddedInWindow"] > 1
    }
    record.update(
        group="runtime-invalid",
        case="warning-events-per-window",
        injected="all runtime-invalid objects, Stalled, watched for 10 s",
        repostedWarningEvents=reposted,
    )

    # A Stalled object retries every 2 s here; its Warning Event should not come back each time.
    assert reposted == {}, f"Warning Events posted again on every retry: {reposted}"


def test_admission_cases_counted(record: dict[str, Any]) -> None:
    invalid = len(test_admission.INVALID_CASES)
    updates = len(test_admission.REJECTED_UPDATES)
    record.update(
        group="admission",
        case="rejected-at-admission",
        injected="kubectl apply of invalid objects and updates (tests/e2e/test_admission.py)",
        invalidObjects=invalid,
        rejectedUpdates=updates,
    )

    assert invalid >= 40
    assert all(case.expected for case in test_admission.INVALID_CASES), "a case names no field"
