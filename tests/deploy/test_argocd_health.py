"""The Argo CD health check of OVHNodePool, run with Lua 5.1 as Argo CD runs it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy import samples
from tests.deploy.health import ARGOCD_HEALTH_SCRIPT, GITOPS, argocd_health_of

HEALTH_KEY = "resource.customizations.health.ovh.nodepool-operator.io_OVHNodePool"

CASES = [
    ("ready", samples.READY, "Healthy", "InSync: Node pool matches the spec."),
    ("creating", samples.CREATING, "Progressing", "Creating: Creating node pool web at OVH."),
    ("stalled", samples.STALLED, "Degraded", "InvalidCredentials: OVH rejected the credentials."),
    ("paused", samples.PAUSED, "Suspended", "Paused: Writes to OVH are paused by annotation."),
    (
        "paused-annotation-only",
        samples.PAUSED_BY_ANNOTATION_ONLY,
        "Suspended",
        "Writes to OVH are paused by the ovh.nodepool-operator.io/paused annotation.",
    ),
    (
        "stale-generation",
        samples.STALE_GENERATION,
        "Progressing",
        "Waiting for the operator to observe generation 4 (observed: 3).",
    ),
    (
        "stalled-old-generation",
        samples.STALLED_FOR_OLD_GENERATION,
        "Progressing",
        "Waiting for the operator to observe generation 4 (observed: 3).",
    ),
    ("no-status", samples.NO_STATUS, "Progressing", "Waiting for the operator to report a status."),
    (
        "no-conditions",
        samples.NO_CONDITIONS,
        "Progressing",
        "Waiting for the operator to report a status.",
    ),
    ("ready-false", samples.NOT_READY_YET, "Progressing", "Busy: Waiting for OVH."),
]


@pytest.mark.parametrize(
    ("obj", "expected_status", "expected_message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_argocd_health_status(
    obj: dict[str, Any], expected_status: str, expected_message: str
) -> None:
    status, message = argocd_health_of(obj)

    assert status == expected_status
    assert message == expected_message


def test_argocd_health_paused_annotation_false() -> None:
    obj = samples.pool(
        samples.condition("Ready", "True", "InSync"),
        annotations={samples.PAUSED_ANNOTATION: "false"},
    )

    status, _ = argocd_health_of(obj)

    assert status == "Healthy"


def test_argocd_health_no_metadata_generation() -> None:
    obj = samples.pool(samples.condition("Ready", "True", "InSync"))
    del obj["metadata"]["generation"]

    status, message = argocd_health_of(obj)

    assert status == "Progressing"
    assert "observe generation nil" in message


def test_argocd_health_condition_without_message() -> None:
    ready = {"type": "Ready", "status": "True", "reason": "InSync"}
    obj = samples.pool(ready)

    status, message = argocd_health_of(obj)

    assert status == "Healthy"
    assert message == "InSync: The node pool matches the spec."


def test_argocd_config_map_embeds_script() -> None:
    config_map = yaml.safe_load((GITOPS / "argocd-cm-patch.yaml").read_text())

    assert config_map["metadata"]["name"] == "argocd-cm"
    assert config_map["data"][HEALTH_KEY] == ARGOCD_HEALTH_SCRIPT.read_text()
