"""Static checks of the OVHNodePool CustomResourceDefinition, without an API server.

The end-to-end admission tests check how a real kube-apiserver applies these rules. These tests
catch a missing field, subresource or printer column before any server is started.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

CRD_PATH = Path(__file__).resolve().parents[2] / "crds" / "ovhnodepools.yaml"

SPEC_FIELD_TYPES = {
    "projectId": "string",
    "kubeId": "string",
    "name": "string",
    "flavorName": "string",
    "desiredNodes": "integer",
    "minNodes": "integer",
    "maxNodes": "integer",
    "autoscale": "boolean",
    "autoscaling": "object",
    "antiAffinity": "boolean",
    "monthlyBilled": "boolean",
    "availabilityZones": "array",
    "attachFloatingIps": "object",
    "template": "object",
    "credentialsSecretRef": "object",
    "deletionPolicy": "string",
    "managementPolicy": "string",
}

SPEC_DEFAULTS = {
    "minNodes": 0,
    "maxNodes": 100,
    "autoscale": False,
    "antiAffinity": False,
    "monthlyBilled": False,
    "deletionPolicy": "Delete",
    "managementPolicy": "Manage",
}

STATUS_FIELD_TYPES = {
    "observedGeneration": "integer",
    "nodePoolId": "string",
    "nodePoolName": "string",
    "ovhStatus": "string",
    "sizeStatus": "string",
    "desiredNodes": "integer",
    "desiredNodesOwner": "string",
    "currentNodes": "integer",
    "availableNodes": "integer",
    "upToDateNodes": "integer",
    "minNodes": "integer",
    "maxNodes": "integer",
    "autoscale": "boolean",
    "flavorName": "string",
    "lastSyncTime": "string",
    "message": "string",
    "conditions": "array",
}

PRINTER_COLUMNS = {
    "Flavor": (".spec.flavorName", 0),
    "Desired": (".status.desiredNodes", 0),
    "Current": (".status.currentNodes", 0),
    "Available": (".status.availableNodes", 0),
    "Up-to-date": (".status.upToDateNodes", 1),
    "Min": (".spec.minNodes", 1),
    "Max": (".spec.maxNodes", 1),
    "Autoscale": (".spec.autoscale", 1),
    "OVH Status": (".status.ovhStatus", 0),
    "Ready": ('.status.conditions[?(@.type=="Ready")].status', 0),
    "Age": (".metadata.creationTimestamp", 0),
}


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    with CRD_PATH.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


@pytest.fixture(scope="module")
def version(crd: dict[str, Any]) -> dict[str, Any]:
    versions: list[dict[str, Any]] = crd["spec"]["versions"]
    assert len(versions) == 1
    return versions[0]


@pytest.fixture(scope="module")
def root_schema(version: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.fixture(scope="module")
def spec_schema(root_schema: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = root_schema["properties"]["spec"]
    return schema


@pytest.fixture(scope="module")
def status_schema(root_schema: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = root_schema["properties"]["status"]
    return schema


def iter_schemas(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every schema node below and including `schema`, with its dotted path."""
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from iter_schemas(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from iter_schemas(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from iter_schemas(schema["additionalProperties"], f"{path}{{}}")


def test_crd_names_and_scope(crd: dict[str, Any]) -> None:
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "ovhnodepools.ovh.nodepool-operator.io"
    assert crd["spec"]["group"] == "ovh.nodepool-operator.io"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"] == {
        "kind": "OVHNodePool",
        "listKind": "OVHNodePoolList",
        "plural": "ovhnodepools",
        "singular": "ovhnodepool",
        "shortNames": ["onp"],
        "categories": ["ovh"],
    }


def test_version_served_and_stored(version: dict[str, Any]) -> None:
    assert version["name"] == "v1alpha1"
    assert version["served"] is True
    assert version["storage"] is True


@pytest.mark.parametrize(("field", "expected_type"), SPEC_FIELD_TYPES.items())
def test_spec_field_type(spec_schema: dict[str, Any], field: str, expected_type: str) -> None:
    properties = spec_schema["properties"]
    assert field in properties
    assert properties[field]["type"] == expected_type
    assert properties[field].get("description"), f"spec.{field} has no description"


def test_spec_has_no_undocumented_fields(spec_schema: dict[str, Any]) -> None:
    assert set(spec_schema["properties"]) == set(SPEC_FIELD_TYPES)


def test_spec_required_fields(root_schema: dict[str, Any], spec_schema: dict[str, Any]) -> None:
    assert root_schema["required"] == ["spec"]
    assert sorted(spec_schema["required"]) == ["flavorName", "kubeId", "projectId"]


@pytest.mark.parametrize(("field", "default"), SPEC_DEFAULTS.items())
def test_spec_defaults(spec_schema: dict[str, Any], field: str, default: object) -> None:
    assert spec_schema["properties"][field]["default"] == default


def test_name_has_no_default(spec_schema: dict[str, Any]) -> None:
    assert "default" not in spec_schema["properties"]["name"]
    assert "default" not in spec_schema["properties"]["desiredNodes"]


def test_name_follows_ovh_rules(spec_schema: dict[str, Any]) -> None:
    name = spec_schema["properties"]["name"]
    assert name["maxLength"] == 51
    assert name["minLength"] == 1
    assert name["pattern"] == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def test_node_count_bounds(spec_schema: dict[str, Any]) -> None:
    properties = spec_schema["properties"]
    for field in ("desiredNodes", "minNodes", "maxNodes"):
        assert properties[field]["minimum"] == 0, field
    assert properties["desiredNodes"]["maximum"] == 100
    assert properties["minNodes"]["maximum"] == 100
    max_nodes_rules = [rule["rule"] for rule in properties["maxNodes"]["x-kubernetes-validations"]]
    assert "self <= 100" in max_nodes_rules


def test_enums(spec_schema: dict[str, Any], status_schema: dict[str, Any]) -> None:
    properties = spec_schema["properties"]
    assert properties["deletionPolicy"]["enum"] == ["Delete", "Orphan"]
    assert properties["managementPolicy"]["enum"] == ["Manage", "ObserveOnly"]
    taint = properties["template"]["properties"]["spec"]["properties"]["taints"]["items"]
    assert taint["properties"]["effect"]["enum"] == ["NoSchedule", "PreferNoSchedule", "NoExecute"]
    assert sorted(taint["required"]) == ["effect", "key"]
    assert status_schema["properties"]["desiredNodesOwner"]["enum"] == ["Operator", "Autoscaler"]


def test_autoscaling_bounds(spec_schema: dict[str, Any]) -> None:
    autoscaling = spec_schema["properties"]["autoscaling"]["properties"]
    threshold = autoscaling["scaleDownUtilizationThreshold"]
    assert threshold["type"] == "number"
    assert threshold["minimum"] == 0
    assert threshold["maximum"] == 1
    assert autoscaling["scaleDownUnneededTimeSeconds"]["minimum"] == 0
    assert autoscaling["scaleDownUnreadyTimeSeconds"]["minimum"] == 0


def test_availability_zones_at_most_one(spec_schema: dict[str, Any]) -> None:
    assert spec_schema["properties"]["availabilityZones"]["maxItems"] == 1


def test_attach_floating_ips_requires_enabled(spec_schema: dict[str, Any]) -> None:
    assert spec_schema["properties"]["attachFloatingIps"]["required"] == ["enabled"]


def test_credentials_secret_ref_rejects_namespace(spec_schema: dict[str, Any]) -> None:
    secret_ref = spec_schema["properties"]["credentialsSecretRef"]
    assert secret_ref["required"] == ["name"]
    assert secret_ref["properties"]["name"]["maxLength"] == 253
    # The namespace property must be declared, or the API server would prune it before CEL runs.
    assert "namespace" in secret_ref["properties"]
    rules = [rule["rule"] for rule in secret_ref["x-kubernetes-validations"]]
    assert "!has(self.__namespace__)" in rules


IMMUTABLE_ONCE_CREATED = [
    "projectId",
    "kubeId",
    "name",
    "flavorName",
    "antiAffinity",
    "monthlyBilled",
    "availabilityZones",
]


@pytest.mark.parametrize("field", IMMUTABLE_ONCE_CREATED)
def test_immutable_once_created_rule(root_schema: dict[str, Any], field: str) -> None:
    rules = root_schema["x-kubernetes-validations"]
    rules_by_path = {rule.get("fieldPath"): rule for rule in rules}
    rule = rules_by_path[f".spec.{field}"]
    assert "!has(oldSelf.status.nodePoolId)" in rule["rule"]
    assert "!has(oldSelf.status.nodePoolName)" in rule["rule"]
    assert f"has(self.spec.{field}) == has(oldSelf.spec.{field})" in rule["rule"]
    assert rule["message"].startswith(f"{field} is immutable once the OVH pool exists")


def test_cross_field_rules(spec_schema: dict[str, Any]) -> None:
    rules = {rule["rule"] for rule in spec_schema["x-kubernetes-validations"]}
    assert "self.minNodes <= self.maxNodes" in rules
    assert "!has(self.desiredNodes) || self.desiredNodes >= self.minNodes" in rules
    assert "!has(self.desiredNodes) || self.desiredNodes <= self.maxNodes" in rules
    assert "!self.antiAffinity || self.maxNodes <= 5" in rules


def test_root_rule_checks_default_pool_name(root_schema: dict[str, Any]) -> None:
    rules = root_schema["x-kubernetes-validations"]
    name_rules = [rule for rule in rules if rule.get("fieldPath") == ".metadata.name"]
    assert len(name_rules) == 1
    assert name_rules[0]["rule"].startswith("has(self.spec.name) ||")
    assert "self.metadata.name.matches" in name_rules[0]["rule"]
    assert root_schema["properties"]["metadata"]["properties"]["name"]["maxLength"] == 253


def test_every_cel_rule_has_message(root_schema: dict[str, Any]) -> None:
    rule_count = 0
    for path, schema in iter_schemas(root_schema, "<root>"):
        for rule in schema.get("x-kubernetes-validations", []):
            rule_count += 1
            assert rule.get("message"), f"rule {rule['rule']!r} at {path} has no message"
            assert "\n" not in rule["message"], f"message of the rule at {path} has a line break"
            assert rule.get("reason", "FieldValueInvalid") in {
                "FieldValueInvalid",
                "FieldValueForbidden",
                "FieldValueRequired",
                "FieldValueDuplicate",
            }
    assert rule_count >= 13


def test_spec_sizes_bounded(spec_schema: dict[str, Any]) -> None:
    for path, schema in iter_schemas(spec_schema, "spec"):
        schema_type = schema.get("type")
        if schema_type == "string" and "enum" not in schema:
            assert "maxLength" in schema, f"{path} has no maxLength"
        if schema_type == "array":
            assert "maxItems" in schema, f"{path} has no maxItems"
        if schema_type == "object" and "additionalProperties" in schema:
            assert "maxProperties" in schema, f"{path} has no maxProperties"


def test_status_preserves_unknown_fields(status_schema: dict[str, Any]) -> None:
    assert status_schema["type"] == "object"
    assert status_schema["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize(("field", "expected_type"), STATUS_FIELD_TYPES.items())
def test_status_field_type(status_schema: dict[str, Any], field: str, expected_type: str) -> None:
    assert status_schema["properties"][field]["type"] == expected_type


def test_status_conditions_keyed_by_type(status_schema: dict[str, Any]) -> None:
    conditions = status_schema["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert "type" in item["required"]
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"
    assert item["properties"]["observedGeneration"]["format"] == "int64"


def test_subresources(version: dict[str, Any]) -> None:
    subresources = version["subresources"]
    assert subresources["status"] == {}
    assert subresources["scale"] == {
        "specReplicasPath": ".spec.desiredNodes",
        "statusReplicasPath": ".status.currentNodes",
    }


def test_printer_columns(version: dict[str, Any]) -> None:
    columns = {
        column["name"]: (column["jsonPath"], column.get("priority", 0))
        for column in version["additionalPrinterColumns"]
    }
    assert columns == PRINTER_COLUMNS
    names = [column["name"] for column in version["additionalPrinterColumns"]]
    assert names == list(PRINTER_COLUMNS)
