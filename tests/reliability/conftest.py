"""Fixtures of the reliability suite: its own control plane, simulator and operator.

The suite runs a control plane of its own, apart from the one of tests/e2e. The e2e tests keep
an operator running for the whole session that watches every namespace, and that operator would
also act on this suite's objects and spoil its counts of OVH writes. A separate kube-apiserver
also lets the suite restart it without disturbing any other test.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import REPO, OperatorProcess, new_cluster
from tests.reliability.harness import (
    Kube,
    Scenario,
    find_secrets,
    release_all,
    reliability_seed,
    secret_scan_sources,
    signed_secret,
)

CRD_NAME = "ovhnodepools.ovh.nodepool-operator.io"
OPERATOR_NAMESPACE = "ovh-nodepool-operator"
RESULTS_FOLDER = Path(__file__).resolve().parent / ".results"
RECORD_KEY = pytest.StashKey[dict[str, Any]]()
RESULTS: list[dict[str, Any]] = []
SESSION_STARTED = time.time()


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """Run the suite's own kube-apiserver and etcd, with the CRD and the operator's RBAC."""
    with ControlPlane(tmp_path_factory.mktemp("reliability-control-plane")) as plane:
        plane.kubectl("apply", "-f", str(REPO / "crds" / "ovhnodepools.yaml"))
        plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")
        plane.kubectl("create", "namespace", OPERATOR_NAMESPACE)
        plane.kubectl("apply", "-f", str(REPO / "deploy" / "kustomize" / "base" / "rbac.yaml"))
        yield plane


@pytest.fixture(scope="session")
def operator_kubeconfig(control_plane: ControlPlane) -> Path:
    """Return a kubeconfig with a token of the operator's ServiceAccount."""
    return control_plane.service_account_kubeconfig(OPERATOR_NAMESPACE, "ovh-nodepool-operator")


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane) -> Kube:
    """Return admin access to the suite's control plane."""
    return Kube(control_plane.admin_kubeconfig)


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    """Run the suite's OVH API simulator (instant mode, from dev/seeds/test.yaml)."""
    with SimulatorServer(seed=reliability_seed()) as server:
        yield server


@pytest.fixture(scope="session")
def startup_settings(simulator: SimulatorServer) -> dict[str, Any]:
    """Return the simulator settings at start, which each scenario restores afterwards."""
    return simulator.control.settings()


@pytest.fixture(scope="session")
def metrics_port() -> int:
    """Return the port the operator is configured to serve metrics on."""
    return free_port()


@pytest.fixture(scope="session")
def operator(
    operator_kubeconfig: Path, metrics_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """Run the suite's operator; scenarios kill and restart it, and it is restarted if down."""
    log_path = tmp_path_factory.mktemp("reliability-operator") / "operator.log"
    env = {"OVHNP_METRICS_PORT": str(metrics_port)}
    process = OperatorProcess(operator_kubeconfig, log_path, env=env).start()
    yield process
    process.stop()


@pytest.fixture
def record(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Return the result record of this test; the suite writes all records to a JSON file."""
    data: dict[str, Any] = {"test": request.node.nodeid, "started": time.time()}
    request.node.stash[RECORD_KEY] = data
    return data


@pytest.fixture
def scenario(  # noqa: PLR0917 - pytest passes fixtures by name
    kube: Kube,
    simulator: SimulatorServer,
    operator: OperatorProcess,
    startup_settings: dict[str, Any],
    metrics_port: int,
    record: dict[str, Any],
) -> Iterator[Scenario]:
    """Give a test a fresh namespace, Secret and OVH cluster; clean up and scan for secrets."""
    if operator.process is None or operator.process.poll() is not None:
        operator.start()
    namespace = f"rel-{uuid.uuid4().hex[:10]}"
    kube.create_namespace(namespace)
    kube.apply_secret(signed_secret(namespace, simulator.base_url))
    project_id, kube_id = new_cluster(simulator)
    current = Scenario(kube, simulator, operator, namespace, project_id, kube_id, record)

    yield current

    simulator.control.clear_faults()
    simulator.control.settings(**startup_settings)
    if operator.process is None or operator.process.poll() is not None:
        operator.start()
    record["cleanupForced"] = release_all(kube, [namespace])
    logs = [operator.log_path, *current.extra_logs]
    hits = find_secrets(secret_scan_sources(kube, [namespace], logs, metrics_port))
    record["secretHits"] = hits
    assert hits == [], f"secret values leaked: {hits}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Copy each test's outcome into its result record."""
    report = yield
    data = item.stash.get(RECORD_KEY, None)
    if data is None:
        return report
    if report.when == "call":
        data["outcome"] = report.outcome
        data["seconds"] = round(report.duration, 2)
    elif report.failed:
        data["outcome"] = f"error in {report.when}"
    if report.failed:
        lines = [line for line in report.longreprtext.splitlines() if line.startswith("E ")]
        data.setdefault("failure", "\n".join(lines[:12])[:2000])
    if report.when == "teardown":
        RESULTS.append(data)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the result records to RELIABILITY_RESULTS, or to tests/reliability/.results/."""
    if not RESULTS:
        return
    target = os.environ.get("RELIABILITY_RESULTS")
    if target:
        path = Path(target)
    else:
        RESULTS_FOLDER.mkdir(exist_ok=True)
        # The folder contains run output only, and a .gitignore of its own keeps it out of git.
        (RESULTS_FOLDER / ".gitignore").write_text("*\n")
        path = RESULTS_FOLDER / "results.json"
    document = {
        "started": SESSION_STARTED,
        "seconds": round(time.time() - SESSION_STARTED, 1),
        "results": RESULTS,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
