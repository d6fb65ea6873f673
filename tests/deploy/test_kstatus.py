"""kstatus and Flux CEL health of OVHNodePool statuses, next to the Argo CD check.

The same samples go through the generic kstatus rules (Flux `healthChecks`, Helm 4 `--wait`),
the healthCheckExprs of deploy/gitops/flux-kustomization.yaml and the Argo CD Lua check, so the
three agree on what counts as ready, failed and in progress.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy import samples
from tests.deploy.health import argocd_health_of, flux_cel_status_of, kstatus_of

# (id, object, kstatus, Flux CEL status, Argo CD status)
CASES = [
    ("ready", samples.READY, "Current", "Current", "Healthy"),
    ("creating", samples.CREATING, "InProgress", "InProgress", "Progressing"),
    ("stalled", samples.STALLED, "Failed", "Failed", "Degraded"),
    ("paused", samples.PAUSED, "Current", "Current", "Suspended"),
    ("stale-generation", samples.STALE_GENERATION, "InProgress", "InProgress", "Progressing"),
    (
        "stalled-old-generation",
        samples.STALLED_FOR_OLD_GENERATION,
        "InProgress",
        "InProgress",
        "Progressing",
    ),
    ("ready-false", samples.NOT_READY_YET, "InProgress", "InProgress", "Progressing"),
    # kstatus reads an object with no conditions as Current; the CEL expressions wait for Ready.
    ("no-conditions", samples.NO_CONDITIONS, "Current", "InProgress", "Progressing"),
    # CEL cannot test for a missing top-level `status`, so Flux's evaluation fails until the
    # operator writes one.
    ("no-status", samples.NO_STATUS, "Current", "Error", "Progressing"),
]


@pytest.mark.parametrize(
    ("obj", "expected_kstatus", "expected_cel", "expected_argocd"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_health_of_sample(
    obj: dict[str, Any], expected_kstatus: str, expected_cel: str, expected_argocd: str
) -> None:
    assert kstatus_of(obj) == expected_kstatus
    assert flux_cel_status_of(obj) == expected_cel
    assert argocd_health_of(obj)[0] == expected_argocd


def test_kstatus_terminating() -> None:
    obj = samples.pool(samples.condition("Ready", "True", "InSync"))
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"

    assert kstatus_of(obj) == "Terminating"


def test_kstatus_reconciling_wins_over_stalled() -> None:
    obj = samples.pool(
        samples.condition("Reconciling", "True", "TransientError"),
        samples.condition("Stalled", "True", "InvalidSpec"),
    )

    assert kstatus_of(obj) == "InProgress"
    assert flux_cel_status_of(obj) == "InProgress"


def test_kstatus_without_observed_generation() -> None:
    obj = samples.pool(samples.condition("Ready", "True", "InSync"), observed=None)

    assert kstatus_of(obj) == "Current"
