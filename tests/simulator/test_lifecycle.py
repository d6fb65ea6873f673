"""Pool lifecycle: statuses over time, instant mode, downscale order, delete quirk."""

from __future__ import annotations

import time
from typing import Any

import ovh
import pytest

from ovh_api_simulator.testing import SimulatorServer
from tests.simulator.sim_constants import KUBE_A_PATH, POOLS_A, SYSTEM_POOL

NODE_SECONDS = 0.3


def _wait_for_status(client: Any, path: str, status: str, limit: float = 5.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if client.get(path)["status"] == status:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{path} did not reach {status} within {limit} s")


@pytest.fixture
def timed(ovh_sim: SimulatorServer) -> SimulatorServer:
    """Return the simulator with node transitions taking NODE_SECONDS of real time."""
    ovh_sim.control.settings(nodeSeconds=NODE_SECONDS, timeScale=1.0)
    return ovh_sim


def test_create_installs_then_ready(timed: SimulatorServer, client: Any) -> None:
    pool = client.post(POOLS_A, flavorName="b3-8", name="timed", desiredNodes=2)
    path = f"{POOLS_A}/{pool['id']}"
    assert pool["status"] == "INSTALLING"
    assert client.get(path)["status"] == "INSTALLING"
    nodes = client.get(path + "/nodes")
    assert [node["status"] for node in nodes] == ["INSTALLING", "INSTALLING"]
    assert nodes[0]["instanceId"] is None

    elapsed = _wait_for_status(client, path, "READY")
    ready = client.get(path)
    assert ready["availableNodes"] == 2
    assert ready["sizeStatus"] == "CAPACITY_OK"
    assert 0.1 <= elapsed <= NODE_SECONDS + 0.5
    assert client.get(path + "/nodes")[0]["instanceId"] is not None


def test_time_scale_multiplies_node_seconds(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.settings(nodeSeconds=30, timeScale=0.01)
    pool = client.post(POOLS_A, flavorName="b3-8", name="scaled", desiredNodes=1)
    elapsed = _wait_for_status(client, f"{POOLS_A}/{pool['id']}", "READY")
    assert 0.15 <= elapsed <= 1.0


def test_upscale_then_ready(timed: SimulatorServer, client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=4)
    pool = client.get(path)
    assert pool["status"] == "UPSCALING"
    assert pool["currentNodes"] == 4
    assert pool["availableNodes"] == 2
    assert pool["sizeStatus"] == "UNDER_CAPACITY"
    _wait_for_status(client, path, "READY")
    assert client.get(path)["availableNodes"] == 4


def test_downscale_removes_newest_first(timed: SimulatorServer, client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=4)
    _wait_for_status(client, path, "READY")
    oldest = {node["id"] for node in timed.control.pool(SYSTEM_POOL)["nodes"][:2]}

    client.put(path, desiredNodes=2)
    pool = client.get(path)
    assert pool["status"] == "DOWNSCALING"
    assert pool["sizeStatus"] == "OVER_CAPACITY"
    deleting = {node["id"] for node in client.get(path + "/nodes") if node["status"] == "DELETING"}
    assert len(deleting) == 2
    assert not deleting & oldest

    _wait_for_status(client, path, "READY")
    assert {node["id"] for node in client.get(path + "/nodes")} == oldest


def test_downscale_honours_nodes_to_remove(ovh_sim: SimulatorServer, client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=4)
    ovh_sim.control.settle(SYSTEM_POOL)
    nodes = ovh_sim.control.pool(SYSTEM_POOL)["nodes"]
    first, second = nodes[0], nodes[1]

    client.put(
        path,
        desiredNodes=2,
        nodesToRemove=[first["name"], f"openstack:///{second['instanceId']}"],
    )
    deleting = {node["id"] for node in client.get(path + "/nodes") if node["status"] == "DELETING"}
    assert deleting == {first["id"], second["id"]}


def test_nodes_to_remove_completed_with_newest(ovh_sim: SimulatorServer, client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=4)
    ovh_sim.control.settle(SYSTEM_POOL)
    nodes = ovh_sim.control.pool(SYSTEM_POOL)["nodes"]

    client.put(path, desiredNodes=2, nodesToRemove=[nodes[0]["id"]])
    deleting = {node["id"] for node in client.get(path + "/nodes") if node["status"] == "DELETING"}
    assert deleting == {nodes[0]["id"], nodes[3]["id"]}


def test_delete_ready_quirk_then_deleting_then_404(timed: SimulatorServer, client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.delete(path)
    assert client.get(path)["status"] == "READY"
    assert client.get(path)["status"] == "DELETING"
    time.sleep(NODE_SECONDS + 0.1)
    with pytest.raises(ovh.ResourceNotFoundError):
        client.get(path)


def test_delete_ready_reads_setting(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.settings(deleteReadyReads=3)
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.delete(path)
    statuses = []
    for _ in range(6):
        try:
            statuses.append(client.get(path)["status"])
        except ovh.ResourceNotFoundError:
            statuses.append(404)
    assert statuses == ["READY", "READY", "READY", "DELETING", 404, 404]


def test_delete_listed_in_pool_list(ovh_sim: SimulatorServer, client: Any) -> None:
    client.delete(f"{POOLS_A}/{SYSTEM_POOL}")
    assert [pool["status"] for pool in client.get(POOLS_A)] == ["READY"]
    assert [pool["status"] for pool in client.get(POOLS_A)] == ["DELETING"]
    assert client.get(POOLS_A) == []


def test_instant_mode_create_sequence(client: Any) -> None:
    pool = client.post(POOLS_A, flavorName="b3-8", name="instant", desiredNodes=2)
    path = f"{POOLS_A}/{pool['id']}"
    assert pool["status"] == "INSTALLING"
    assert client.get(path)["status"] == "INSTALLING"
    second = client.get(path)
    assert second["status"] == "READY"
    assert second["availableNodes"] == 2


def test_instant_mode_zero_node_pool_installs(client: Any) -> None:
    pool = client.post(POOLS_A, flavorName="b3-8", name="empty", desiredNodes=0)
    path = f"{POOLS_A}/{pool['id']}"
    assert pool["status"] == "INSTALLING"
    assert client.get(path)["status"] == "INSTALLING"
    assert client.get(path)["status"] == "READY"


def test_instant_mode_resize_sequence(client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=3)
    assert client.get(path)["status"] == "UPSCALING"
    assert client.get(path)["status"] == "READY"
    client.put(path, desiredNodes=1)
    assert client.get(path)["status"] == "DOWNSCALING"
    ready = client.get(path)
    assert ready["status"] == "READY"
    assert ready["currentNodes"] == 1


def test_transitional_reads_setting(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.settings(transitionalReads=3)
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=3)
    assert [client.get(path)["status"] for _ in range(4)] == ["UPSCALING"] * 3 + ["READY"]


def test_node_reads_do_not_advance_instant_mode(client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=3)
    client.get(path + "/nodes")
    client.get(KUBE_A_PATH + "/node")
    assert client.get(path)["status"] == "UPSCALING"


def test_settle_finishes_transitions(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.settings(nodeSeconds=3600)
    pool = client.post(POOLS_A, flavorName="b3-8", name="slow", desiredNodes=2)
    client.put(f"{POOLS_A}/{SYSTEM_POOL}", desiredNodes=3)
    ovh_sim.control.settle(pool["id"])
    assert client.get(f"{POOLS_A}/{pool['id']}")["status"] == "READY"
    assert client.get(f"{POOLS_A}/{SYSTEM_POOL}")["status"] == "UPSCALING"
    ovh_sim.control.settle()
    assert client.get(f"{POOLS_A}/{SYSTEM_POOL}")["status"] == "READY"


def test_settle_finishes_deletion(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.settings(nodeSeconds=3600)
    client.delete(f"{POOLS_A}/{SYSTEM_POOL}")
    ovh_sim.control.settle()
    with pytest.raises(ovh.ResourceNotFoundError):
        client.get(f"{POOLS_A}/{SYSTEM_POOL}")


def test_put_on_error_pool_accepted(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.patch_pool(SYSTEM_POOL, status="ERROR")
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    assert client.get(path)["status"] == "ERROR"
    client.put(path, desiredNodes=3)
    client.delete(path)
    assert client.get(path)["status"] == "ERROR"
