"""Fixtures of the end-to-end tests: the CRD, the operator's RBAC and token, the operator."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.pytest_plugin import load_test_seed
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    E2E_CREDENTIALS,
    REPO,
    OperatorProcess,
    apply,
    credentials_secret,
    delete_node_pools,
    new_cluster,
)

CRD_NAME = "ovhnodepools.ovh.nodepool-operator.io"
OPERATOR_NAMESPACE = "ovh-nodepool-operator"
CHART = REPO / "deploy" / "chart" / "ovh-nodepool-operator"


@pytest.fixture(scope="session")
def crd(control_plane: ControlPlane) -> str:
    """Apply the project's CRD once per session with kubectl."""
    control_plane.kubectl("apply", "-f", str(REPO / "crds" / "ovhnodepools.yaml"))
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")
    return CRD_NAME


@pytest.fixture(scope="session")
def operator_kubeconfig(control_plane: ControlPlane, crd: str) -> Path:
    """Return a kubeconfig holding a token of the operator's own ServiceAccount.

    The ServiceAccount and its RBAC are those the Helm chart renders with default values, so
    every end-to-end test runs with exactly the chart's permissions.
    """
    control_plane.kubectl("create", "namespace", OPERATOR_NAMESPACE, check=False)
    rendered = subprocess.run(
        [
            str(control_plane.helm_path),
            "template",
            "ovh-nodepool-operator",
            str(CHART),
            f"--namespace={OPERATOR_NAMESPACE}",
            "--show-only=templates/serviceaccount.yaml",
            "--show-only=templates/rbac.yaml",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    control_plane.kubectl("apply", "-f", "-", input=rendered.stdout)
    return control_plane.service_account_kubeconfig(OPERATOR_NAMESPACE, "ovh-nodepool-operator")


@pytest.fixture(scope="session")
def e2e_simulator() -> Iterator[SimulatorServer]:
    """Run a simulator of the e2e tests' own, seeded with the e2e credentials.

    It is apart from the simulator tests' instance, which resets its state before each test.
    """
    seed = load_test_seed()
    seed["credentials"] = [*seed.get("credentials", []), {**E2E_CREDENTIALS, "projects": ["*"]}]
    with SimulatorServer(seed=seed) as server:
        yield server


@pytest.fixture(scope="session")
def operator(
    operator_kubeconfig: Path,
    e2e_simulator: SimulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """Run one operator for the session, with its ServiceAccount token and nothing more."""
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    process = OperatorProcess(operator_kubeconfig, log_path).start()
    yield process
    process.stop()


@pytest.fixture
def cluster(e2e_simulator: SimulatorServer) -> tuple[str, str]:
    """Seed a fresh OVH project and cluster for one test; return (projectId, kubeId)."""
    return new_cluster(e2e_simulator)


@pytest.fixture
def workspace(
    control_plane: ControlPlane, namespace: str, e2e_simulator: SimulatorServer
) -> Iterator[str]:
    """Return a namespace with the credentials Secret; delete its OVHNodePools afterwards."""
    apply(control_plane, credentials_secret(namespace, e2e_simulator))
    yield namespace
    delete_node_pools(control_plane, namespace)
