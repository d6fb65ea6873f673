"""Sample OVHNodePool objects in each state the operator reports, for the health checks' tests."""

from __future__ import annotations

from typing import Any

PAUSED_ANNOTATION = "ovh.nodepool-operator.io/paused"


def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    """Return one status condition as the operator writes it."""
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message or f"{kind} is {status}.",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 3,
    }


def pool(
    *conditions: dict[str, Any],
    generation: int = 3,
    observed: int | None = 3,
    annotations: dict[str, str] | None = None,
    with_status: bool = True,
) -> dict[str, Any]:
    """Return an OVHNodePool with the given conditions and generations."""
    obj: dict[str, Any] = {
        "apiVersion": "ovh.nodepool-operator.io/v1alpha1",
        "kind": "OVHNodePool",
        "metadata": {"name": "web", "namespace": "platform", "generation": generation},
        "spec": {"projectId": "0" * 32, "kubeId": "k", "flavorName": "b3-8"},
    }
    if annotations:
        obj["metadata"]["annotations"] = annotations
    if with_status:
        status: dict[str, Any] = {"conditions": list(conditions)}
        if observed is not None:
            status["observedGeneration"] = observed
        obj["status"] = status
    return obj


READY = pool(
    condition("Ready", "True", "InSync", "Node pool matches the spec."),
    condition("Reconciling", "False", "InSync"),
    condition("Stalled", "False", "InSync"),
)
CREATING = pool(
    condition("Ready", "False", "Creating", "Creating node pool web at OVH."),
    condition("Reconciling", "True", "Creating", "Creating node pool web at OVH."),
    condition("Stalled", "False", "Creating"),
)
STALLED = pool(
    condition("Ready", "False", "InvalidCredentials", "OVH rejected the credentials."),
    condition("Reconciling", "False", "InvalidCredentials"),
    condition("Stalled", "True", "InvalidCredentials", "OVH rejected the credentials."),
)
PAUSED = pool(
    condition("Ready", "True", "InSync"),
    condition("Reconciling", "False", "InSync"),
    condition("Stalled", "False", "InSync"),
    condition("Paused", "True", "Paused", "Writes to OVH are paused by annotation."),
    annotations={PAUSED_ANNOTATION: "true"},
)
PAUSED_BY_ANNOTATION_ONLY = pool(
    condition("Ready", "True", "InSync"),
    annotations={PAUSED_ANNOTATION: "true"},
)
STALE_GENERATION = pool(
    condition("Ready", "True", "InSync"),
    condition("Reconciling", "False", "InSync"),
    condition("Stalled", "False", "InSync"),
    generation=4,
    observed=3,
)
STALLED_FOR_OLD_GENERATION = pool(
    condition("Ready", "False", "InvalidSpec"),
    condition("Stalled", "True", "InvalidSpec", "OVH answered 400."),
    generation=4,
    observed=3,
)
NO_STATUS = pool(with_status=False)
NO_CONDITIONS = pool(observed=None)
NOT_READY_YET = pool(condition("Ready", "False", "Busy", "Waiting for OVH."))
