"""Render OVHNodePool manifests that adopt existing OVH node pools.

Each manifest's spec repeats the live pool field by field, so that the planner finds nothing
to change and adopting the pool sends no write to OVH.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ovh_nodepool_operator.domain.models import API_GROUP, API_VERSION, KIND, OvhPool
from ovh_nodepool_operator.domain.planner import complete_template

ADOPT_ANNOTATION = f"{API_GROUP}/adopt"
# Object names are DNS labels (RFC 1123): lowercase letters, digits and '-', at most 63.
MAX_OBJECT_NAME = 63
ID_SUFFIX_LENGTH = 8
_INVALID_RUN = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ExportOptions:
    """Target cluster, namespace and credentials of the manifests, and naming of their objects."""

    project_id: str
    kube_id: str
    namespace: str | None = None
    secret_name: str | None = None
    name_prefix: str = ""
    deletion_policy: Literal["Delete", "Orphan"] | None = None


def object_name(pool_name: str, prefix: str = "") -> str:
    """Derive a valid DNS label from a prefix and a pool name.

    Letters are lowercased and every run of other characters becomes one '-'. An empty result
    becomes "pool".
    """
    label = _INVALID_RUN.sub("-", f"{prefix}{pool_name}".lower()).strip("-")
    label = label[:MAX_OBJECT_NAME].rstrip("-")
    return label or "pool"


def render_spec(pool: OvhPool, options: ExportOptions) -> dict[str, Any]:
    """Return the OVHNodePool spec that matches the live pool on every field the planner checks."""
    spec: dict[str, Any] = {
        "projectId": options.project_id,
        "kubeId": options.kube_id,
        "name": pool.name,
        "flavorName": pool.flavor,
        "desiredNodes": pool.desired_nodes,
        "minNodes": pool.min_nodes,
        "maxNodes": pool.max_nodes,
        "autoscale": pool.autoscale,
        "antiAffinity": pool.anti_affinity,
        "monthlyBilled": pool.monthly_billed,
    }

    if pool.autoscaling is not None:
        autoscaling = pool.autoscaling.model_dump(by_alias=True, exclude_none=True)
        if autoscaling:
            spec["autoscaling"] = autoscaling
    if pool.availability_zones:
        spec["availabilityZones"] = list(pool.availability_zones)
    if pool.attach_floating_ips is not None:
        spec["attachFloatingIps"] = {"enabled": pool.attach_floating_ips.enabled}
    spec["template"] = complete_template(pool.template)

    if options.secret_name:
        spec["credentialsSecretRef"] = {"name": options.secret_name}
    if options.deletion_policy:
        spec["deletionPolicy"] = options.deletion_policy
    return spec


def render_manifest(pool: OvhPool, options: ExportOptions, name: str) -> dict[str, Any]:
    """Return one OVHNodePool manifest named `name` that adopts the pool by its id."""
    metadata: dict[str, Any] = {"name": name}
    if options.namespace:
        metadata["namespace"] = options.namespace
    metadata["annotations"] = {ADOPT_ANNOTATION: pool.id}

    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "metadata": metadata,
        "spec": render_spec(pool, options),
    }


def render_manifests(pools: Iterable[OvhPool], options: ExportOptions) -> list[dict[str, Any]]:
    """Return one manifest per pool, sorted by pool name, with distinct object names.

    When two pools derive the same object name, the later one gets a suffix from its pool id,
    and a counter after that if the name is still taken.
    """
    manifests = []
    used_names: set[str] = set()
    for pool in sorted(pools, key=lambda item: (item.name, item.id)):
        base = object_name(pool.name, options.name_prefix)
        name = base
        if name in used_names:
            name = _with_suffix(base, object_name(pool.id)[:ID_SUFFIX_LENGTH])
        counter = 1
        while name in used_names:
            counter += 1
            name = _with_suffix(base, str(counter))
        used_names.add(name)
        manifests.append(render_manifest(pool, options, name))
    return manifests


def _with_suffix(name: str, suffix: str) -> str:
    suffix = suffix.strip("-") or "pool"
    stem = name[: MAX_OBJECT_NAME - len(suffix) - 1].rstrip("-")
    return f"{stem}-{suffix}" if stem else suffix
