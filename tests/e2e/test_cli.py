"""The `check` and `export` helpers run as commands against the simulator and the API server."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    E2E_CREDENTIALS,
    E2E_SECRET_VALUES,
    OPERATOR_COMMAND,
    OperatorProcess,
    apply,
    credentials_secret,
    new_cluster,
    seed_pool,
    wait_ready,
    writes,
)

pytestmark = pytest.mark.e2e

ADOPT = "ovh.nodepool-operator.io/adopt"
ZONE = "eu-west-par-b"


def run_command(
    plane: ControlPlane, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the operator's command with the admin kubeconfig and no OVH_* variables."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OVH_", "OVHNP_", "KUBE"))
    }
    clean["KUBECONFIG"] = str(plane.admin_kubeconfig)
    clean.update(env or {})
    return subprocess.run(
        [str(OPERATOR_COMMAND), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def credentials_file(directory: Path, sim: SimulatorServer) -> Path:
    """Write the e2e credentials as the keys of a Secret; return the file."""
    path = directory / "ovh.yaml"
    path.write_text(yaml.safe_dump({"endpoint": sim.base_url, **E2E_CREDENTIALS}))
    return path


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in E2E_SECRET_VALUES:
            assert secret not in text


def test_export_adopts_without_writes(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
) -> None:
    project_id, kube_id = new_cluster(e2e_simulator, region="EU-WEST-PAR")
    common: dict[str, Any] = {"availabilityZones": [ZONE]}
    seeded = [
        seed_pool(
            e2e_simulator,
            project_id,
            kube_id,
            name="web",
            desiredNodes=2,
            minNodes=1,
            maxNodes=5,
            template={
                "metadata": {
                    "labels": {"team": "web"},
                    "annotations": {"example.com/owner": "platform"},
                    "finalizers": [],
                },
                "spec": {
                    "unschedulable": False,
                    "taints": [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
                },
            },
            **common,
        ),
        seed_pool(
            e2e_simulator,
            project_id,
            kube_id,
            name="batch",
            autoscale=True,
            desiredNodes=3,
            minNodes=1,
            maxNodes=8,
            autoscaling={"scaleDownUtilizationThreshold": 0.7, "scaleDownUnneededTimeSeconds": 300},
            **common,
        ),
        seed_pool(
            e2e_simulator,
            project_id,
            kube_id,
            name="edge",
            flavorName="b3-16",
            antiAffinity=True,
            monthlyBilled=True,
            desiredNodes=1,
            maxNodes=5,
            attachFloatingIps={"enabled": True},
            **common,
        ),
    ]

    result = run_command(
        control_plane,
        "export",
        "--project",
        project_id,
        "--kube",
        kube_id,
        "--namespace",
        workspace,
        "--secret-name",
        "ovh",
        "--secret",
        f"{workspace}/ovh",
    )
    assert result.returncode == 0, result.stderr
    assert_no_secret(result.stdout, result.stderr)
    manifests = list(yaml.safe_load_all(result.stdout))
    assert [m["metadata"]["name"] for m in manifests] == ["batch", "edge", "web"]

    control_plane.kubectl("apply", "-f", "-", input=result.stdout)
    for pool in seeded:
        obj = wait_ready(control_plane, workspace, pool["name"])
        assert obj["metadata"]["annotations"][ADOPT] == pool["id"]
        assert obj["status"]["nodePoolId"] == pool["id"]
    time.sleep(2)  # Several observation rounds, in which no write may happen.

    assert writes(e2e_simulator, kube_id) == []


def test_check_lists_seeded_cluster(
    control_plane: ControlPlane,
    e2e_simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    project_id, kube_id = new_cluster(e2e_simulator)
    seed_pool(e2e_simulator, project_id, kube_id, name="listed", desiredNodes=2, maxNodes=4)
    secret_file = credentials_file(tmp_path, e2e_simulator)

    table = run_command(control_plane, "check", "--secret-file", str(secret_file))
    document = run_command(
        control_plane, "check", "--secret-file", str(secret_file), "--output", "json"
    )

    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if kube_id in line)
    assert row.split() == [
        project_id,
        kube_id,
        f"e2e-{kube_id[:8]}",
        "GRA11",
        "listed",
        "b3-8",
        "2/2",
        "READY",
        "off",
    ]
    assert document.returncode == 0, document.stderr
    projects = json.loads(document.stdout)["projects"]
    (project,) = [item for item in projects if item["id"] == project_id]
    (pool,) = project["clusters"][0]["pools"]
    assert (pool["name"], pool["desiredNodes"], pool["maxNodes"]) == ("listed", 2, 4)
    assert_no_secret(table.stdout, table.stderr, document.stdout, document.stderr)


def test_check_invalid_secret_exits_2(
    control_plane: ControlPlane,
    e2e_simulator: SimulatorServer,
    workspace: str,
) -> None:
    secret = credentials_secret(workspace, e2e_simulator, name="wrong")
    secret["stringData"]["consumerKey"] = "e2e-unknown-consumer-key"
    apply(control_plane, secret)

    result = run_command(control_plane, "check", "--secret", f"{workspace}/wrong")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "InvalidCredentials: OVH rejected the credentials" in result.stderr
    assert "e2e-unknown-consumer-key" not in result.stderr
    assert_no_secret(result.stderr)


def test_check_missing_secret_exits_2(control_plane: ControlPlane, namespace: str) -> None:
    result = run_command(control_plane, "check", "--secret", f"{namespace}/absent")

    assert result.returncode == 2
    assert f"Secret {namespace}/absent does not exist" in result.stderr
