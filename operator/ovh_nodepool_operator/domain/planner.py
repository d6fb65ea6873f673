"""Decide the next OVH request from the declared spec and the live pool.

The rules:
- with `autoscale: false` the operator owns the size: `desiredNodes`, or `minNodes` when unset;
- with `autoscale: true` OVH's autoscaler owns it: the live count is only moved into new bounds;
- a bounds change and the size it forces travel in one update, because OVH rejects a `maxNodes`
  below the live `desiredNodes`;
- only changed mutable fields are sent, and a template is always sent whole, because OVH
  requires all its sub-fields;
- immutable fields are never sent in an update, and a pool busy at OVH is not written to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ovh_nodepool_operator.domain.models import (
    Autoscaling,
    NodePoolSpec,
    NodeTemplate,
    OvhPool,
)


@dataclass(frozen=True)
class CreatePool:
    """Send `POST .../nodepool` with this body."""

    body: dict[str, Any]


@dataclass(frozen=True)
class UpdatePool:
    """Send `PUT .../nodepool/{id}` with this body, which holds only the changed fields."""

    body: dict[str, Any]

    @property
    def changed(self) -> tuple[str, ...]:
        """Return the names of the fields the update changes."""
        return tuple(self.body)


@dataclass(frozen=True)
class WaitForPool:
    """Write nothing: OVH is still working on the pool."""

    status: str


@dataclass(frozen=True)
class NoChange:
    """The live pool matches the spec."""


@dataclass(frozen=True)
class ImmutableMismatch:
    """The live pool differs from the spec on fields that OVH cannot change in place."""

    fields: tuple[str, ...]


Plan = CreatePool | UpdatePool | WaitForPool | NoChange | ImmutableMismatch


def initial_desired_nodes(spec: NodePoolSpec) -> int:
    """Return the node count to create the pool with."""
    if spec.desired_nodes is not None:
        return spec.desired_nodes
    return spec.min_nodes


def target_desired_nodes(spec: NodePoolSpec, pool: OvhPool) -> int:
    """Return the `desiredNodes` the pool should have now.

    Under the autoscaler the live count is kept, moved only into the declared bounds.
    """
    if not spec.autoscale:
        return initial_desired_nodes(spec)

    return min(max(pool.desired_nodes, spec.min_nodes), spec.max_nodes)


def complete_template(template: NodeTemplate | None) -> dict[str, Any]:
    """Return the template with every sub-field OVH requires, in OVH's JSON shape."""
    return (template or NodeTemplate()).model_dump(by_alias=True, mode="json")


def plan_create(spec: NodePoolSpec, name: str) -> CreatePool:
    """Build the creation request for a pool named `name`."""
    body: dict[str, Any] = {
        "name": name,
        "flavorName": spec.flavor_name,
        "desiredNodes": initial_desired_nodes(spec),
        "minNodes": spec.min_nodes,
        "maxNodes": spec.max_nodes,
        "autoscale": spec.autoscale,
        "antiAffinity": spec.anti_affinity,
        "monthlyBilled": spec.monthly_billed,
        "template": complete_template(spec.template),
    }

    if spec.autoscaling is not None:
        body["autoscaling"] = spec.autoscaling.model_dump(by_alias=True, exclude_none=True)
    if spec.availability_zones:
        body["availabilityZones"] = list(spec.availability_zones)
    if spec.attach_floating_ips is not None:
        body["attachFloatingIps"] = {"enabled": spec.attach_floating_ips.enabled}
    return CreatePool(body=body)


def immutable_mismatches(spec: NodePoolSpec, pool: OvhPool) -> tuple[str, ...]:
    """List the immutable fields on which the live pool differs from the spec."""
    differing: list[str] = []
    if spec.flavor_name != pool.flavor:
        differing.append("flavorName")
    if spec.anti_affinity != pool.anti_affinity:
        differing.append("antiAffinity")
    if spec.monthly_billed != pool.monthly_billed:
        differing.append("monthlyBilled")

    # An unset zone list in the spec accepts whatever zone OVH picked.
    if spec.availability_zones and sorted(spec.availability_zones) != sorted(
        pool.availability_zones or []
    ):
        differing.append("availabilityZones")
    return tuple(differing)


def plan_update(
    spec: NodePoolSpec, pool: OvhPool
) -> UpdatePool | WaitForPool | NoChange | ImmutableMismatch:
    """Decide what to send to bring the live pool in line with the spec."""
    mismatched = immutable_mismatches(spec, pool)
    if mismatched:
        return ImmutableMismatch(fields=mismatched)

    if pool.busy:
        return WaitForPool(status=pool.status)

    body = _changed_fields(spec, pool)
    if not body:
        return NoChange()
    return UpdatePool(body=body)


def _changed_fields(spec: NodePoolSpec, pool: OvhPool) -> dict[str, Any]:
    """Collect the mutable fields whose declared value differs from the live one."""
    body: dict[str, Any] = {}
    if spec.min_nodes != pool.min_nodes:
        body["minNodes"] = spec.min_nodes
    if spec.max_nodes != pool.max_nodes:
        body["maxNodes"] = spec.max_nodes
    if spec.autoscale != pool.autoscale:
        body["autoscale"] = spec.autoscale

    desired = target_desired_nodes(spec, pool)
    if desired != pool.desired_nodes:
        body["desiredNodes"] = desired

    autoscaling = _autoscaling_update(spec.autoscaling, pool.autoscaling)
    if autoscaling is not None:
        body["autoscaling"] = autoscaling

    if spec.template is not None:
        declared_template = complete_template(spec.template)
        if declared_template != complete_template(pool.template):
            body["template"] = declared_template

    floating = spec.attach_floating_ips
    live_enabled = pool.attach_floating_ips.enabled if pool.attach_floating_ips else None
    if floating is not None and floating.enabled != live_enabled:
        body["attachFloatingIps"] = {"enabled": floating.enabled}
    return body


def _autoscaling_update(
    declared: Autoscaling | None, live: Autoscaling | None
) -> dict[str, Any] | None:
    """Return the whole autoscaling object to send, or None when the declared fields match.

    Fields the spec leaves unset keep their live value, so the update never resets them.
    """
    if declared is None:
        return None

    declared_fields = declared.model_dump(exclude_none=True)
    current = (live or Autoscaling()).model_dump()
    if all(current.get(key) == value for key, value in declared_fields.items()):
        return None

    merged = Autoscaling.model_validate({**current, **declared_fields})
    return merged.model_dump(by_alias=True, exclude_none=True)
