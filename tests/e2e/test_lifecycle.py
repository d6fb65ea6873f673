"""The main job end to end: create, resize, update and delete pools through the operator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    OperatorProcess,
    apply,
    condition,
    events,
    get_object,
    node_pool,
    pools_of,
    wait_for,
    wait_ready,
)

pytestmark = pytest.mark.e2e


def only_pool(sim: SimulatorServer, kube_id: str) -> dict[str, Any]:
    """Return the single pool of a cluster, failing when there are none or several."""
    pools = pools_of(sim, kube_id)
    assert len(pools) == 1, pools
    return pools[0]


def merge_patch(plane: ControlPlane, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """Change fields of an object's spec with a merge patch."""
    patch = json.dumps({"spec": spec})
    plane.kubectl("patch", "onp", name, "-n", namespace, "--type=merge", "-p", patch)


def event_reasons(plane: ControlPlane, namespace: str, name: str) -> list[str]:
    """Return the reasons of the Events about an object."""
    return [str(event["reason"]) for event in events(plane, namespace, name)]


def test_create_reaches_ready(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "web", project_id, kube_id, desiredNodes=2))

    obj = wait_ready(control_plane, workspace, "web")

    pool = only_pool(e2e_simulator, kube_id)
    assert pool["name"] == "web"
    assert obj["status"]["currentNodes"] == 2
    assert obj["status"]["nodePoolId"] == pool["id"]
    assert obj["status"]["desiredNodesOwner"] == "Operator"
    assert condition(obj, "Stalled")["status"] == "False"
    assert condition(obj, "Reconciling")["status"] == "False"
    assert "Created" in event_reasons(control_plane, workspace, "web")


def test_kubectl_scale_resizes_pool(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "batch", project_id, kube_id, desiredNodes=1))
    wait_ready(control_plane, workspace, "batch")

    control_plane.kubectl("scale", "onp/batch", "-n", workspace, "--replicas=4")
    obj = wait_for(
        lambda: (
            (o := wait_ready(control_plane, workspace, "batch"))
            and o["status"]["currentNodes"] == 4
            and o
        ),
        what="batch to reach 4 nodes",
    )

    assert only_pool(e2e_simulator, kube_id)["desiredNodes"] == 4
    assert obj["status"]["desiredNodes"] == 4
    assert "Updated" in event_reasons(control_plane, workspace, "batch")


def test_lower_max_moves_size(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    manifest = node_pool(
        workspace, "bounded", project_id, kube_id, desiredNodes=5, minNodes=1, maxNodes=10
    )
    apply(control_plane, manifest)
    wait_ready(control_plane, workspace, "bounded")

    merge_patch(control_plane, workspace, "bounded", {"desiredNodes": 3, "maxNodes": 3})
    wait_for(
        lambda: only_pool(e2e_simulator, kube_id)["maxNodes"] == 3,
        what="maxNodes 3 at OVH",
    )
    obj = wait_ready(control_plane, workspace, "bounded")

    pool = only_pool(e2e_simulator, kube_id)
    assert pool["desiredNodes"] == 3
    assert obj["status"]["maxNodes"] == 3
    assert obj["status"]["currentNodes"] == 3


def test_autoscaled_bounds_clamp_live_size(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    manifest = node_pool(
        workspace,
        "elastic",
        project_id,
        kube_id,
        autoscale=True,
        minNodes=1,
        maxNodes=8,
        desiredNodes=2,
    )
    apply(control_plane, manifest)
    wait_ready(control_plane, workspace, "elastic")
    pool_id = only_pool(e2e_simulator, kube_id)["id"]

    e2e_simulator.control.autoscale(pool_id, 7)
    wait_for(
        lambda: (
            (o := get_object(control_plane, workspace, "elastic"))
            and o["status"].get("currentNodes") == 7
        ),
        what="the autoscaler's 7 nodes in status",
    )
    merge_patch(control_plane, workspace, "elastic", {"maxNodes": 5})

    wait_for(lambda: only_pool(e2e_simulator, kube_id)["maxNodes"] == 5, what="maxNodes 5")
    pool = only_pool(e2e_simulator, kube_id)
    assert pool["desiredNodes"] == 5
    assert pool["autoscale"] is True


def test_autoscaler_moves_not_reverted(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    manifest = node_pool(
        workspace,
        "scaled",
        project_id,
        kube_id,
        autoscale=True,
        minNodes=1,
        maxNodes=10,
        desiredNodes=2,
    )
    apply(control_plane, manifest)
    wait_ready(control_plane, workspace, "scaled")
    pool_id = only_pool(e2e_simulator, kube_id)["id"]
    e2e_simulator.control.clear_requests()

    e2e_simulator.control.autoscale(pool_id, 6)
    obj = wait_for(
        lambda: (
            (o := wait_ready(control_plane, workspace, "scaled"))
            and o["status"]["desiredNodes"] == 6
            and o
        ),
        what="the autoscaler's count in status",
    )
    time.sleep(3)  # Several observation intervals: a revert would happen in this window.

    writes = [r for r in e2e_simulator.control.requests() if r["method"] in ("PUT", "POST")]
    assert writes == []
    assert only_pool(e2e_simulator, kube_id)["desiredNodes"] == 6
    assert obj["status"]["desiredNodesOwner"] == "Autoscaler"
    assert obj["spec"]["desiredNodes"] == 2


def test_template_change_sent_whole(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "tmpl", project_id, kube_id, desiredNodes=1))
    wait_ready(control_plane, workspace, "tmpl")

    template = {
        "metadata": {"labels": {"team": "data"}},
        "spec": {"taints": [{"key": "dedicated", "value": "data", "effect": "NoSchedule"}]},
    }
    merge_patch(control_plane, workspace, "tmpl", {"template": template})
    wait_for(
        lambda: (
            only_pool(e2e_simulator, kube_id)["template"]["metadata"]["labels"] == {"team": "data"}
        ),
        what="the template at OVH",
    )

    live = only_pool(e2e_simulator, kube_id)["template"]
    assert live["spec"]["taints"] == [{"key": "dedicated", "value": "data", "effect": "NoSchedule"}]
    assert live["metadata"]["annotations"] == {}
    assert live["metadata"]["finalizers"] == []
    assert live["spec"]["unschedulable"] is False
    wait_ready(control_plane, workspace, "tmpl")


def test_delete_removes_pool(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "gone", project_id, kube_id, desiredNodes=1))
    wait_ready(control_plane, workspace, "gone")

    control_plane.kubectl("delete", "onp", "gone", "-n", workspace, "--timeout=60s")

    assert pools_of(e2e_simulator, kube_id) == []
    assert get_object(control_plane, workspace, "gone") is None


def test_orphan_keeps_pool(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    manifest = node_pool(
        workspace, "kept", project_id, kube_id, desiredNodes=1, deletionPolicy="Orphan"
    )
    apply(control_plane, manifest)
    wait_ready(control_plane, workspace, "kept")

    control_plane.kubectl("delete", "onp", "kept", "-n", workspace, "--timeout=60s")

    pool = only_pool(e2e_simulator, kube_id)
    assert pool["name"] == "kept"
    assert pool["status"] == "READY"


def test_delete_busy_pool_retried(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "busy", project_id, kube_id, desiredNodes=1))
    wait_ready(control_plane, workspace, "busy")
    pool_id = only_pool(e2e_simulator, kube_id)["id"]

    # The pool stays UPSCALING until the test settles it, so OVH refuses the DELETE meanwhile.
    e2e_simulator.control.patch_pool(pool_id, status="UPSCALING")
    control_plane.kubectl("delete", "onp", "busy", "-n", workspace, "--wait=false")
    wait_for(
        lambda: (
            any(
                r["method"] == "DELETE" and r["status"] == 400
                for r in e2e_simulator.control.requests()
            )
            or only_pool(e2e_simulator, kube_id)["status"] == "UPSCALING"
        ),
        what="the DELETE to reach OVH",
    )
    time.sleep(2)
    assert only_pool(e2e_simulator, kube_id)["id"] == pool_id
    assert get_object(control_plane, workspace, "busy") is not None

    e2e_simulator.control.patch_pool(pool_id, status="READY")
    wait_for(lambda: get_object(control_plane, workspace, "busy") is None, what="release")
    assert pools_of(e2e_simulator, kube_id) == []


@pytest.fixture
def solo_operator(
    operator: OperatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """Stop the session operator and run one the test may kill; restore the session one after."""
    operator.stop()
    log_path = tmp_path_factory.mktemp("solo") / "operator.log"
    solo = OperatorProcess(operator.kubeconfig, log_path).start()
    yield solo
    solo.kill()
    operator.start()


def test_kill_after_post_one_pool(
    control_plane: ControlPlane,
    solo_operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    route = "/cloud/project/{serviceName}/kube/{kubeId}/nodepool"
    e2e_simulator.control.inject_fault(method="POST", route=route, kind="latency", seconds=3)

    apply(control_plane, node_pool(workspace, "crash", project_id, kube_id, desiredNodes=1))
    wait_for(
        lambda: (
            (o := get_object(control_plane, workspace, "crash"))
            and o.get("status", {}).get("nodePoolName") == "crash"
        ),
        what="the creation intent in status",
    )
    time.sleep(0.5)  # The POST is now in flight at the simulator.
    solo_operator.kill()
    wait_for(lambda: pools_of(e2e_simulator, kube_id), what="OVH to finish the POST")

    solo_operator.start()
    obj = wait_ready(control_plane, workspace, "crash")

    pool = only_pool(e2e_simulator, kube_id)
    assert obj["status"]["nodePoolId"] == pool["id"]
    posts = [r for r in e2e_simulator.control.requests() if r["method"] == "POST"]
    assert len([r for r in posts if kube_id in r["path"]]) == 1
