"""The operator's Prometheus endpoint, scraped while it manages real objects."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kube_control_plane.controlplane import ControlPlane, free_port
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    E2E_CREDENTIALS,
    E2E_SECRET_VALUES,
    OperatorProcess,
    apply,
    condition,
    credentials_secret,
    get_object,
    is_ready,
    node_pool,
    wait_for,
)

pytestmark = pytest.mark.e2e

POOLS_ROUTE = "/cloud/project/{serviceName}/kube/{kubeId}/nodepool"


@dataclass
class MeteredOperator:
    """An operator process that serves metrics on `port`."""

    process: OperatorProcess
    port: int

    def scrape(self) -> str:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text: str = response.read().decode()
        return text


def value(text: str, name: str, **labels: str) -> float | None:
    """Return the sample with this name and exactly these labels, or None."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def scrape_until(operator: MeteredOperator, check: Callable[[str], bool], what: str) -> str:
    """Scrape until `check` accepts the text; return that text."""

    def probe() -> str | None:
        text = operator.scrape()
        return text if check(text) else None

    return wait_for(probe, what=what)


@pytest.fixture
def metered_operator(
    operator: OperatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MeteredOperator]:
    """Stop the session operator and run one with metrics; restore the session one after."""
    operator.stop()
    port = free_port()
    log_path = tmp_path_factory.mktemp("metrics") / "operator.log"
    env = {"OVHNP_METRICS_PORT": str(port)}
    process = OperatorProcess(operator.kubeconfig, log_path, env=env).start()
    yield MeteredOperator(process, port)
    process.stop()
    operator.start()


def test_scrape_after_pool_created(
    control_plane: ControlPlane,
    metered_operator: MeteredOperator,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "metered", project_id, kube_id, desiredNodes=1))
    wait_for(
        lambda: is_ready(get_object(control_plane, workspace, "metered")),
        what="metered to be Ready",
    )

    text = metered_operator.scrape()

    post = {"route": POOLS_ROUTE, "method": "POST"}
    assert value(text, "ovhnp_ovh_requests_total", **post, status="ok") == 1
    assert value(text, "ovhnp_ovh_request_duration_seconds_count", **post) == 1
    listings = value(text, "ovhnp_ovh_requests_total", route=POOLS_ROUTE, method="GET", status="ok")
    assert listings is not None
    assert listings >= 1
    assert value(text, "ovhnp_objects", condition="Ready") == 1
    assert value(text, "ovhnp_objects", condition="Stalled") == 0
    # The POST and every listing that finds the pool INSTALLING report Reconciling/Creating.
    creating = value(text, "ovhnp_reconcile_total", state="Reconciling", reason="Creating")
    assert creating is not None
    assert creating >= 1
    in_sync = value(text, "ovhnp_reconcile_total", state="Ready", reason="InSync")
    assert in_sync is not None
    assert in_sync >= 1
    last_success = value(text, "ovhnp_last_ovh_success_timestamp_seconds")
    assert last_success is not None
    assert last_success > 0
    identity = f"{E2E_CREDENTIALS['applicationKey']}@{e2e_simulator.base_url}"
    assert value(text, "ovhnp_rate_limit_wait_seconds_total", identity=identity) is not None
    for secret in E2E_SECRET_VALUES:
        assert secret not in text
    assert project_id not in text
    assert kube_id not in text

    control_plane.kubectl("delete", "onp", "metered", "-n", workspace, "--wait=true")
    after = scrape_until(
        metered_operator,
        lambda scraped: value(scraped, "ovhnp_objects", condition="Ready") == 0,
        what="the deleted object to leave the Ready count",
    )
    delete = {"route": POOLS_ROUTE + "/{nodePoolId}", "method": "DELETE", "status": "ok"}
    assert value(after, "ovhnp_ovh_requests_total", **delete) == 1


def test_scrape_counts_stalled_object(
    control_plane: ControlPlane,
    metered_operator: MeteredOperator,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    secret = credentials_secret(workspace, e2e_simulator, name="revoked")
    secret["stringData"]["consumerKey"] = "e2e-unknown-consumer-key"
    apply(control_plane, secret)
    manifest = node_pool(workspace, "locked", project_id, kube_id, desiredNodes=1)
    manifest["spec"]["credentialsSecretRef"] = {"name": "revoked"}
    apply(control_plane, manifest)
    wait_for(
        lambda: (
            condition(get_object(control_plane, workspace, "locked"), "Stalled").get("status")
            == "True"
        ),
        what="locked to be Stalled",
    )

    text = scrape_until(
        metered_operator,
        lambda scraped: value(scraped, "ovhnp_objects", condition="Stalled") == 1,
        what="the Stalled count",
    )

    assert value(text, "ovhnp_objects", condition="Ready") == 0
    stalled = value(text, "ovhnp_reconcile_total", state="Stalled", reason="InvalidCredentials")
    assert stalled is not None
    assert stalled >= 1
    rejected = value(
        text,
        "ovhnp_ovh_requests_total",
        route=POOLS_ROUTE,
        method="GET",
        status="InvalidCredentials",
    )
    assert rejected is not None
    assert rejected >= 1
    assert "e2e-unknown-consumer-key" not in text
    for secret_value in E2E_SECRET_VALUES:
        assert secret_value not in text


def test_taken_port_stops_operator(
    operator: OperatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    log_path = tmp_path_factory.mktemp("taken") / "operator.log"
    blocked = OperatorProcess(operator.kubeconfig, log_path, env={"OVHNP_METRICS_PORT": str(port)})
    operator.stop()
    try:
        with socket.create_server(("127.0.0.1", port)), pytest.raises(AssertionError):
            blocked.start()
    finally:
        blocked.kill()
        operator.start()

    assert f"Cannot serve Prometheus metrics on port {port}" in blocked.logs()
