"""Admission of OVHNodePool objects by a real kube-apiserver with the CRD applied.

Every object is written with `kubectl apply`, so the checks cover the OpenAPI schema, the CEL
rules and kubectl's server-side field validation, which is strict by default. A rejected write must
name the field in kubectl's error output.
"""

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from kube_control_plane.controlplane import ControlPlane
from tests.e2e.support import delete_node_pools

pytestmark = pytest.mark.e2e

CRD_PATH = Path(__file__).resolve().parents[2] / "crds" / "ovhnodepools.yaml"
CRD_NAME = "ovhnodepools.ovh.nodepool-operator.io"
OBJECT_NAME = "pool-a"

# A spec key set to REMOVE is deleted from the base spec instead of being set.
REMOVE = object()


@pytest.fixture(scope="module")
def crd_installed(control_plane: ControlPlane) -> None:
    control_plane.kubectl("apply", "-f", str(CRD_PATH))
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")


@pytest.fixture(autouse=True)
def remove_objects(control_plane: ControlPlane, namespace: str) -> Iterator[None]:
    """Delete the test's objects: deleted namespaces keep them, as no controller empties them."""
    yield
    delete_node_pools(control_plane, namespace)


def manifest(
    spec_changes: dict[str, Any] | None = None,
    *,
    name: str = OBJECT_NAME,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build an OVHNodePool manifest from a valid minimal spec and `spec_changes`."""
    base_spec: dict[str, Any] = {
        "projectId": "0123456789abcdef0123456789abcdef",
        "kubeId": "5d8e2c4a-1b3f-4e6a-9c7d-0f1e2d3c4b5a",
        "flavorName": "b3-8",
    }
    if spec is not None:
        base_spec = copy.deepcopy(spec)
    for key, value in (spec_changes or {}).items():
        if value is REMOVE:
            base_spec.pop(key, None)
        else:
            base_spec[key] = value
    return {
        "apiVersion": "ovh.nodepool-operator.io/v1alpha1",
        "kind": "OVHNodePool",
        "metadata": {"name": name},
        "spec": base_spec,
    }


def apply(control_plane: ControlPlane, namespace: str, document: dict[str, Any]) -> tuple[int, str]:
    """Apply `document` with kubectl and return its exit code and error output."""
    result = control_plane.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(document), check=False
    )
    return result.returncode, result.stderr


def read_object(control_plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    result = control_plane.kubectl("get", "ovhnodepool", name, "-n", namespace, "-o", "json")
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@dataclass(frozen=True)
class InvalidCase:
    """An object that the API server must reject, and the words its error must contain."""

    id: str
    document: dict[str, Any]
    expected: tuple[str, ...]


def taints(*items: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"taints": list(items)}}


INVALID_CASES = [
    # spec.name follows the OVH node pool name rules.
    InvalidCase("name-uppercase", manifest({"name": "Pool-A"}), ("spec.name", "should match")),
    InvalidCase("name-underscore", manifest({"name": "pool_a"}), ("spec.name", "should match")),
    InvalidCase("name-dot", manifest({"name": "pool.a"}), ("spec.name", "should match")),
    InvalidCase("name-leading-hyphen", manifest({"name": "-pool"}), ("spec.name", "should match")),
    InvalidCase("name-trailing-hyphen", manifest({"name": "pool-"}), ("spec.name", "should match")),
    InvalidCase("name-52-characters", manifest({"name": "a" * 52}), ("spec.name", "51")),
    InvalidCase("name-empty", manifest({"name": ""}), ("spec.name",)),
    InvalidCase("name-not-string", manifest({"name": 7}), ("spec.name", "must be of type string")),
    # Without spec.name, metadata.name becomes the pool name and must follow the same rules.
    InvalidCase(
        "metadata-name-52-characters",
        manifest(name="a" * 52),
        ("metadata.name", "not a valid OVH node pool name", "Set spec.name"),
    ),
    InvalidCase(
        "metadata-name-with-dot",
        manifest(name="pool.a"),
        ("metadata.name", "not a valid OVH node pool name", "shorten metadata.name"),
    ),
    # Required fields.
    InvalidCase(
        "missing-project-id",
        manifest({"projectId": REMOVE}),
        ("spec.projectId", "Required value"),
    ),
    InvalidCase("missing-kube-id", manifest({"kubeId": REMOVE}), ("spec.kubeId", "Required value")),
    InvalidCase(
        "missing-flavor-name",
        manifest({"flavorName": REMOVE}),
        ("spec.flavorName", "Required value"),
    ),
    InvalidCase(
        "missing-spec",
        {key: value for key, value in manifest().items() if key != "spec"},
        ("spec: Required value",),
    ),
    InvalidCase("empty-project-id", manifest({"projectId": ""}), ("spec.projectId",)),
    InvalidCase("empty-kube-id", manifest({"kubeId": ""}), ("spec.kubeId",)),
    InvalidCase("empty-flavor-name", manifest({"flavorName": ""}), ("spec.flavorName",)),
    # Node counts and bounds.
    InvalidCase(
        "desired-below-min",
        manifest({"desiredNodes": 1, "minNodes": 2}),
        ("spec.desiredNodes", "desiredNodes must be greater than or equal to minNodes"),
    ),
    InvalidCase(
        "desired-above-max",
        manifest({"desiredNodes": 6, "maxNodes": 5}),
        ("spec.desiredNodes", "desiredNodes must be less than or equal to maxNodes"),
    ),
    InvalidCase(
        "desired-negative",
        manifest({"desiredNodes": -1}),
        ("spec.desiredNodes", "greater than or equal to 0"),
    ),
    InvalidCase(
        "desired-101", manifest({"desiredNodes": 101}), ("spec.desiredNodes", "less than or equal")
    ),
    InvalidCase(
        "min-negative", manifest({"minNodes": -1}), ("spec.minNodes", "greater than or equal to 0")
    ),
    InvalidCase(
        "max-negative", manifest({"maxNodes": -1}), ("spec.maxNodes", "greater than or equal to 0")
    ),
    InvalidCase(
        "max-101",
        manifest({"maxNodes": 101}),
        ("spec.maxNodes", "OVH allows at most 100 nodes per pool"),
    ),
    InvalidCase(
        "min-above-max",
        manifest({"minNodes": 5, "maxNodes": 4}),
        ("spec.minNodes", "minNodes must be less than or equal to maxNodes"),
    ),
    InvalidCase(
        "anti-affinity-max-6",
        manifest({"antiAffinity": True, "maxNodes": 6}),
        ("spec.maxNodes", "anti-affinity pools hold at most 5 nodes"),
    ),
    InvalidCase(
        "anti-affinity-default-max",
        manifest({"antiAffinity": True}),
        ("spec.maxNodes", "maxNodes must be 5 or less when antiAffinity is true"),
    ),
    # Autoscaler settings.
    InvalidCase(
        "threshold-above-1",
        manifest({"autoscaling": {"scaleDownUtilizationThreshold": 1.5}}),
        ("spec.autoscaling.scaleDownUtilizationThreshold", "less than or equal to 1"),
    ),
    InvalidCase(
        "threshold-negative",
        manifest({"autoscaling": {"scaleDownUtilizationThreshold": -0.1}}),
        ("spec.autoscaling.scaleDownUtilizationThreshold", "greater than or equal to 0"),
    ),
    InvalidCase(
        "unneeded-time-negative",
        manifest({"autoscaling": {"scaleDownUnneededTimeSeconds": -1}}),
        ("spec.autoscaling.scaleDownUnneededTimeSeconds", "greater than or equal to 0"),
    ),
    InvalidCase(
        "unready-time-negative",
        manifest({"autoscaling": {"scaleDownUnreadyTimeSeconds": -1}}),
        ("spec.autoscaling.scaleDownUnreadyTimeSeconds", "greater than or equal to 0"),
    ),
    InvalidCase(
        "unneeded-time-fraction",
        manifest({"autoscaling": {"scaleDownUnneededTimeSeconds": 1.5}}),
        ("spec.autoscaling.scaleDownUnneededTimeSeconds", "must be of type integer"),
    ),
    # Availability zones.
    InvalidCase(
        "two-availability-zones",
        manifest({"availabilityZones": ["eu-west-par-a", "eu-west-par-b"]}),
        ("spec.availabilityZones", "at most 1"),
    ),
    InvalidCase(
        "availability-zones-not-list",
        manifest({"availabilityZones": "eu-west-par-a"}),
        ("spec.availabilityZones", "must be of type array"),
    ),
    InvalidCase(
        "availability-zone-empty",
        manifest({"availabilityZones": [""]}),
        ("spec.availabilityZones[0]",),
    ),
    # Node template.
    InvalidCase(
        "taint-bad-effect",
        manifest({"template": taints({"key": "gpu", "effect": "NoRun"})}),
        ("spec.template.spec.taints[0].effect", "Unsupported value"),
    ),
    InvalidCase(
        "taint-without-key",
        manifest({"template": taints({"value": "true", "effect": "NoSchedule"})}),
        ("spec.template.spec.taints[0].key", "Required value"),
    ),
    InvalidCase(
        "taint-empty-key",
        manifest({"template": taints({"key": "", "effect": "NoSchedule"})}),
        ("spec.template.spec.taints[0].key",),
    ),
    InvalidCase(
        "taint-without-effect",
        manifest({"template": taints({"key": "gpu"})}),
        ("spec.template.spec.taints[0].effect", "Required value"),
    ),
    InvalidCase(
        "labels-as-list",
        manifest({"template": {"metadata": {"labels": ["role=gpu"]}}}),
        ("spec.template.metadata.labels", "must be of type object"),
    ),
    InvalidCase(
        "label-value-not-string",
        manifest({"template": {"metadata": {"labels": {"replicas": 3}}}}),
        ("spec.template.metadata.labels.replicas", "must be of type string"),
    ),
    InvalidCase(
        "too-many-labels",
        manifest({"template": {"metadata": {"labels": {f"l{i}": "x" for i in range(65)}}}}),
        ("spec.template.metadata.labels", "64"),
    ),
    InvalidCase(
        "finalizers-as-string",
        manifest({"template": {"metadata": {"finalizers": "example.com/keep"}}}),
        ("spec.template.metadata.finalizers", "must be of type array"),
    ),
    InvalidCase(
        "unschedulable-as-string",
        manifest({"template": {"spec": {"unschedulable": "yes"}}}),
        ("spec.template.spec.unschedulable", "must be of type boolean"),
    ),
    # Policies.
    InvalidCase(
        "bad-deletion-policy",
        manifest({"deletionPolicy": "Retain"}),
        ("spec.deletionPolicy", "Unsupported value"),
    ),
    InvalidCase(
        "bad-management-policy",
        manifest({"managementPolicy": "ReadOnly"}),
        ("spec.managementPolicy", "Unsupported value"),
    ),
    # Credentials and floating IPs.
    InvalidCase(
        "secret-ref-with-namespace",
        manifest({"credentialsSecretRef": {"name": "ovh-credentials", "namespace": "other"}}),
        (
            "spec.credentialsSecretRef.namespace",
            "the Secret must be in the namespace of the OVHNodePool",
        ),
    ),
    InvalidCase(
        "secret-ref-without-name",
        manifest({"credentialsSecretRef": {}}),
        ("spec.credentialsSecretRef.name", "Required value"),
    ),
    InvalidCase(
        "secret-ref-bad-name",
        manifest({"credentialsSecretRef": {"name": "OVH_Credentials"}}),
        ("spec.credentialsSecretRef.name", "should match"),
    ),
    InvalidCase(
        "floating-ips-without-enabled",
        manifest({"attachFloatingIps": {}}),
        ("spec.attachFloatingIps.enabled", "Required value"),
    ),
    InvalidCase(
        "floating-ips-enabled-as-string",
        manifest({"attachFloatingIps": {"enabled": "yes"}}),
        ("spec.attachFloatingIps.enabled", "must be of type boolean"),
    ),
    # Wrong types and unknown fields.
    InvalidCase(
        "desired-as-word",
        manifest({"desiredNodes": "three"}),
        ("spec.desiredNodes", "must be of type integer"),
    ),
    InvalidCase(
        "min-as-fraction",
        manifest({"minNodes": 1.5}),
        ("spec.minNodes", "must be of type integer"),
    ),
    InvalidCase(
        "autoscale-as-string",
        manifest({"autoscale": "yes"}),
        ("spec.autoscale", "must be of type boolean"),
    ),
    InvalidCase(
        "anti-affinity-as-string",
        manifest({"antiAffinity": "true"}),
        ("spec.antiAffinity", "must be of type boolean"),
    ),
    InvalidCase(
        "unknown-spec-field",
        manifest({"nodeCount": 3}),
        ('unknown field "spec.nodeCount"',),
    ),
]


@pytest.mark.usefixtures("crd_installed")
@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda case: case.id)
def test_invalid_object_rejected(
    control_plane: ControlPlane, namespace: str, case: InvalidCase
) -> None:
    returncode, stderr = apply(control_plane, namespace, case.document)

    assert returncode != 0, f"kubectl apply accepted the invalid object {case.id}"
    for words in case.expected:
        assert words in stderr


@pytest.mark.usefixtures("crd_installed")
@pytest.mark.parametrize(
    "apply_options",
    [["--validate=false"], ["--server-side"]],
    ids=["without-field-validation", "server-side-apply"],
)
def test_secret_namespace_rejected_without_strict_validation(
    control_plane: ControlPlane, namespace: str, apply_options: list[str]
) -> None:
    # Without strict field validation the API server drops undeclared fields, so the
    # CRD declares credentialsSecretRef.namespace and rejects it with a CEL rule.
    document = manifest({"credentialsSecretRef": {"name": "ovh-credentials", "namespace": "other"}})

    result = control_plane.kubectl(
        "apply",
        *apply_options,
        "-n",
        namespace,
        "-f",
        "-",
        input=yaml.safe_dump(document),
        check=False,
    )

    assert result.returncode != 0
    assert "spec.credentialsSecretRef.namespace" in result.stderr
    assert "the Secret must be in the namespace of the OVHNodePool" in result.stderr


@dataclass(frozen=True)
class UpdateCase:
    """An update of a valid object, from `initial` to `initial` with `changes` applied."""

    id: str
    changes: dict[str, Any]
    initial_changes: dict[str, Any] = field(default_factory=dict)
    expected: tuple[str, ...] = ()


# Every initial spec of the update cases is valid on its own.
BASE_UPDATE_SPEC = {
    "projectId": "0123456789abcdef0123456789abcdef",
    "kubeId": "5d8e2c4a-1b3f-4e6a-9c7d-0f1e2d3c4b5a",
    "flavorName": "b3-8",
    "name": "gpu-pool",
    "maxNodes": 5,
    "availabilityZones": ["eu-west-par-a"],
}

REJECTED_UPDATES = [
    UpdateCase(
        "change-project-id",
        {"projectId": "fedcba9876543210fedcba9876543210"},
        expected=("spec.projectId", "projectId is immutable"),
    ),
    UpdateCase(
        "change-kube-id",
        {"kubeId": "00000000-0000-4000-8000-000000000000"},
        expected=("spec.kubeId", "kubeId is immutable"),
    ),
    UpdateCase(
        "change-flavor-name",
        {"flavorName": "b3-16"},
        expected=("spec.flavorName", "flavorName is immutable"),
    ),
    UpdateCase(
        "change-name",
        {"name": "other-pool"},
        expected=("spec.name", "name is immutable"),
    ),
    UpdateCase(
        "add-name",
        {"name": "gpu-pool"},
        initial_changes={"name": REMOVE},
        expected=("spec.name", "name is immutable"),
    ),
    UpdateCase(
        "remove-name",
        {"name": REMOVE},
        expected=("spec.name", "name is immutable"),
    ),
    UpdateCase(
        "enable-anti-affinity",
        {"antiAffinity": True},
        expected=("spec.antiAffinity", "antiAffinity is immutable"),
    ),
    UpdateCase(
        "disable-anti-affinity",
        {"antiAffinity": False},
        initial_changes={"antiAffinity": True},
        expected=("spec.antiAffinity", "antiAffinity is immutable"),
    ),
    UpdateCase(
        "enable-monthly-billing",
        {"monthlyBilled": True},
        expected=("spec.monthlyBilled", "monthlyBilled is immutable"),
    ),
    UpdateCase(
        "change-availability-zone",
        {"availabilityZones": ["eu-west-par-b"]},
        expected=("spec.availabilityZones", "availabilityZones is immutable"),
    ),
    UpdateCase(
        "add-availability-zone",
        {"availabilityZones": ["eu-west-par-a"]},
        initial_changes={"availabilityZones": REMOVE},
        expected=("spec.availabilityZones", "availabilityZones is immutable"),
    ),
    UpdateCase(
        "remove-availability-zone",
        {"availabilityZones": REMOVE},
        expected=("spec.availabilityZones", "availabilityZones is immutable"),
    ),
    UpdateCase(
        "scale-beyond-anti-affinity-limit",
        {"maxNodes": 6},
        initial_changes={"antiAffinity": True},
        expected=("spec.maxNodes", "anti-affinity pools hold at most 5 nodes"),
    ),
]

ACCEPTED_UPDATES = [
    UpdateCase("set-desired-nodes", {"desiredNodes": 3}),
    UpdateCase("change-desired-nodes", {"desiredNodes": 1}, initial_changes={"desiredNodes": 4}),
    UpdateCase(
        "unset-desired-nodes", {"desiredNodes": REMOVE}, initial_changes={"desiredNodes": 2}
    ),
    UpdateCase("change-bounds", {"minNodes": 1, "maxNodes": 3}),
    UpdateCase(
        "enable-autoscale",
        {
            "autoscale": True,
            "autoscaling": {
                "scaleDownUtilizationThreshold": 0.4,
                "scaleDownUnneededTimeSeconds": 300,
                "scaleDownUnreadyTimeSeconds": 900,
            },
        },
    ),
    UpdateCase(
        "change-template",
        {
            "template": {
                "metadata": {
                    "labels": {"role": "gpu"},
                    "annotations": {"example.com/owner": "team-a"},
                    "finalizers": [],
                },
                "spec": {
                    "unschedulable": False,
                    "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
                },
            }
        },
    ),
    UpdateCase("orphan-on-delete", {"deletionPolicy": "Orphan"}),
    UpdateCase("observe-only", {"managementPolicy": "ObserveOnly"}),
    UpdateCase("attach-floating-ips", {"attachFloatingIps": {"enabled": True}}),
    UpdateCase("set-credentials", {"credentialsSecretRef": {"name": "ovh-credentials"}}),
]


def create_initial(control_plane: ControlPlane, namespace: str, case: UpdateCase) -> dict[str, Any]:
    initial = manifest(case.initial_changes, spec=BASE_UPDATE_SPEC)
    returncode, stderr = apply(control_plane, namespace, initial)
    assert returncode == 0, f"initial object of {case.id} was rejected: {stderr}"
    return initial


@pytest.mark.usefixtures("crd_installed")
@pytest.mark.parametrize("case", REJECTED_UPDATES, ids=lambda case: case.id)
def test_update_rejected(control_plane: ControlPlane, namespace: str, case: UpdateCase) -> None:
    initial = create_initial(control_plane, namespace, case)
    record_pool(control_plane, namespace)
    updated = manifest(case.changes, spec=initial["spec"])

    returncode, stderr = apply(control_plane, namespace, updated)

    assert returncode != 0, f"kubectl apply accepted the update {case.id}"
    for words in case.expected:
        assert words in stderr
    stored_spec = read_object(control_plane, namespace, OBJECT_NAME)["spec"]
    for key, value in initial["spec"].items():
        assert stored_spec[key] == value
    for key, value in case.changes.items():
        if value is REMOVE:
            assert key in stored_spec
        else:
            assert stored_spec.get(key) != value


def record_pool(control_plane: ControlPlane, namespace: str) -> None:
    """Write a pool id into status, as the operator does once OVH created the pool."""
    patch = json.dumps({"status": {"nodePoolId": "0b7c4e7e-61a4-4c4b-9a51-5b0c3f0e9d21"}})
    control_plane.kubectl(
        "patch",
        "onp",
        OBJECT_NAME,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        patch,
    )


IDENTITY_CHANGES = [
    case for case in REJECTED_UPDATES if case.id != "scale-beyond-anti-affinity-limit"
]


@pytest.mark.usefixtures("crd_installed")
@pytest.mark.parametrize("case", IDENTITY_CHANGES, ids=lambda case: case.id)
def test_identity_editable_before_pool(
    control_plane: ControlPlane, namespace: str, case: UpdateCase
) -> None:
    initial = create_initial(control_plane, namespace, case)
    updated = manifest(case.changes, spec=initial["spec"])

    returncode, stderr = apply(control_plane, namespace, updated)

    assert returncode == 0, stderr
    stored_spec = read_object(control_plane, namespace, OBJECT_NAME)["spec"]
    for key, value in case.changes.items():
        if value is REMOVE:
            assert key not in stored_spec
        else:
            assert stored_spec[key] == value


@pytest.mark.usefixtures("crd_installed")
@pytest.mark.parametrize("case", ACCEPTED_UPDATES, ids=lambda case: case.id)
def test_update_accepted(control_plane: ControlPlane, namespace: str, case: UpdateCase) -> None:
    initial = create_initial(control_plane, namespace, case)
    updated = manifest(case.changes, spec=initial["spec"])

    returncode, stderr = apply(control_plane, namespace, updated)

    assert returncode == 0, stderr
    stored_spec = read_object(control_plane, namespace, OBJECT_NAME)["spec"]
    for key, value in updated["spec"].items():
        assert stored_spec[key] == value
    for key, value in case.changes.items():
        if value is REMOVE:
            assert key not in stored_spec


@pytest.mark.usefixtures("crd_installed")
def test_valid_object_gets_defaults(control_plane: ControlPlane, namespace: str) -> None:
    returncode, stderr = apply(control_plane, namespace, manifest())
    assert returncode == 0, stderr

    spec = read_object(control_plane, namespace, OBJECT_NAME)["spec"]

    assert spec["minNodes"] == 0
    assert spec["maxNodes"] == 100
    assert spec["autoscale"] is False
    assert spec["antiAffinity"] is False
    assert spec["monthlyBilled"] is False
    assert spec["deletionPolicy"] == "Delete"
    assert spec["managementPolicy"] == "Manage"
    assert "name" not in spec
    assert "desiredNodes" not in spec


@pytest.mark.usefixtures("crd_installed")
def test_dotted_name_accepted_with_spec_name(control_plane: ControlPlane, namespace: str) -> None:
    document = manifest({"name": "pool-a"}, name="pool.a")

    returncode, stderr = apply(control_plane, namespace, document)

    assert returncode == 0, stderr


@pytest.mark.usefixtures("crd_installed")
def test_status_keeps_unknown_fields(control_plane: ControlPlane, namespace: str) -> None:
    returncode, stderr = apply(control_plane, namespace, manifest())
    assert returncode == 0, stderr
    status = {
        "status": {
            "currentNodes": 2,
            "desiredNodesOwner": "Operator",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "InSync",
                    "message": "The pool matches the spec.",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
            "kopf": {"progress": {"create": {"started": "2026-01-01T00:00:00Z"}}},
        }
    }

    control_plane.kubectl(
        "patch",
        "ovhnodepool",
        OBJECT_NAME,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )

    stored_status = read_object(control_plane, namespace, OBJECT_NAME)["status"]
    assert stored_status["currentNodes"] == 2
    assert stored_status["kopf"] == status["status"]["kopf"]
    assert stored_status["conditions"][0]["reason"] == "InSync"


@pytest.mark.usefixtures("crd_installed")
def test_scale_sets_desired_nodes(control_plane: ControlPlane, namespace: str) -> None:
    returncode, stderr = apply(control_plane, namespace, manifest())
    assert returncode == 0, stderr

    control_plane.kubectl("scale", "-n", namespace, f"onp/{OBJECT_NAME}", "--replicas=3")

    spec = read_object(control_plane, namespace, OBJECT_NAME)["spec"]
    assert spec["desiredNodes"] == 3


@pytest.mark.usefixtures("crd_installed")
def test_scale_beyond_max_nodes_rejected(control_plane: ControlPlane, namespace: str) -> None:
    returncode, stderr = apply(control_plane, namespace, manifest({"maxNodes": 4}))
    assert returncode == 0, stderr

    result = control_plane.kubectl(
        "scale", "-n", namespace, f"onp/{OBJECT_NAME}", "--replicas=5", check=False
    )

    assert result.returncode != 0
    assert "desiredNodes must be less than or equal to maxNodes" in result.stderr


@pytest.mark.usefixtures("crd_installed")
def test_get_shows_printer_columns(control_plane: ControlPlane, namespace: str) -> None:
    returncode, stderr = apply(control_plane, namespace, manifest())
    assert returncode == 0, stderr

    table = control_plane.kubectl("get", "onp", "-n", namespace).stdout
    wide_table = control_plane.kubectl("get", "onp", "-n", namespace, "-o", "wide").stdout

    header = table.splitlines()[0].split()
    # "OVH STATUS" is one column whose header contains a space.
    expected_header = [
        "NAME",
        "FLAVOR",
        "DESIRED",
        "CURRENT",
        "AVAILABLE",
        "OVH",
        "STATUS",
        "READY",
        "AGE",
    ]
    assert header == expected_header
    wide_header = wide_table.splitlines()[0]
    for column in ("UP-TO-DATE", "MIN", "MAX", "AUTOSCALE"):
        assert column in wide_header
    assert OBJECT_NAME in table


@pytest.mark.usefixtures("crd_installed")
def test_category_lists_objects(control_plane: ControlPlane, namespace: str) -> None:
    returncode, stderr = apply(control_plane, namespace, manifest())
    assert returncode == 0, stderr

    result = control_plane.kubectl("get", "ovh", "-n", namespace, "-o", "name")

    assert result.stdout.split() == [f"ovhnodepool.ovh.nodepool-operator.io/{OBJECT_NAME}"]
