"""A user's fix takes effect in seconds, even with production retry intervals of minutes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    OperatorProcess,
    annotate,
    apply,
    credentials_secret,
    get_object,
    node_pool,
    pools_of,
    seed_pool,
    wait_for,
    wait_ready,
    wait_stalled,
)

pytestmark = pytest.mark.e2e

# Production pace for everything a fix could wait on, except the deletion retry.
SLOW_SETTINGS = {
    "OVHNP_STALLED_RETRY_SECONDS": "300",
    "OVHNP_OBSERVE_INTERVAL_SECONDS": "300",
    "OVHNP_BACKOFF_MAX_SECONDS": "300",
    "OVHNP_BUSY_INTERVAL_SECONDS": "3",
    "OVHNP_TICK_SECONDS": "1",
}
PROMPT_SECONDS = 20
ANNOTATION_SECONDS = 4


@pytest.fixture
def slow_operator(
    operator: OperatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """Replace the session operator by one with production retry intervals."""
    operator.stop()
    log_path = tmp_path_factory.mktemp("slow") / "operator.log"
    slow = OperatorProcess(operator.kubeconfig, log_path, env=SLOW_SETTINGS).start()
    yield slow
    slow.stop()
    operator.start()


def test_adopt_annotation_acts_at_once(
    control_plane: ControlPlane,
    slow_operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    existing = seed_pool(e2e_simulator, project_id, kube_id, name="found", desiredNodes=1)
    apply(control_plane, node_pool(workspace, "found", project_id, kube_id, desiredNodes=1))
    wait_stalled(control_plane, workspace, "found", "AlreadyExists")
    # Past the first retry (about 5 s), the next one is about 10 s away: only the annotation
    # itself can make the object adopt the pool in the next few seconds.
    time.sleep(7)

    annotate(control_plane, workspace, "found", "ovh.nodepool-operator.io/adopt", "true")

    obj = wait_ready(control_plane, workspace, "found", timeout=ANNOTATION_SECONDS)
    assert obj["status"]["nodePoolId"] == existing["id"]


def test_fixed_secret_acts_soon(
    control_plane: ControlPlane,
    slow_operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    broken = credentials_secret(workspace, e2e_simulator, name="keys")
    broken["stringData"]["consumerKey"] = "not-a-consumer-key"
    apply(control_plane, broken)
    manifest = node_pool(
        workspace, "keyed", project_id, kube_id, credentialsSecretRef={"name": "keys"}
    )
    apply(control_plane, manifest)
    wait_stalled(control_plane, workspace, "keyed", "InvalidCredentials")

    apply(control_plane, credentials_secret(workspace, e2e_simulator, name="keys"))

    wait_ready(control_plane, workspace, "keyed", timeout=PROMPT_SECONDS)
    assert len(pools_of(e2e_simulator, kube_id)) == 1


def test_orphan_releases_stuck_deletion_soon(
    control_plane: ControlPlane,
    slow_operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, credentials_secret(workspace, e2e_simulator, name="rotated"))
    manifest = node_pool(
        workspace, "kept", project_id, kube_id, credentialsSecretRef={"name": "rotated"}
    )
    apply(control_plane, manifest)
    wait_ready(control_plane, workspace, "kept")
    broken = credentials_secret(workspace, e2e_simulator, name="rotated")
    broken["stringData"]["applicationSecret"] = "rotated-away"
    apply(control_plane, broken)
    control_plane.kubectl("delete", "onp", "kept", "-n", workspace, "--wait=false")
    wait_for(
        lambda: "Cannot delete the OVH node pool" in slow_operator.logs(),
        what="the deletion to fail on the broken Secret",
    )

    patch = json.dumps({"spec": {"deletionPolicy": "Orphan"}})
    control_plane.kubectl("patch", "onp", "kept", "-n", workspace, "--type=merge", "-p", patch)

    wait_for(
        lambda: get_object(control_plane, workspace, "kept") is None,
        timeout=PROMPT_SECONDS,
        what="the object to be released",
    )
    assert len(pools_of(e2e_simulator, kube_id)) == 1


def test_deletion_wait_logged_as_info(
    control_plane: ControlPlane,
    slow_operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "brief", project_id, kube_id, desiredNodes=1))
    wait_ready(control_plane, workspace, "brief")

    control_plane.kubectl("delete", "onp", "brief", "-n", workspace, "--timeout=60s")

    waits = [line for line in slow_operator.logs().splitlines() if "Waiting for OVH" in line]
    assert waits
    assert all("[INFO" in line for line in waits)
    assert not any("failed temporarily" in line for line in waits)
