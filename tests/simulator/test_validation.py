"""Validation rules and error shapes of the node pool routes, with python-ovh's exceptions."""

from __future__ import annotations

import json
import re
from typing import Any

import ovh
import pytest

from ovh_api_simulator.testing import SimulatorServer, signed_request
from tests.simulator.sim_constants import KUBE_A_PATH, POOLS_A, POOLS_PAR, SYSTEM_POOL

FULL_TEMPLATE = {
    "metadata": {"labels": {}, "annotations": {}, "finalizers": []},
    "spec": {"unschedulable": False, "taints": []},
}

CREATE_CASES = [
    ({}, "Missing parameter 'flavorName'"),
    ({"flavorName": "nope"}, "flavor 'nope' does not exist"),
    ({"flavorName": "b2-7"}, "flavor 'b2-7' is not available"),
    ({"flavorName": "b3-8", "name": "Upper"}, "parameter 'name'"),
    ({"flavorName": "b3-8", "name": "under_score"}, "parameter 'name'"),
    ({"flavorName": "b3-8", "name": "-dash"}, "parameter 'name'"),
    ({"flavorName": "b3-8", "name": "dash-"}, "parameter 'name'"),
    ({"flavorName": "b3-8", "name": "a" * 52}, "parameter 'name'"),
    ({"flavorName": "b3-8", "desiredNodes": 5, "maxNodes": 3}, "desiredNodes (5) must be between"),
    ({"flavorName": "b3-8", "desiredNodes": 0, "minNodes": 1}, "desiredNodes (0) must be between"),
    ({"flavorName": "b3-8", "minNodes": 4, "maxNodes": 3}, "minNodes (4) must not be greater"),
    ({"flavorName": "b3-8", "maxNodes": 101}, "at most 100 nodes"),
    ({"flavorName": "b3-8", "antiAffinity": True, "maxNodes": 6}, "antiAffinity has at most 5"),
    ({"flavorName": "b3-8", "desiredNodes": -1}, "must be >= 0"),
    ({"flavorName": "b3-8", "desiredNodes": "2"}, "expected integer"),
    ({"flavorName": "b3-8", "autoscale": "yes"}, "expected boolean"),
    ({"flavorName": "b3-8", "bogus": 1}, "Unknown parameter 'bogus'"),
    ({"flavorName": "b3-8", "flavor": "b3-8"}, "Unknown parameter 'flavor'"),
    (
        {"flavorName": "b3-8", "template": {"metadata": {"labels": {}}}},
        "template.metadata.annotations",
    ),
    ({"flavorName": "b3-8", "template": {"metadata": FULL_TEMPLATE["metadata"]}}, "template.spec"),
    (
        {"flavorName": "b3-8", "template": {**FULL_TEMPLATE, "spec": {"unschedulable": False}}},
        "template.spec.taints",
    ),
    (
        {
            "flavorName": "b3-8",
            "template": {
                **FULL_TEMPLATE,
                "spec": {
                    "unschedulable": False,
                    "taints": [{"key": "k", "value": "v", "effect": "Bad"}],
                },
            },
        },
        "effect",
    ),
    (
        {"flavorName": "b3-8", "autoscaling": {"scaleDownUtilizationThreshold": 2}},
        "between 0 and 1",
    ),
    ({"flavorName": "b3-8", "autoscaling": {"other": 1}}, "Unknown parameter 'other'"),
    ({"flavorName": "b3-8", "availabilityZones": ["gra-z"]}, "zone 'gra-z' does not exist"),
]


@pytest.mark.parametrize(("body", "message"), CREATE_CASES)
def test_create_rejects_invalid_body(client: Any, body: dict[str, Any], message: str) -> None:
    with pytest.raises(ovh.BadParametersError, match=re.escape(message)) as caught:
        client.post(POOLS_A, **body)
    assert caught.value.response.status_code == 400
    assert caught.value.response.json()["class"] == "Client::BadRequest"


def test_create_accepts_max_name_length(client: Any) -> None:
    name = "a" + "b" * 49 + "9"
    assert client.post(POOLS_A, flavorName="b3-8", name=name)["name"] == name


def test_create_anti_affinity_defaults_to_five(client: Any) -> None:
    pool = client.post(POOLS_A, flavorName="b3-8", antiAffinity=True)
    assert pool["maxNodes"] == 5


def test_duplicate_name_in_cluster(ovh_sim: SimulatorServer, client: Any) -> None:
    with pytest.raises(ovh.BadParametersError, match="already exists"):
        client.post(POOLS_A, flavorName="b3-8", name="system")
    ovh_sim.control.settings(duplicateNameStatus=409)
    with pytest.raises(ovh.ResourceConflictError, match="already exists"):
        client.post(POOLS_A, flavorName="b3-8", name="system")


def test_zoned_region_requires_zone(client: Any) -> None:
    with pytest.raises(ovh.BadParametersError) as caught:
        client.post(POOLS_PAR, flavorName="b3-8", name="par")
    assert caught.value.response.json()["message"] == "availabilityZones is mandatory"
    with pytest.raises(ovh.BadParametersError, match="exactly one zone"):
        client.post(
            POOLS_PAR, flavorName="b3-8", availabilityZones=["eu-west-par-a", "eu-west-par-b"]
        )

    pool = client.post(
        POOLS_PAR, flavorName="b3-8", name="par", availabilityZones=["eu-west-par-b"]
    )
    assert pool["availabilityZones"] == ["eu-west-par-b"]


UPDATE_CASES = [
    ({"flavorName": "b3-16"}, "'flavorName' cannot be changed"),
    ({"name": "other"}, "'name' cannot be changed"),
    ({"antiAffinity": True}, "'antiAffinity' cannot be changed"),
    ({"monthlyBilled": True}, "'monthlyBilled' cannot be changed"),
    ({"availabilityZones": ["a"]}, "'availabilityZones' cannot be changed"),
    ({"bogus": 1}, "Unknown parameter 'bogus'"),
    ({"maxNodes": 1}, r"maxNodes \(1\) cannot be lower than the current desiredNodes \(2\)"),
    ({"desiredNodes": 6}, r"desiredNodes \(6\) must be between minNodes \(1\) and maxNodes \(5\)"),
    ({"maxNodes": 101}, "at most 100"),
    ({"template": {"metadata": FULL_TEMPLATE["metadata"]}}, "template.spec"),
    ({"nodesToRemove": ["missing"], "desiredNodes": 1}, "node 'missing' is not an active node"),
    (
        {"nodesToRemove": ["a", "b"], "desiredNodes": 1},
        "2 nodes listed but desiredNodes only removes 1",
    ),
    ({"nodesToRemove": ["a"]}, "must be lower than the number of nodes"),
]


@pytest.mark.parametrize(("body", "message"), UPDATE_CASES)
def test_update_rejects_invalid_body(client: Any, body: dict[str, Any], message: str) -> None:
    with pytest.raises(ovh.BadParametersError, match=message) as caught:
        client.put(f"{POOLS_A}/{SYSTEM_POOL}", **body)
    assert caught.value.response.json()["class"] == "Client::BadRequest"


def test_update_lowering_max_with_desired_passes(client: Any) -> None:
    client.put(f"{POOLS_A}/{SYSTEM_POOL}", maxNodes=1, desiredNodes=1)
    assert client.get(f"{POOLS_A}/{SYSTEM_POOL}")["maxNodes"] == 1


def test_delete_busy_pool_rejected(client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=3)
    with pytest.raises(ovh.BadParametersError) as caught:
        client.delete(path)
    assert str(caught.value).startswith(
        "[IntegrityError] 400: Cannot delete NodePool: NodePool status is UPSCALING"
    )

    new = client.post(POOLS_A, flavorName="b3-8", name="fresh")
    with pytest.raises(ovh.BadParametersError, match="status is INSTALLING"):
        client.delete(f"{POOLS_A}/{new['id']}")


def test_update_deleting_pool_rejected(client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.delete(path)
    with pytest.raises(ovh.BadParametersError, match="status is DELETING"):
        client.put(path, desiredNodes=3)
    with pytest.raises(ovh.BadParametersError, match="status is DELETING"):
        client.delete(path)


def test_busy_put_policies(ovh_sim: SimulatorServer, client: Any) -> None:
    path = f"{POOLS_A}/{SYSTEM_POOL}"
    client.put(path, desiredNodes=3)
    client.put(path, desiredNodes=4)

    ovh_sim.control.settings(busyPutPolicy="reject")
    with pytest.raises(
        ovh.BadParametersError, match="Cannot update NodePool: NodePool status is UPSCALING"
    ):
        client.put(path, desiredNodes=5)

    ovh_sim.control.settings(busyPutPolicy="conflict")
    with pytest.raises(ovh.ResourceConflictError, match="status is UPSCALING"):
        client.put(path, desiredNodes=5)


def test_quota_reject_mode(client: Any) -> None:
    client.post(POOLS_A, flavorName="b3-8", name="big", desiredNodes=30, maxNodes=40)
    with pytest.raises(ovh.BadParametersError, match="Quota exceeded"):
        client.post(POOLS_A, flavorName="b3-8", name="too-big", desiredNodes=9)
    client.post(POOLS_A, flavorName="b3-8", name="fits", desiredNodes=8)
    with pytest.raises(ovh.BadParametersError, match="Quota exceeded"):
        client.put(f"{POOLS_A}/{SYSTEM_POOL}", desiredNodes=3)


def test_quota_status_mode(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.settings(quotaMode="status")
    pool = client.post(POOLS_A, flavorName="b3-8", name="big", desiredNodes=40, maxNodes=40)
    assert pool["status"] == "USER_QUOTA_ERROR"
    assert pool["desiredNodes"] == 40
    assert pool["currentNodes"] == 38

    client.put(f"{POOLS_A}/{pool['id']}", desiredNodes=38)
    client.get(f"{POOLS_A}/{pool['id']}")
    assert client.get(f"{POOLS_A}/{pool['id']}")["status"] == "READY"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_body_on_get_or_delete_rejected(ovh_sim: SimulatorServer, method: str) -> None:
    response = signed_request(ovh_sim, method, f"{POOLS_A}/{SYSTEM_POOL}", json.dumps({"a": 1}))
    assert response.status_code == 400
    assert response.json() == {
        "class": "Client::BadRequest",
        "message": "You provided an input body while none was expected",
    }


def test_invalid_json_body(ovh_sim: SimulatorServer) -> None:
    response = signed_request(ovh_sim, "POST", POOLS_A, "{not json")
    assert response.status_code == 400
    assert "Invalid JSON" in response.json()["message"]


def test_non_object_body(ovh_sim: SimulatorServer) -> None:
    response = signed_request(ovh_sim, "POST", POOLS_A, "[1, 2]")
    assert response.status_code == 400
    assert "expected a JSON object" in response.json()["message"]


def test_empty_put_is_accepted(client: Any) -> None:
    assert client.put(f"{POOLS_A}/{SYSTEM_POOL}") is None


def test_cluster_path_for_flavors_unknown_cluster(client: Any) -> None:
    with pytest.raises(ovh.ResourceNotFoundError):
        client.get(KUBE_A_PATH.replace("6f1c", "0000") + "/flavors")
