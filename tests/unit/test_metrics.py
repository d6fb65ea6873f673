"""Tests of the operator's Prometheus metrics: what the observers record, and the scrape."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import Any, cast

import pytest
from prometheus_client import generate_latest
from pydantic import SecretStr

from kube_control_plane.controlplane import free_port
from ovh_api_simulator.testing import SimulatorServer
from ovh_nodepool_operator.clients.credentials import Credentials
from ovh_nodepool_operator.clients.kube import KubeApi
from ovh_nodepool_operator.clients.ovh_api import POOLS, CallRecord, OvhApi
from ovh_nodepool_operator.clients.ratelimit import TokenBucket
from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.status import Verdict
from ovh_nodepool_operator.handlers.metrics import OBJECT_CONDITIONS, OperatorMetrics
from ovh_nodepool_operator.handlers.objects import PAUSED_ANNOTATION
from ovh_nodepool_operator.handlers.runtime import CredentialStore, Runtime
from ovh_nodepool_operator.settings import OperatorSettings

PROJECT = "0123456789abcdef0123456789abcdef"
KUBE = "6f1c2a4e-7d3b-4c5a-9e8f-0a1b2c3d4e5f"
POOL_ID = "11111111-2222-4333-8444-555555555555"
SECRET_VALUES = ("demo-as", "demo-ck")


def sample(metrics: OperatorMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def body(uid: str, *, paused: bool = False) -> dict[str, Any]:
    annotations = {PAUSED_ANNOTATION: "true"} if paused else {}
    return {"metadata": {"uid": uid, "name": uid, "annotations": annotations}}


def objects(metrics: OperatorMetrics) -> dict[str, float | None]:
    return {name: sample(metrics, "ovhnp_objects", condition=name) for name in OBJECT_CONDITIONS}


def simulator_credentials(sim: SimulatorServer, consumer_key: str = "demo-ck") -> Credentials:
    return Credentials(
        endpoint=sim.base_url,
        application_key="demo-ak",
        application_secret=SecretStr("demo-as"),
        consumer_key=SecretStr(consumer_key),
    )


def test_call_counted_by_route_and_status() -> None:
    metrics = OperatorMetrics()

    metrics.observe_call(CallRecord(POOLS, "GET", "ok", 0.2))
    metrics.observe_call(CallRecord(POOLS, "GET", "ok", 0.4))
    metrics.observe_call(CallRecord(POOLS, "POST", "TransientError", 1.5))

    requests = "ovhnp_ovh_requests_total"
    assert sample(metrics, requests, route=POOLS, method="GET", status="ok") == 2
    assert sample(metrics, requests, route=POOLS, method="POST", status="TransientError") == 1
    assert sample(metrics, requests, route=POOLS, method="POST", status="ok") is None
    duration = "ovhnp_ovh_request_duration_seconds"
    assert sample(metrics, f"{duration}_count", route=POOLS, method="GET") == 2
    assert sample(metrics, f"{duration}_sum", route=POOLS, method="GET") == pytest.approx(0.6)
    assert sample(metrics, f"{duration}_bucket", route=POOLS, method="GET", le="0.25") == 1


def test_last_success_set_by_ok_only() -> None:
    metrics = OperatorMetrics()
    name = "ovhnp_last_ovh_success_timestamp_seconds"

    metrics.observe_call(CallRecord(POOLS, "GET", "InvalidCredentials", 0.1))
    assert sample(metrics, name) == 0

    before = time.time()
    metrics.observe_call(CallRecord(POOLS, "GET", "ok", 0.1))
    value = sample(metrics, name)

    assert value is not None
    assert before <= value <= time.time()


def test_rate_limit_waits_added_per_identity() -> None:
    metrics = OperatorMetrics()

    metrics.observe_wait("ovh-eu/key-a", 0.0)
    metrics.observe_wait("ovh-eu/key-a", 1.25)
    metrics.observe_wait("ovh-eu/key-b", 0.5)

    name = "ovhnp_rate_limit_wait_seconds_total"
    assert sample(metrics, name, identity="ovh-eu/key-a") == 1.25
    assert sample(metrics, name, identity="ovh-eu/key-b") == 0.5


def test_verdicts_counted_by_state_and_reason() -> None:
    metrics = OperatorMetrics()

    metrics.observe_verdict(body("a"), Verdict("Reconciling", "Creating", "m"))
    metrics.observe_verdict(body("a"), Verdict("Ready", "InSync", "m"))
    metrics.observe_verdict(body("b"), Verdict("Stalled", "InvalidCredentials", "m"))
    metrics.observe_verdict(body("b"), Verdict("Stalled", "InvalidCredentials", "m"))

    name = "ovhnp_reconcile_total"
    assert sample(metrics, name, state="Reconciling", reason="Creating") == 1
    assert sample(metrics, name, state="Ready", reason="InSync") == 1
    assert sample(metrics, name, state="Stalled", reason="InvalidCredentials") == 2


def test_objects_gauge_follows_last_verdict() -> None:
    metrics = OperatorMetrics()
    assert objects(metrics) == {"Ready": 0, "Reconciling": 0, "Stalled": 0, "Paused": 0}

    metrics.observe_verdict(body("a"), Verdict("Reconciling", "Creating", "m"))
    metrics.observe_verdict(body("b"), Verdict("Reconciling", "Creating", "m"))
    metrics.observe_verdict(body("a"), Verdict("Ready", "InSync", "m"))
    metrics.observe_verdict(body("a"), Verdict("Ready", "InSync", "m"))
    metrics.observe_verdict(body("c"), Verdict("Stalled", "ClusterNotFound", "m"))

    assert objects(metrics) == {"Ready": 1, "Reconciling": 1, "Stalled": 1, "Paused": 0}


def test_paused_counted_beside_state() -> None:
    metrics = OperatorMetrics()

    metrics.observe_verdict(body("a", paused=True), Verdict("Ready", "InSync", "m"))
    assert objects(metrics) == {"Ready": 1, "Reconciling": 0, "Stalled": 0, "Paused": 1}

    metrics.observe_verdict(body("a"), Verdict("Ready", "InSync", "m"))
    assert objects(metrics) == {"Ready": 1, "Reconciling": 0, "Stalled": 0, "Paused": 0}


def test_forget_drops_deleted_object() -> None:
    metrics = OperatorMetrics()
    metrics.observe_verdict(body("a", paused=True), Verdict("Stalled", "PoolError", "m"))
    metrics.observe_verdict(body("b"), Verdict("Ready", "InSync", "m"))

    metrics.forget("a")
    metrics.forget("a")
    metrics.forget("never-seen")

    assert objects(metrics) == {"Ready": 1, "Reconciling": 0, "Stalled": 0, "Paused": 0}


def test_verdict_without_uid_only_counted() -> None:
    metrics = OperatorMetrics()

    metrics.observe_verdict({"metadata": {}}, Verdict("Stalled", "InvalidSpec", "m"))

    assert sample(metrics, "ovhnp_reconcile_total", state="Stalled", reason="InvalidSpec") == 1
    assert objects(metrics)["Stalled"] == 0


def test_ovh_api_reports_route_template(ovh_sim: SimulatorServer) -> None:
    metrics = OperatorMetrics()
    api = OvhApi(
        simulator_credentials(ovh_sim),
        bucket=TokenBucket(rate=5, burst=1),  # A token every 200 ms, longer than a call.
        timeout=5,
        observer=metrics.observe_call,
        wait_observer=metrics.observe_wait,
    )

    async def calls() -> None:
        await api.list_pools(PROJECT, KUBE)
        await api.list_pools(PROJECT, KUBE)
        with pytest.raises(errors.PoolNotFoundError):
            await api.get_pool(PROJECT, KUBE, "00000000-0000-4000-8000-000000000000")

    asyncio.run(calls())

    requests = "ovhnp_ovh_requests_total"
    pool_route = POOLS + "/{nodePoolId}"
    assert sample(metrics, requests, route=POOLS, method="GET", status="ok") == 2
    assert sample(metrics, requests, route=pool_route, method="GET", status="PoolNotFound") == 1
    waited = sample(metrics, "ovhnp_rate_limit_wait_seconds_total", identity=api.identity)
    assert waited is not None
    assert waited > 0  # A burst of 1 makes the second and third calls wait.
    text = generate_latest(metrics.registry).decode()
    assert PROJECT not in text
    assert KUBE not in text


def test_invalid_credentials_status(ovh_sim: SimulatorServer) -> None:
    metrics = OperatorMetrics()
    credentials = simulator_credentials(ovh_sim, consumer_key="demo-ck-revoked")
    api = OvhApi(credentials, bucket=TokenBucket(50, 5), timeout=5, observer=metrics.observe_call)

    with pytest.raises(errors.InvalidCredentialsError):
        asyncio.run(api.list_projects())

    labels = {"route": "/cloud/project", "method": "GET", "status": "InvalidCredentials"}
    assert sample(metrics, "ovhnp_ovh_requests_total", **labels) == 1
    assert sample(metrics, "ovhnp_last_ovh_success_timestamp_seconds") == 0


def test_runtime_passes_observers(ovh_sim: SimulatorServer) -> None:
    metrics = OperatorMetrics()
    runtime = Runtime(
        settings=OperatorSettings(),
        kube=cast(KubeApi, None),
        credentials=cast(CredentialStore, None),
        call_observer=metrics.observe_call,
        wait_observer=metrics.observe_wait,
        verdict_observer=metrics.observe_verdict,
    )
    api = runtime.api_for(simulator_credentials(ovh_sim))

    asyncio.run(api.list_projects())
    runtime.record_verdict(body("a"), Verdict("Ready", "InSync", "m"))

    labels = {"route": "/cloud/project", "method": "GET", "status": "ok"}
    assert sample(metrics, "ovhnp_ovh_requests_total", **labels) == 1
    assert sample(metrics, "ovhnp_rate_limit_wait_seconds_total", identity=api.identity) == 0
    assert objects(metrics)["Ready"] == 1


def test_scrape_serves_series_without_secrets(ovh_sim: SimulatorServer) -> None:
    metrics = OperatorMetrics()
    api = OvhApi(
        simulator_credentials(ovh_sim),
        bucket=TokenBucket(50, 5),
        timeout=5,
        observer=metrics.observe_call,
        wait_observer=metrics.observe_wait,
    )
    asyncio.run(api.list_projects())
    port = free_port()

    metrics.serve(port, address="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        metrics.close()

    assert 'ovhnp_ovh_requests_total{method="GET",route="/cloud/project",status="ok"} 1.0' in text
    assert 'ovhnp_objects{condition="Ready"} 0.0' in text
    assert "ovhnp_last_ovh_success_timestamp_seconds" in text
    for secret in SECRET_VALUES:
        assert secret not in text


def test_serve_on_taken_port_raises() -> None:
    first = OperatorMetrics()
    port = free_port()
    first.serve(port, address="127.0.0.1")
    try:
        with pytest.raises(OSError):
            OperatorMetrics().serve(port, address="127.0.0.1")
    finally:
        first.close()
