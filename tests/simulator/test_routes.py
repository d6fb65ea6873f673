"""Every OVH route of the simulator, called through python-ovh over HTTP."""

from __future__ import annotations

import re
from typing import Any

import ovh
import pytest

from ovh_api_simulator.testing import SimulatorServer, make_client
from tests.simulator.sim_constants import (
    KUBE_A,
    KUBE_A_PATH,
    KUBE_PAR,
    POOLS_A,
    PROJECT_A,
    PROJECT_B,
    SYSTEM_POOL,
)

POOL_KEYS = {
    "id",
    "projectId",
    "name",
    "flavor",
    "status",
    "sizeStatus",
    "autoscale",
    "monthlyBilled",
    "antiAffinity",
    "desiredNodes",
    "minNodes",
    "maxNodes",
    "currentNodes",
    "availableNodes",
    "upToDateNodes",
    "createdAt",
    "updatedAt",
    "autoscaling",
    "template",
    "availabilityZones",
    "attachFloatingIps",
}
NODE_KEYS = {
    "id",
    "projectId",
    "instanceId",
    "nodePoolId",
    "name",
    "flavor",
    "status",
    "version",
    "isUpToDate",
    "createdAt",
    "updatedAt",
    "deployedAt",
    "deletedAt",
}
QUERY_ID = re.compile(r"^EU\.ext-1\.[0-9a-f]{8}\.\d+\.[0-9a-f-]{36}$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_auth_time_is_integer(client: Any) -> None:
    assert isinstance(client.get("/auth/time", _need_auth=False), int)


def test_project_list_and_object(client: Any) -> None:
    assert client.get("/cloud/project") == [PROJECT_A, PROJECT_B]
    project = client.get(f"/cloud/project/{PROJECT_A}")
    assert project["project_id"] == PROJECT_A
    assert project["status"] == "ok"
    assert project["description"] == "test project A"


def test_cluster_list_and_object(client: Any) -> None:
    assert client.get(f"/cloud/project/{PROJECT_A}/kube") == [KUBE_A]
    cluster = client.get(KUBE_A_PATH)
    assert cluster["id"] == KUBE_A
    assert cluster["name"] == "test-a"
    assert cluster["region"] == "GRA11"
    assert cluster["version"] == "1.32"
    assert cluster["status"] == "READY"
    assert cluster["nodesUrl"].endswith(".nodes.c1.gra.k8s.ovh.net")


def test_flavors_of_cluster(client: Any) -> None:
    flavors = {flavor["name"]: flavor for flavor in client.get(KUBE_A_PATH + "/flavors")}
    assert flavors["t2-45"] == {
        "name": "t2-45",
        "category": "t",
        "state": "available",
        "vCPUs": 15,
        "ram": 45,
        "gpus": 1,
    }
    assert flavors["b2-7"]["state"] == "unavailable"


def test_pool_list_has_full_objects(client: Any) -> None:
    pools = client.get(POOLS_A)
    assert [pool["id"] for pool in pools] == [SYSTEM_POOL]
    assert set(pools[0]) == POOL_KEYS
    assert pools[0]["status"] == "READY"
    assert pools[0]["sizeStatus"] == "CAPACITY_OK"
    assert DATE.match(pools[0]["createdAt"])


def test_pool_create_response(client: Any) -> None:
    pool = client.post(POOLS_A, flavorName="b3-8", name="create-me", desiredNodes=2)
    assert set(pool) == POOL_KEYS
    assert pool["flavor"] == "b3-8"
    assert pool["projectId"] == PROJECT_A
    assert pool["status"] == "INSTALLING"
    assert pool["sizeStatus"] == "UNDER_CAPACITY"
    assert pool["currentNodes"] == 2
    assert pool["availableNodes"] == 0
    assert pool["minNodes"] == 0
    assert pool["maxNodes"] == 100
    assert pool["autoscaling"] == {
        "scaleDownUtilizationThreshold": 0.5,
        "scaleDownUnneededTimeSeconds": 600,
        "scaleDownUnreadyTimeSeconds": 1200,
    }
    assert pool["template"] == {
        "metadata": {"labels": {}, "annotations": {}, "finalizers": []},
        "spec": {"unschedulable": False, "taints": []},
    }
    assert pool["availabilityZones"] is None


def test_pool_create_defaults_without_name(client: Any) -> None:
    pool = client.post(POOLS_A, flavorName="b3-8")
    assert pool["name"] == f"nodepool-{pool['id']}"
    assert pool["desiredNodes"] == 1


def test_pool_get_put_delete(client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    assert client.get(path)["name"] == "system"
    template = {
        "metadata": {"labels": {"team": "a"}, "annotations": {}, "finalizers": []},
        "spec": {
            "unschedulable": False,
            "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}],
        },
    }
    assert client.put(path, desiredNodes=3, template=template, autoscale=True) is None

    pool = client.get(path)
    assert pool["desiredNodes"] == 3
    assert pool["template"] == template
    assert pool["autoscale"] is True
    client.get(path)
    assert client.delete(path) is None


def test_put_and_delete_answer_204(ovh_sim: SimulatorServer, client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    put = client.raw_call("PUT", path, data={"desiredNodes": 2})
    assert put.status_code == 204
    assert put.content == b""
    delete = client.raw_call("DELETE", path)
    assert delete.status_code == 204
    assert delete.content == b""


def test_headers_on_every_response(client: Any) -> None:
    for path in ("/auth/time", "/cloud/project", "/cloud/project/unknown"):
        response = client.raw_call("GET", path)
        assert QUERY_ID.match(response.headers["X-Ovh-Queryid"])
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_pool_nodes_and_history(client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    nodes = client.get(path + "/nodes")
    assert len(nodes) == 2
    assert set(nodes[0]) == NODE_KEYS
    assert nodes[0]["name"].startswith("system-node-")
    assert nodes[0]["status"] == "READY"
    assert nodes[0]["nodePoolId"] == SYSTEM_POOL
    assert client.get(path + "/nodes", history=True) == []

    client.put(path, desiredNodes=1)
    client.get(path)
    client.get(path)
    history = client.get(path + "/nodes", history=True)
    assert [node["status"] for node in history] == ["DELETED"]
    assert history[0]["deletedAt"] is not None


def test_cluster_nodes_get_and_delete(client: Any) -> None:
    nodes = client.get(KUBE_A_PATH + "/node")
    assert len(nodes) == 2
    node = client.get(f"{KUBE_A_PATH}/node/{nodes[0]['id']}")
    assert node == nodes[0]

    assert client.delete(f"{KUBE_A_PATH}/node/{nodes[0]['id']}") is None
    pool = client.get(f"{POOLS_A}/{SYSTEM_POOL}")
    assert pool["desiredNodes"] == 1
    assert pool["status"] == "DOWNSCALING"


def test_delete_node_below_min_rejected(client: Any) -> None:
    nodes = client.get(KUBE_A_PATH + "/node")
    client.delete(f"{KUBE_A_PATH}/node/{nodes[0]['id']}")
    with pytest.raises(ovh.BadParametersError, match="minNodes"):
        client.delete(f"{KUBE_A_PATH}/node/{nodes[1]['id']}")


def test_unknown_node_not_found(client: Any) -> None:
    with pytest.raises(ovh.ResourceNotFoundError):
        client.get(f"{KUBE_A_PATH}/node/missing")
    with pytest.raises(ovh.ResourceNotFoundError):
        client.delete(f"{KUBE_A_PATH}/node/missing")


def test_capabilities_routes(client: Any) -> None:
    assert client.get(f"/cloud/project/{PROJECT_A}/capabilities/kube/regions") == [
        "EU-WEST-PAR",
        "GRA11",
    ]
    flavors = client.get(f"/cloud/project/{PROJECT_A}/capabilities/kube/flavors", region="GRA11")
    assert "b3-8" in [flavor["name"] for flavor in flavors]


def test_v1_prefix_reaches_same_routes(client: Any) -> None:
    assert client.get("/v1/cloud/project") == [PROJECT_A, PROJECT_B]
    assert client.get(f"/v1/cloud/project/{PROJECT_B}/kube") == [KUBE_PAR]


def test_unknown_route_and_method(client: Any) -> None:
    with pytest.raises(ovh.ResourceNotFoundError, match="invalid"):
        client.get("/cloud/nothing-here")
    with pytest.raises(ovh.APIError) as caught:
        client.post(f"/cloud/project/{PROJECT_A}", description="x")
    assert caught.value.response.status_code == 405


def test_unknown_project_cluster_pool(client: Any) -> None:
    with pytest.raises(ovh.ResourceNotFoundError, match="This service does not exist"):
        client.get("/cloud/project/ffffffffffffffffffffffffffffffff/kube")
    with pytest.raises(ovh.ResourceNotFoundError, match="cluster"):
        client.get(f"/cloud/project/{PROJECT_A}/kube/unknown")
    with pytest.raises(ovh.ResourceNotFoundError, match="Node pool"):
        client.get(f"{POOLS_A}/unknown")
    with pytest.raises(ovh.ResourceNotFoundError):
        client.get(f"/cloud/project/{PROJECT_B}/kube/{KUBE_A}")


def test_project_out_of_credential_scope(ovh_sim: SimulatorServer) -> None:
    limited = make_client(ovh_sim, consumer_key="demo-ck-limited")
    assert limited.get("/cloud/project") == [PROJECT_A]
    with pytest.raises(ovh.ResourceNotFoundError, match="This service does not exist"):
        limited.get(f"/cloud/project/{PROJECT_B}/kube")

    ovh_sim.control.settings(forbiddenProjectStatus=403)
    with pytest.raises(ovh.APIError) as caught:
        limited.get(f"/cloud/project/{PROJECT_B}/kube")
    assert caught.value.response.status_code == 403
    assert caught.value.response.json()["class"] == "Client::Forbidden"
