"""Ownership and drift: adoption, pause, observe-only, drift repair, conflicts, credentials."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    OperatorProcess,
    annotate,
    apply,
    condition,
    credentials_secret,
    events,
    get_object,
    node_pool,
    pools_of,
    seed_pool,
    wait_for,
    wait_ready,
    wait_stalled,
    writes,
)

pytestmark = pytest.mark.e2e

ADOPT = "ovh.nodepool-operator.io/adopt"
PAUSED = "ovh.nodepool-operator.io/paused"


def reasons(plane: ControlPlane, namespace: str, name: str) -> list[str]:
    """Return the reasons of the Events about an object."""
    return [str(event["reason"]) for event in events(plane, namespace, name)]


def messages(plane: ControlPlane, namespace: str, name: str, reason: str) -> list[str]:
    """Return the messages of the Events with that reason."""
    found = events(plane, namespace, name)
    return [str(event["message"]) for event in found if event["reason"] == reason]


def with_annotations(manifest: dict[str, Any], **annotations: str) -> dict[str, Any]:
    """Return the manifest with these annotations."""
    manifest["metadata"]["annotations"] = annotations
    return manifest


def patch_spec(plane: ControlPlane, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """Merge fields into an object's spec."""
    body = json.dumps({"spec": spec})
    plane.kubectl("patch", "onp", name, "-n", namespace, "--type=merge", "-p", body)


def test_adopt_by_name_sends_only_changes(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    existing = seed_pool(
        e2e_simulator, project_id, kube_id, name="legacy", desiredNodes=2, maxNodes=10
    )
    manifest = node_pool(workspace, "legacy", project_id, kube_id, desiredNodes=3, maxNodes=10)
    apply(control_plane, with_annotations(manifest, **{ADOPT: "true"}))

    obj = wait_for(
        lambda: (
            (o := wait_ready(control_plane, workspace, "legacy"))
            and o["status"]["currentNodes"] == 3
            and o
        ),
        what="the adopted pool at 3 nodes",
    )

    assert obj["status"]["nodePoolId"] == existing["id"]
    sent = writes(e2e_simulator, kube_id)
    assert [entry["method"] for entry in sent] == ["PUT"]
    assert "Adopted" in reasons(control_plane, workspace, "legacy")
    updates = messages(control_plane, workspace, "legacy", "Updated")
    assert any("desiredNodes=3" in message for message in updates)


def test_adopt_identical_pool_writes_nothing(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    existing = seed_pool(
        e2e_simulator,
        project_id,
        kube_id,
        name="same",
        desiredNodes=2,
        minNodes=0,
        maxNodes=100,
    )
    manifest = node_pool(workspace, "same", project_id, kube_id, desiredNodes=2)
    apply(control_plane, with_annotations(manifest, **{ADOPT: existing["id"]}))

    obj = wait_ready(control_plane, workspace, "same")
    time.sleep(2)  # Several observation rounds, in which no write may happen.

    assert obj["status"]["nodePoolId"] == existing["id"]
    assert writes(e2e_simulator, kube_id) == []


def test_adopt_immutable_mismatch_stalls(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    seed_pool(e2e_simulator, project_id, kube_id, name="other", flavorName="b3-16")
    manifest = node_pool(workspace, "other", project_id, kube_id, flavorName="b3-8")
    apply(control_plane, with_annotations(manifest, **{ADOPT: "true"}))

    obj = wait_stalled(control_plane, workspace, "other", "ImmutableFieldMismatch")

    assert "flavorName" in condition(obj, "Stalled")["message"]
    assert writes(e2e_simulator, kube_id) == []


def test_foreign_pool_not_taken_over(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    existing = seed_pool(e2e_simulator, project_id, kube_id, name="taken", desiredNodes=1)
    apply(control_plane, node_pool(workspace, "taken", project_id, kube_id, desiredNodes=4))

    obj = wait_stalled(control_plane, workspace, "taken", "AlreadyExists")

    message = condition(obj, "Stalled")["message"]
    assert ADOPT in message
    assert existing["id"] in message
    assert writes(e2e_simulator, kube_id) == []
    assert "AlreadyExists" in reasons(control_plane, workspace, "taken")

    annotate(control_plane, workspace, "taken", ADOPT, "true")
    obj = wait_for(
        lambda: (
            (o := wait_ready(control_plane, workspace, "taken"))
            and o["status"]["currentNodes"] == 4
            and o
        ),
        what="adoption after the annotation",
    )
    assert obj["status"]["nodePoolId"] == existing["id"]


def test_second_owner_stalls_naming_first(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "first", project_id, kube_id, name="shared"))
    wait_ready(control_plane, workspace, "first")

    second = node_pool(workspace, "second", project_id, kube_id, name="shared", desiredNodes=3)
    apply(control_plane, second)
    obj = wait_stalled(control_plane, workspace, "second", "Conflict")

    assert f"{workspace}/first" in condition(obj, "Stalled")["message"]
    assert len(pools_of(e2e_simulator, kube_id)) == 1
    assert [entry["method"] for entry in writes(e2e_simulator, kube_id)] == ["POST"]


def test_paused_object_writes_nothing(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "frozen", project_id, kube_id, desiredNodes=1))
    wait_ready(control_plane, workspace, "frozen")
    annotate(control_plane, workspace, "frozen", PAUSED, "true")
    wait_for(
        lambda: (
            condition(get_object(control_plane, workspace, "frozen"), "Paused").get("status")
            == "True"
        ),
        what="the Paused condition",
    )
    e2e_simulator.control.clear_requests()

    control_plane.kubectl("scale", "onp/frozen", "-n", workspace, "--replicas=3")
    time.sleep(3)
    assert writes(e2e_simulator, kube_id) == []
    obj = get_object(control_plane, workspace, "frozen")
    assert obj is not None
    assert condition(obj, "Ready")["status"] == "False"
    assert obj["status"]["desiredNodes"] == 1

    annotate(control_plane, workspace, "frozen", PAUSED, None)
    wait_for(
        lambda: (
            (o := wait_ready(control_plane, workspace, "frozen"))
            and o["status"]["currentNodes"] == 3
        ),
        what="the resize after unpausing",
    )


def test_paused_object_still_deletes(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "halt", project_id, kube_id, desiredNodes=1))
    wait_ready(control_plane, workspace, "halt")
    annotate(control_plane, workspace, "halt", PAUSED, "true")

    control_plane.kubectl("delete", "onp", "halt", "-n", workspace, "--timeout=60s")

    assert get_object(control_plane, workspace, "halt") is None
    assert pools_of(e2e_simulator, kube_id) == []


def test_observe_only_never_writes(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    existing = seed_pool(e2e_simulator, project_id, kube_id, name="watched", desiredNodes=2)
    manifest = node_pool(
        workspace, "watched", project_id, kube_id, desiredNodes=5, managementPolicy="ObserveOnly"
    )
    apply(control_plane, manifest)

    obj = wait_for(
        lambda: (
            (o := get_object(control_plane, workspace, "watched"))
            and o.get("status", {}).get("currentNodes") == 2
            and o
        ),
        what="the observed pool in status",
    )
    assert obj["status"]["nodePoolId"] == existing["id"]
    assert "desiredNodes" in condition(obj, "Ready")["message"]

    control_plane.kubectl("delete", "onp", "watched", "-n", workspace, "--timeout=60s")
    assert writes(e2e_simulator, kube_id) == []
    assert [pool["id"] for pool in pools_of(e2e_simulator, kube_id)] == [existing["id"]]


def test_drifted_field_put_back(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    manifest = node_pool(workspace, "drift", project_id, kube_id, desiredNodes=2, maxNodes=10)
    apply(control_plane, manifest)
    wait_ready(control_plane, workspace, "drift")
    pool_id = pools_of(e2e_simulator, kube_id)[0]["id"]

    e2e_simulator.control.patch_pool(pool_id, maxNodes=20)

    wait_for(
        lambda: pools_of(e2e_simulator, kube_id)[0]["maxNodes"] == 10, what="maxNodes put back"
    )
    drift_messages = messages(control_plane, workspace, "drift", "DriftCorrected")
    assert any("maxNodes" in message for message in drift_messages)


def test_deleted_pool_recreated(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "phoenix", project_id, kube_id, desiredNodes=2))
    first = wait_ready(control_plane, workspace, "phoenix")["status"]["nodePoolId"]

    e2e_simulator.control.delete_pool(first)

    obj = wait_for(
        lambda: (
            (o := wait_ready(control_plane, workspace, "phoenix"))
            and o["status"]["nodePoolId"] != first
            and o
        ),
        what="a new pool",
    )
    pools = pools_of(e2e_simulator, kube_id)
    assert [pool["id"] for pool in pools] == [obj["status"]["nodePoolId"]]
    assert pools[0]["desiredNodes"] == 2
    assert "PoolMissing" in reasons(control_plane, workspace, "phoenix")


def test_bad_credentials_recover_after_fix(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    broken = credentials_secret(workspace, e2e_simulator, name="broken")
    broken["stringData"]["consumerKey"] = "revoked-or-unknown"
    apply(control_plane, broken)
    manifest = node_pool(
        workspace, "creds", project_id, kube_id, credentialsSecretRef={"name": "broken"}
    )
    apply(control_plane, manifest)

    obj = wait_stalled(control_plane, workspace, "creds", "InvalidCredentials")
    assert "consumer key" in condition(obj, "Stalled")["message"]
    assert "revoked-or-unknown" not in json.dumps(obj)

    fixed = credentials_secret(workspace, e2e_simulator, name="broken")
    apply(control_plane, fixed)
    wait_ready(control_plane, workspace, "creds")
    assert operator.process is not None
    assert operator.process.poll() is None


def test_orphan_unblocks_stuck_deletion(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, credentials_secret(workspace, e2e_simulator, name="rotating"))
    manifest = node_pool(
        workspace, "stuck", project_id, kube_id, credentialsSecretRef={"name": "rotating"}
    )
    apply(control_plane, manifest)
    wait_ready(control_plane, workspace, "stuck")
    broken = credentials_secret(workspace, e2e_simulator, name="rotating")
    broken["stringData"]["applicationSecret"] = "wrong"
    apply(control_plane, broken)

    control_plane.kubectl("delete", "onp", "stuck", "-n", workspace, "--wait=false")
    time.sleep(3)
    assert get_object(control_plane, workspace, "stuck") is not None

    patch_spec(control_plane, workspace, "stuck", {"deletionPolicy": "Orphan"})
    wait_for(lambda: get_object(control_plane, workspace, "stuck") is None, what="release")
    assert len(pools_of(e2e_simulator, kube_id)) == 1


def test_never_created_releases_at_once(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    manifest = node_pool(
        workspace, "stillborn", project_id, kube_id, credentialsSecretRef={"name": "missing"}
    )
    apply(control_plane, manifest)
    wait_stalled(control_plane, workspace, "stillborn", "SecretNotFound")

    control_plane.kubectl("delete", "onp", "stillborn", "-n", workspace, "--timeout=20s")

    assert get_object(control_plane, workspace, "stillborn") is None
    assert writes(e2e_simulator, kube_id) == []


def test_adopting_object_outranks_name_claim(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    existing = seed_pool(e2e_simulator, project_id, kube_id, name="prized", desiredNodes=1)
    apply(control_plane, node_pool(workspace, "prized", project_id, kube_id, desiredNodes=1))
    wait_stalled(control_plane, workspace, "prized", "AlreadyExists")

    # An exported manifest: another object name, the same pool, and the adopt annotation.
    exported = node_pool(workspace, "imported", project_id, kube_id, name="prized", desiredNodes=1)
    apply(control_plane, with_annotations(exported, **{ADOPT: existing["id"]}))

    obj = wait_ready(control_plane, workspace, "imported")
    assert obj["status"]["nodePoolId"] == existing["id"]
    loser = wait_stalled(control_plane, workspace, "prized", "Conflict")
    assert f"{workspace}/imported" in condition(loser, "Stalled")["message"]
    assert writes(e2e_simulator, kube_id) == []
