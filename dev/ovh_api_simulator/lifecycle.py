"""Node pool lifecycle: node creation and removal over time, derived pool status, deletion.

A transition ends when its delay has passed. In instant mode (nodeSeconds 0) the delay is zero
and a transition ends only after it has been shown by a number of pool reads
(setting transitionalReads), so a client sees the transitional status at least once.
"""

from __future__ import annotations

import secrets
import time
import uuid

from ovh_api_simulator.model import (
    DELETED,
    DELETING,
    INSTALLING,
    READY,
    Account,
    Node,
    Pool,
)
from ovh_api_simulator.settings import Settings

BUSY_STATUSES = frozenset(
    {"INSTALLING", "UPSCALING", "DOWNSCALING", "DELETING", "REDEPLOYING", "UPDATING"}
)


def pool_status(pool: Pool) -> str:
    """Return the status OVH would report for the pool now."""
    if pool.deleting:
        return pool.status_before_delete if pool.ready_reads_left > 0 else DELETING
    if pool.status_override is not None:
        return pool.status_override
    if pool.quota_blocked:
        return "USER_QUOTA_ERROR"

    if pool.installing:
        return INSTALLING

    statuses = {node.status for node in pool.nodes}
    if DELETING in statuses:
        return "DOWNSCALING"
    if INSTALLING in statuses:
        return "UPSCALING"
    return READY


def size_status(pool: Pool) -> str:
    """Return CAPACITY_OK, UNDER_CAPACITY or OVER_CAPACITY from the node counts."""
    available = sum(1 for node in pool.nodes if node.status == READY)
    if available < pool.desired_nodes:
        return "UNDER_CAPACITY"
    if len(pool.nodes) > pool.desired_nodes:
        return "OVER_CAPACITY"
    return "CAPACITY_OK"


def advance(account: Account, now: float) -> None:
    """Finish every transition whose delay and read count are used up; drop deleted pools."""
    for pool in list(account.pools.values()):
        _advance_nodes(pool, now)
        if pool.deleting and _delete_finished(pool, now):
            del account.pools[pool.id]


def observe(pool: Pool) -> None:
    """Count one client read of the pool against the pending transitions it has shown."""
    if pool.deleting and pool.ready_reads_left > 0:
        pool.ready_reads_left -= 1
        return

    if pool.deleting and pool.delete_reads_left > 0:
        pool.delete_reads_left -= 1
    if pool.installing and pool.install_reads_left > 0:
        pool.install_reads_left -= 1
    for node in pool.nodes:
        if node.status in (INSTALLING, DELETING) and node.reads_left > 0:
            node.reads_left -= 1


def settle(account: Account, pool: Pool) -> None:
    """Finish every pending transition of the pool at once."""
    for node in pool.nodes:
        node.due = 0.0
        node.reads_left = 0
    pool.install_due = 0.0
    pool.install_reads_left = 0
    pool.delete_due = 0.0
    pool.delete_reads_left = 0
    pool.ready_reads_left = 0
    _advance_nodes(pool, time.monotonic())
    if pool.deleting:
        account.pools.pop(pool.id, None)


def start_install(account: Account, pool: Pool, settings: Settings, room: int | None) -> None:
    """Put a new pool in INSTALLING and create its nodes."""
    pool.installing = True
    pool.install_due = time.monotonic() + settings.install_seconds()
    pool.install_reads_left = _reads_for(settings)
    desired = pool.desired_nodes
    pool.desired_nodes = 0
    resize(account, pool, desired, settings, room=room)


def add_nodes(account: Account, pool: Pool, count: int, settings: Settings) -> None:
    """Create count nodes in INSTALLING."""
    wall = time.time()
    due = time.monotonic() + settings.install_seconds()
    for _ in range(count):
        node = Node(
            id=str(uuid.uuid4()),
            name=f"{pool.name}-node-{secrets.token_hex(3)}",
            instance_id=str(uuid.uuid4()),
            sequence=account.next_sequence(),
            status=INSTALLING,
            due=due,
            reads_left=_reads_for(settings),
            created_at=wall,
            updated_at=wall,
        )
        pool.nodes.append(node)


def remove_nodes(pool: Pool, victims: list[Node], settings: Settings) -> None:
    """Move the given nodes to DELETING."""
    wall = time.time()
    due = time.monotonic() + settings.removal_seconds()
    for node in victims:
        node.status = DELETING
        node.due = due
        node.reads_left = _reads_for(settings)
        node.updated_at = wall


def pick_victims(pool: Pool, count: int, chosen: list[Node]) -> list[Node]:
    """Return the chosen nodes completed with the most recently created active nodes."""
    victims = list(chosen)
    newest_first = sorted(pool.active_nodes(), key=lambda node: node.sequence, reverse=True)
    for node in newest_first:
        if len(victims) >= count:
            break
        if node not in victims:
            victims.append(node)
    return victims


def resize(
    account: Account,
    pool: Pool,
    desired: int,
    settings: Settings,
    *,
    chosen: list[Node] | None = None,
    room: int | None = None,
) -> None:
    """Set desiredNodes and start the node creations or removals that reach it.

    room is the number of nodes the project quota still allows, or None without a quota. When
    room is smaller than the number of nodes to add, the pool goes to USER_QUOTA_ERROR.
    """
    active = len(pool.active_nodes())
    pool.desired_nodes = desired
    pool.quota_blocked = False

    if desired > active:
        to_add = desired - active
        if room is not None and room < to_add:
            to_add = max(room, 0)
            pool.quota_blocked = True
        add_nodes(account, pool, to_add, settings)
    elif desired < active:
        remove_nodes(pool, pick_victims(pool, active - desired, chosen or []), settings)


def start_delete(pool: Pool, settings: Settings) -> None:
    """Mark the pool as being deleted; it keeps its previous status for deleteReadyReads reads."""
    pool.status_before_delete = pool_status(pool)
    pool.deleting = True
    pool.ready_reads_left = settings.delete_ready_reads
    pool.delete_reads_left = _reads_for(settings)
    pool.delete_due = time.monotonic() + settings.removal_seconds()
    remove_nodes(pool, [node for node in pool.nodes if node.status != DELETING], settings)


def _reads_for(settings: Settings) -> int:
    return settings.transitional_reads if settings.is_instant() else 0


def _advance_nodes(pool: Pool, now: float) -> None:
    wall = time.time()
    for node in list(pool.nodes):
        if node.due > now or node.reads_left > 0:
            continue
        if node.status == INSTALLING:
            node.status = READY
            node.deployed_at = wall
            node.updated_at = wall
        elif node.status == DELETING:
            node.status = DELETED
            node.deleted_at = wall
            node.updated_at = wall
            pool.nodes.remove(node)
            pool.deleted_nodes.insert(0, node)

    install_done = pool.install_due <= now and pool.install_reads_left == 0
    if install_done and all(node.status == READY for node in pool.nodes):
        pool.installing = False


def _delete_finished(pool: Pool, now: float) -> bool:
    return (
        not pool.nodes
        and pool.ready_reads_left == 0
        and pool.delete_reads_left == 0
        and pool.delete_due <= now
    )
