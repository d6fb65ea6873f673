"""Node pool operations of the OVH API: create, update, delete, delete one node."""

from __future__ import annotations

import time
from typing import Any

from ovh_api_simulator import lifecycle
from ovh_api_simulator.errors import (
    bad_request,
    integrity_error,
    invalid_parameter,
    not_found,
    product_error,
)
from ovh_api_simulator.model import (
    DELETING,
    Account,
    Cluster,
    Node,
    Pool,
    Project,
    Region,
    empty_template,
    new_id,
)
from ovh_api_simulator.settings import Settings
from ovh_api_simulator.validation import (
    check_autoscaling,
    check_floating_ips,
    check_name,
    check_template,
    check_zones,
    create_bounds,
    parse_create,
    parse_update,
    update_bounds,
)


def build_pool(
    project_id: str, kube_id: str, pool_id: str, fields: dict[str, Any], settings: Settings
) -> Pool:
    """Check the fields of a create body and return the new pool, without nodes yet."""
    name = fields.get("name", f"nodepool-{pool_id}")
    check_name(name)
    bounds = create_bounds(fields, settings)
    return Pool(
        id=pool_id,
        project_id=project_id,
        kube_id=kube_id,
        name=name,
        flavor=fields["flavorName"],
        desired_nodes=bounds.desired,
        min_nodes=bounds.minimum,
        max_nodes=bounds.maximum,
        autoscale=fields.get("autoscale", False),
        anti_affinity=fields.get("antiAffinity", False),
        monthly_billed=fields.get("monthlyBilled", False),
        autoscaling=check_autoscaling(fields.get("autoscaling", {})),
        template=check_template(fields["template"]) if "template" in fields else empty_template(),
        availability_zones=fields.get("availabilityZones"),
        attach_floating_ips=check_floating_ips(fields.get("attachFloatingIps", {})),
    )


def create_pool(
    account: Account,
    settings: Settings,
    project: Project,
    cluster: Cluster,
    body: dict[str, Any] | None,
) -> Pool:
    """Validate a POST nodepool body, store the pool and start its installation."""
    fields = parse_create(body)
    pool = build_pool(project.id, cluster.id, new_id(), fields, settings)
    _check_unique_name(account, settings, cluster, pool.name)
    _check_flavor(account, cluster, pool.flavor)
    region = account.regions.get(cluster.region) or Region(name=cluster.region)
    pool.availability_zones = check_zones(fields.get("availabilityZones"), region)

    room = quota_room(
        account, settings, project, pool, old_desired=0, new_desired=pool.desired_nodes
    )
    account.pools[pool.id] = pool
    lifecycle.start_install(account, pool, settings, room)
    return pool


def update_pool(
    account: Account, settings: Settings, project: Project, pool: Pool, body: dict[str, Any] | None
) -> None:
    """Validate a PUT nodepool body and apply it; a new desiredNodes starts a resize."""
    fields = parse_update(body)
    check_not_busy(pool, settings, "update")
    bounds = update_bounds(fields, pool, settings)
    autoscaling = (
        check_autoscaling(fields["autoscaling"], pool.autoscaling)
        if "autoscaling" in fields
        else None
    )
    template = check_template(fields["template"]) if "template" in fields else None
    floating_ips = (
        check_floating_ips(fields["attachFloatingIps"]) if "attachFloatingIps" in fields else None
    )
    chosen = _resolve_nodes(pool, fields.get("nodesToRemove", []), bounds.desired)
    room = quota_room(
        account, settings, project, pool, old_desired=pool.desired_nodes, new_desired=bounds.desired
    )

    pool.min_nodes, pool.max_nodes = bounds.minimum, bounds.maximum
    pool.autoscale = fields.get("autoscale", pool.autoscale)
    pool.autoscaling = autoscaling or pool.autoscaling
    pool.template = template or pool.template
    pool.attach_floating_ips = floating_ips or pool.attach_floating_ips
    pool.updated_at = time.time()
    if chosen or pool.quota_blocked or bounds.desired != len(pool.active_nodes()):
        lifecycle.resize(account, pool, bounds.desired, settings, chosen=chosen, room=room)
    pool.desired_nodes = bounds.desired


def delete_pool(pool: Pool, settings: Settings) -> None:
    """Start deleting a pool; OVH rejects this while the pool is busy."""
    status = lifecycle.pool_status(pool)
    if pool.deleting or status in lifecycle.BUSY_STATUSES:
        raise integrity_error("delete", DELETING if pool.deleting else status)
    lifecycle.start_delete(pool, settings)


def delete_node(account: Account, settings: Settings, kube_id: str, node_id: str) -> None:
    """Remove one node and lower its pool's desiredNodes by one."""
    pool, node = _find_node(account, kube_id, node_id)
    if not node.is_active():
        raise bad_request(f"Node {node_id} is already being deleted")
    check_not_busy(pool, settings, "update")
    if pool.desired_nodes - 1 < pool.min_nodes:
        raise bad_request(
            f"Cannot delete node {node_id}: desiredNodes of node pool {pool.id} would go below "
            f"minNodes ({pool.min_nodes})"
        )

    lifecycle.remove_nodes(pool, [node], settings)
    pool.desired_nodes -= 1
    pool.updated_at = time.time()


def scale_to(account: Account, settings: Settings, pool: Pool, desired: int) -> None:
    """Move desiredNodes as the OVH autoscaler does, clamped to [minNodes, maxNodes]."""
    desired = max(pool.min_nodes, min(pool.max_nodes, desired))
    if desired == pool.desired_nodes and desired == len(pool.active_nodes()):
        return
    # NOTE: the quota is not checked here; the OVH autoscaler's behaviour at the quota is unknown.
    lifecycle.resize(account, pool, desired, settings)
    pool.updated_at = time.time()


def check_not_busy(pool: Pool, settings: Settings, action: str) -> None:
    """Reject a change of a deleting pool, and of a busy pool unless busyPutPolicy is accept."""
    if pool.deleting:
        raise integrity_error(action, DELETING)

    status = lifecycle.pool_status(pool)
    if status not in lifecycle.BUSY_STATUSES or settings.busy_put_policy == "accept":
        return
    if settings.busy_put_policy == "conflict":
        raise product_error(409, f"Cannot {action} NodePool: NodePool status is {status}")
    raise integrity_error(action, status)


def quota_room(
    account: Account,
    settings: Settings,
    project: Project,
    pool: Pool,
    *,
    old_desired: int,
    new_desired: int,
) -> int | None:
    """Check the project's node quota; return how many nodes may still be created (None: no limit).

    In quotaMode reject an increase past the quota is a 400 error. In quotaMode status the
    request is accepted and the pool shows USER_QUOTA_ERROR when nodes are missing.
    """
    if project.max_nodes is None:
        return None
    others = [p for p in account.project_pools(project.id) if p.id != pool.id and not p.deleting]

    if settings.quota_mode == "reject":
        requested = sum(p.desired_nodes for p in others) + new_desired
        if new_desired > old_desired and requested > project.max_nodes:
            raise bad_request(
                f"Quota exceeded: project {project.id} allows {project.max_nodes} nodes and this "
                f"request would bring the total of desiredNodes to {requested}"
            )
        return None

    used = sum(len(p.active_nodes()) for p in others) + len(pool.active_nodes())
    return project.max_nodes - used


def _check_unique_name(account: Account, settings: Settings, cluster: Cluster, name: str) -> None:
    if any(pool.name == name for pool in account.cluster_pools(cluster.id)):
        raise product_error(
            settings.duplicate_name_status,
            f"Invalid value for parameter 'name': a node pool named {name!r} already exists "
            f"in cluster {cluster.id}",
        )


def _check_flavor(account: Account, cluster: Cluster, flavor_name: str) -> None:
    flavor = next((f for f in account.cluster_flavors(cluster) if f.name == flavor_name), None)
    if flavor is None:
        reason = f"flavor {flavor_name!r} does not exist in region {cluster.region}"
        raise invalid_parameter("flavorName", reason)
    if flavor.state != "available":
        reason = f"flavor {flavor_name!r} is not available in region {cluster.region}"
        raise invalid_parameter("flavorName", reason)


def _resolve_nodes(pool: Pool, references: list[str], desired: int) -> list[Node]:
    """Map nodesToRemove entries (node id, name, instance id or providerID) to active nodes."""
    if not references:
        return []
    active = pool.active_nodes()
    decrease = len(active) - desired
    if decrease <= 0:
        raise invalid_parameter(
            "nodesToRemove",
            f"desiredNodes ({desired}) must be lower than the number of nodes ({len(active)})",
        )
    if len(set(references)) > decrease:
        raise bad_request(
            f"Invalid value for parameter 'nodesToRemove': {len(set(references))} nodes listed but "
            f"desiredNodes only removes {decrease}"
        )

    chosen: list[Node] = []
    for reference in references:
        node = next((node for node in active if reference in _node_references(node)), None)
        if node is None:
            reason = f"node {reference!r} is not an active node of node pool {pool.id}"
            raise invalid_parameter("nodesToRemove", reason)
        if node not in chosen:
            chosen.append(node)
    return chosen


def _node_references(node: Node) -> set[str]:
    return {node.id, node.name, node.instance_id, f"openstack:///{node.instance_id}"}


def _find_node(account: Account, kube_id: str, node_id: str) -> tuple[Pool, Node]:
    for pool in account.cluster_pools(kube_id):
        for node in pool.nodes:
            if node.id == node_id:
                return pool, node
    raise not_found(f"Node {node_id} does not exist in cluster {kube_id}")
