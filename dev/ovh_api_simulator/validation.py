"""Checks of node pool create and update bodies, with OVH-style 400 messages naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ovh_api_simulator.errors import bad_request, invalid_parameter
from ovh_api_simulator.model import DEFAULT_AUTOSCALING, Pool, Region
from ovh_api_simulator.settings import Settings

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,49}[a-z0-9])?$")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")

CREATE_FIELDS = {
    "flavorName": "string",
    "name": "string",
    "desiredNodes": "integer",
    "minNodes": "integer",
    "maxNodes": "integer",
    "autoscale": "boolean",
    "antiAffinity": "boolean",
    "monthlyBilled": "boolean",
    "autoscaling": "object",
    "template": "object",
    "availabilityZones": "list of strings",
    "attachFloatingIps": "object",
}
UPDATE_FIELDS = {
    "desiredNodes": "integer",
    "minNodes": "integer",
    "maxNodes": "integer",
    "autoscale": "boolean",
    "autoscaling": "object",
    "template": "object",
    "attachFloatingIps": "object",
    "nodesToRemove": "list of strings",
}
IMMUTABLE_FIELDS = ("name", "flavorName", "antiAffinity", "monthlyBilled", "availabilityZones")
AUTOSCALING_FIELDS = {
    "scaleDownUtilizationThreshold": "number",
    "scaleDownUnneededTimeSeconds": "integer",
    "scaleDownUnreadyTimeSeconds": "integer",
}


@dataclass
class Bounds:
    """Node counts of a pool after a create or update request."""

    desired: int
    minimum: int
    maximum: int


def parse_create(body: dict[str, Any] | None) -> dict[str, Any]:
    """Check keys and value types of a create body; return the non-null fields."""
    if body is None:
        raise bad_request("Missing parameter 'flavorName'")
    fields = _typed_fields(body, CREATE_FIELDS)
    if "flavorName" not in fields:
        raise bad_request("Missing parameter 'flavorName'")
    return fields


def parse_update(body: dict[str, Any] | None) -> dict[str, Any]:
    """Check keys and value types of an update body; return the non-null fields."""
    if body is None:
        return {}
    for key in IMMUTABLE_FIELDS:
        if key in body:
            raise bad_request(f"Parameter '{key}' cannot be changed after the node pool is created")
    return _typed_fields(body, UPDATE_FIELDS)


def check_name(name: str) -> None:
    """Reject a pool name outside the rules of the OVH control panel (1 to 51 characters)."""
    if not NAME_PATTERN.match(name):
        raise bad_request(
            f"Invalid value for parameter 'name': {name!r} must have 1 to 51 lowercase letters, "
            "digits or '-', and start and end with a letter or digit"
        )


def create_bounds(fields: dict[str, Any], settings: Settings) -> Bounds:
    """Apply the create defaults to the node counts and check them."""
    anti_affinity = bool(fields.get("antiAffinity", False))
    default_max = settings.anti_affinity_max_nodes if anti_affinity else settings.max_nodes_per_pool
    minimum = fields.get("minNodes", 0)
    maximum = fields.get("maxNodes", default_max)
    desired = fields.get("desiredNodes", min(max(1, minimum), maximum))

    bounds = Bounds(desired=desired, minimum=minimum, maximum=maximum)
    check_bounds(bounds, anti_affinity, settings, desired_given=True)
    return bounds


def update_bounds(fields: dict[str, Any], pool: Pool, settings: Settings) -> Bounds:
    """Merge the node counts of an update body into the pool's and check them."""
    bounds = Bounds(
        desired=fields.get("desiredNodes", pool.desired_nodes),
        minimum=fields.get("minNodes", pool.min_nodes),
        maximum=fields.get("maxNodes", pool.max_nodes),
    )
    check_bounds(bounds, pool.anti_affinity, settings, desired_given="desiredNodes" in fields)
    return bounds


def check_bounds(
    bounds: Bounds, anti_affinity: bool, settings: Settings, desired_given: bool
) -> None:
    """Reject negative counts, maxNodes above the limits and desiredNodes outside [min, max]."""
    for key, value in (
        ("desiredNodes", bounds.desired),
        ("minNodes", bounds.minimum),
        ("maxNodes", bounds.maximum),
    ):
        if value < 0:
            raise bad_request(f"Invalid value for parameter '{key}': must be >= 0, got {value}")

    if bounds.maximum > settings.max_nodes_per_pool:
        raise bad_request(
            f"Invalid value for parameter 'maxNodes': a node pool has at most "
            f"{settings.max_nodes_per_pool} nodes, got {bounds.maximum}"
        )
    if anti_affinity and bounds.maximum > settings.anti_affinity_max_nodes:
        raise bad_request(
            f"Invalid value for parameter 'maxNodes': a node pool with antiAffinity has at most "
            f"{settings.anti_affinity_max_nodes} nodes, got {bounds.maximum}"
        )
    if bounds.minimum > bounds.maximum:
        raise bad_request(
            f"minNodes ({bounds.minimum}) must not be greater than maxNodes ({bounds.maximum})"
        )

    if not desired_given and bounds.desired > bounds.maximum:
        raise bad_request(
            f"maxNodes ({bounds.maximum}) cannot be lower than the current "
            f"desiredNodes ({bounds.desired})"
        )
    if not bounds.minimum <= bounds.desired <= bounds.maximum:
        raise bad_request(
            f"desiredNodes ({bounds.desired}) must be between minNodes ({bounds.minimum}) "
            f"and maxNodes ({bounds.maximum})"
        )


def check_zones(zones: list[str] | None, region: Region) -> list[str] | None:
    """Check availabilityZones against the region; return the value to store."""
    if not zones:
        if region.availability_zones or region.require_availability_zones:
            raise bad_request("availabilityZones is mandatory")
        return None

    if len(zones) != 1:
        raise bad_request(
            f"Invalid value for parameter 'availabilityZones': give exactly one zone, got {zones}"
        )
    if zones[0] not in region.availability_zones:
        raise bad_request(
            f"Invalid value for parameter 'availabilityZones': zone {zones[0]!r} does not exist "
            f"in region {region.name}; zones: {region.availability_zones}"
        )
    return list(zones)


def check_autoscaling(
    value: dict[str, Any], current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check an autoscaling object and merge it over the current (or default) values."""
    merged = dict(current or DEFAULT_AUTOSCALING)
    for key, item in _typed_fields(value, AUTOSCALING_FIELDS, prefix="autoscaling.").items():
        if item < 0:
            raise bad_request(
                f"Invalid value for parameter 'autoscaling.{key}': must be >= 0, got {item}"
            )
        merged[key] = item

    threshold = merged["scaleDownUtilizationThreshold"]
    if threshold > 1:
        raise bad_request(
            f"Invalid value for parameter 'autoscaling.scaleDownUtilizationThreshold': must be "
            f"between 0 and 1, got {threshold}"
        )
    return merged


def check_template(template: dict[str, Any]) -> dict[str, Any]:
    """Check that a template has every sub-field OVH requires; return it unchanged."""
    metadata = _object_field(template, "metadata", "template", ("metadata", "spec"))
    _check_keys(metadata, "template.metadata", ("labels", "annotations", "finalizers"))
    for key in ("labels", "annotations"):
        mapping = _required(metadata, key, "template.metadata")
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise invalid_parameter(f"template.metadata.{key}", "expected a map of strings")
    finalizers = _required(metadata, "finalizers", "template.metadata")
    if not isinstance(finalizers, list) or not all(isinstance(item, str) for item in finalizers):
        raise invalid_parameter("template.metadata.finalizers", "expected a list of strings")

    spec = _object_field(template, "spec", "template", ("metadata", "spec"))
    _check_keys(spec, "template.spec", ("unschedulable", "taints"))
    if not isinstance(_required(spec, "unschedulable", "template.spec"), bool):
        raise bad_request(
            "Invalid value for parameter 'template.spec.unschedulable': expected a boolean"
        )
    taints = _required(spec, "taints", "template.spec")
    if not isinstance(taints, list):
        raise bad_request("Invalid value for parameter 'template.spec.taints': expected a list")
    for index, taint in enumerate(taints):
        _check_taint(taint, f"template.spec.taints[{index}]")
    return template


def check_floating_ips(value: dict[str, Any]) -> dict[str, Any]:
    """Check an attachFloatingIps object."""
    _check_keys(value, "attachFloatingIps", ("enabled",))
    enabled = value.get("enabled", False)
    if not isinstance(enabled, bool):
        raise bad_request(
            "Invalid value for parameter 'attachFloatingIps.enabled': expected a boolean"
        )
    return {"enabled": enabled}


def _check_taint(taint: Any, where: str) -> None:
    if not isinstance(taint, dict):
        raise bad_request(f"Invalid value for parameter '{where}': expected an object")
    _check_keys(taint, where, ("key", "value", "effect"))
    for key in ("key", "value", "effect"):
        if not isinstance(_required(taint, key, where), str):
            raise bad_request(f"Invalid value for parameter '{where}.{key}': expected a string")
    if taint["effect"] not in TAINT_EFFECTS:
        raise bad_request(
            f"Invalid value for parameter '{where}.effect': {taint['effect']!r} is not one of "
            f"{list(TAINT_EFFECTS)}"
        )


def _typed_fields(body: dict[str, Any], kinds: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """Reject unknown keys and wrong types; return the fields whose value is not null."""
    _check_keys(body, prefix.rstrip(".") or "body", tuple(kinds))
    fields: dict[str, Any] = {}
    for key, value in body.items():
        if value is None:
            continue
        if not _has_kind(value, kinds[key]):
            raise bad_request(
                f"Invalid value for parameter '{prefix}{key}': expected {kinds[key]}, got {value!r}"
            )
        fields[key] = value
    return fields


def _has_kind(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_keys(value: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    for key in value:
        if key not in allowed:
            location = "request body" if where == "body" else f"'{where}'"
            raise bad_request(
                f"Unknown parameter '{key}' in {location}; expected one of {list(allowed)}"
            )


def _object_field(
    parent: dict[str, Any], key: str, where: str, allowed: tuple[str, ...]
) -> dict[str, Any]:
    _check_keys(parent, where, allowed)
    value = _required(parent, key, where)
    if not isinstance(value, dict):
        raise bad_request(f"Invalid value for parameter '{where}.{key}': expected an object")
    return value


def _required(parent: dict[str, Any], key: str, where: str) -> Any:
    if key not in parent or parent[key] is None:
        raise bad_request(f"Missing parameter '{where}.{key}': every template field is required")
    return parent[key]
