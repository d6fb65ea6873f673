"""Build the OVHNodePool status: live pool figures and kstatus conditions.

The conditions follow the kstatus convention that Flux, Helm and Argo CD read: `Ready`,
`Reconciling` while work is in flight, `Stalled` when progress needs a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ovh_nodepool_operator.domain.models import NodePoolSpec, OvhPool

State = Literal["Ready", "Reconciling", "Stalled"]


@dataclass(frozen=True)
class Verdict:
    """The conclusion of one reconciliation: the object's state, why, and what a user can do."""

    state: State
    reason: str
    message: str


def timestamp(now: datetime) -> str:
    """Format a time as Kubernetes does: RFC 3339, UTC, whole seconds."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pool_figures(spec: NodePoolSpec, pool: OvhPool | None) -> dict[str, Any]:
    """Return the status fields that mirror the live pool; all None when there is no pool."""
    if pool is None:
        return {
            "nodePoolId": None,
            "ovhStatus": None,
            "sizeStatus": None,
            "desiredNodes": None,
            "desiredNodesOwner": None,
            "currentNodes": None,
            "availableNodes": None,
            "upToDateNodes": None,
            "minNodes": None,
            "maxNodes": None,
            "autoscale": None,
            "flavorName": None,
        }

    return {
        "nodePoolId": pool.id,
        "ovhStatus": pool.status,
        "sizeStatus": pool.size_status,
        "desiredNodes": pool.desired_nodes,
        "desiredNodesOwner": "Autoscaler" if pool.autoscale else "Operator",
        "currentNodes": pool.current_nodes,
        "availableNodes": pool.available_nodes,
        "upToDateNodes": pool.up_to_date_nodes,
        "minNodes": pool.min_nodes,
        "maxNodes": pool.max_nodes,
        "autoscale": pool.autoscale,
        "flavorName": pool.flavor,
    }


def build_conditions(
    verdict: Verdict,
    *,
    generation: int,
    previous: list[dict[str, Any]],
    now: datetime,
    paused: bool | None = None,
) -> list[dict[str, Any]]:
    """Return the conditions for a verdict, keeping each transition time that did not change."""
    earlier = {condition.get("type"): condition for condition in previous}
    rows: list[tuple[str, bool, str, str]] = [
        ("Ready", verdict.state == "Ready", verdict.reason, verdict.message),
        ("Reconciling", verdict.state == "Reconciling", verdict.reason, verdict.message),
        ("Stalled", verdict.state == "Stalled", verdict.reason, verdict.message),
    ]
    if paused is not None:
        pause_message = "Writes to OVH are paused by annotation." if paused else "Not paused."
        rows.append(("Paused", paused, "Paused" if paused else "NotPaused", pause_message))

    conditions = []
    for kind, active, reason, message in rows:
        status = "True" if active else "False"
        before = earlier.get(kind) or {}
        since = timestamp(now)
        if before.get("status") == status and before.get("lastTransitionTime"):
            since = before["lastTransitionTime"]

        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        )
    return conditions


def build_status(
    spec: NodePoolSpec,
    pool: OvhPool | None,
    verdict: Verdict,
    *,
    generation: int,
    previous: Mapping[str, Any],
    now: datetime,
    paused: bool | None = None,
) -> dict[str, Any]:
    """Return the whole status to write for one reconciliation."""
    status = pool_figures(spec, pool)
    if pool is None and previous.get("nodePoolId"):
        # Keep the recorded id: it is how a restarted operator finds the pool it created.
        status["nodePoolId"] = previous["nodePoolId"]

    status["observedGeneration"] = generation
    status["conditions"] = build_conditions(
        verdict,
        generation=generation,
        previous=previous.get("conditions") or [],
        now=now,
        paused=paused,
    )
    return status
