"""Runtime errors are reported as Stalled with OVH's message, and clear once the spec is fixed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    OperatorProcess,
    apply,
    condition,
    new_cluster,
    node_pool,
    pools_of,
    wait_ready,
    wait_stalled,
)

pytestmark = pytest.mark.e2e


def fix_spec(plane: ControlPlane, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """Correct fields of the spec, as a user does after reading the condition."""
    patch = json.dumps({"spec": spec})
    plane.kubectl("patch", "onp", name, "-n", namespace, "--type=merge", "-p", patch)


def stalled_message(obj: dict[str, Any]) -> str:
    """Return the message of the Stalled condition."""
    return str(condition(obj, "Stalled")["message"])


def test_unknown_flavor_then_fixed(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    manifest = node_pool(workspace, "typo", project_id, kube_id, flavorName="b3-80")
    apply(control_plane, manifest)

    obj = wait_stalled(control_plane, workspace, "typo", "InvalidSpec")

    message = stalled_message(obj)
    assert "b3-80" in message
    assert "OVH query id" in message
    assert pools_of(e2e_simulator, kube_id) == []

    fix_spec(control_plane, workspace, "typo", {"flavorName": "b3-8"})
    wait_ready(control_plane, workspace, "typo")
    assert [pool["flavor"] for pool in pools_of(e2e_simulator, kube_id)] == ["b3-8"]


def test_unknown_cluster_then_fixed(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    missing = str(uuid.uuid4())
    apply(control_plane, node_pool(workspace, "lost", project_id, missing))

    obj = wait_stalled(control_plane, workspace, "lost", "ClusterNotFound")
    assert missing in stalled_message(obj)

    fix_spec(control_plane, workspace, "lost", {"kubeId": kube_id})
    wait_ready(control_plane, workspace, "lost")
    assert len(pools_of(e2e_simulator, kube_id)) == 1


def test_zone_required_then_fixed(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
) -> None:
    project_id, kube_id = new_cluster(e2e_simulator, region="EU-WEST-PAR")
    apply(control_plane, node_pool(workspace, "zoned", project_id, kube_id))

    obj = wait_stalled(control_plane, workspace, "zoned", "InvalidSpec")
    assert "availabilityZones is mandatory" in stalled_message(obj)

    fix_spec(control_plane, workspace, "zoned", {"availabilityZones": ["eu-west-par-b"]})
    wait_ready(control_plane, workspace, "zoned")
    pools = pools_of(e2e_simulator, kube_id)
    assert [pool["availabilityZones"] for pool in pools] == [["eu-west-par-b"]]
