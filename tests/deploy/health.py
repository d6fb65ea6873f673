"""How GitOps tools read an OVHNodePool's health: kstatus, the Argo CD Lua check, Flux CEL.

Each function takes an object as `kubectl get -o json` returns it, so tests can feed them
hand-written samples or live objects.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import cel
import lupa.lua51  # type: ignore[import-untyped]
import yaml

REPO = Path(__file__).resolve().parents[2]
GITOPS = REPO / "deploy" / "gitops"
ARGOCD_HEALTH_SCRIPT = GITOPS / "argocd-health.lua"
FLUX_KUSTOMIZATION = GITOPS / "flux-kustomization.yaml"


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = obj.get("status") or {}
    return {item["type"]: item for item in status.get("conditions") or [] if "type" in item}


def _is_true(conditions: dict[str, dict[str, Any]], kind: str) -> bool:
    return conditions.get(kind, {}).get("status") == "True"


def kstatus_of(obj: dict[str, Any]) -> str:
    """Compute the kstatus of a custom resource: Terminating, InProgress, Failed or Current.

    These are the generic rules of kubernetes-sigs/cli-utils pkg/kstatus for a kind it has no
    special reader for, which Flux health checks and Helm 4 `--wait` apply:
    1. metadata.deletionTimestamp is set: Terminating;
    2. status.observedGeneration exists and differs from metadata.generation: InProgress;
    3. the Reconciling condition is True: InProgress;
    4. the Stalled condition is True: Failed;
    5. the Ready condition is False: InProgress;
    6. anything else, an object with no status included: Current.
    """
    metadata = obj.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return "Terminating"

    status = obj.get("status") or {}
    if "observedGeneration" in status and status["observedGeneration"] != metadata.get(
        "generation"
    ):
        return "InProgress"

    conditions = _conditions(obj)
    if _is_true(conditions, "Reconciling"):
        return "InProgress"
    if _is_true(conditions, "Stalled"):
        return "Failed"
    if conditions.get("Ready", {}).get("status") == "False":
        return "InProgress"
    return "Current"


def _to_lua(runtime: Any, value: Any) -> Any:
    """Convert JSON data to Lua tables recursively, as Argo CD hands `obj` to a health script."""
    if isinstance(value, dict):
        return runtime.table_from({key: _to_lua(runtime, item) for key, item in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, item) for item in value])
    return value


def argocd_health_of(obj: dict[str, Any]) -> tuple[str, str]:
    """Run deploy/gitops/argocd-health.lua on `obj` with Lua 5.1; return (status, message)."""
    runtime = lupa.lua51.LuaRuntime(unpack_returned_tuples=False)
    runtime.globals()["obj"] = _to_lua(runtime, obj)
    result = runtime.execute(ARGOCD_HEALTH_SCRIPT.read_text())
    return str(result["status"]), str(result["message"])


@cache
def flux_health_expressions() -> dict[str, str]:
    """Return the OVHNodePool entry of healthCheckExprs in flux-kustomization.yaml."""
    for document in yaml.safe_load_all(FLUX_KUSTOMIZATION.read_text()):
        for entry in document["spec"].get("healthCheckExprs", []):
            if entry["kind"] == "OVHNodePool":
                return {key: str(entry[key]) for key in ("inProgress", "failed", "current")}
    raise AssertionError(f"{FLUX_KUSTOMIZATION} has no healthCheckExprs entry for OVHNodePool")


def flux_cel_status_of(obj: dict[str, Any]) -> str:
    """Compute the status that Flux 2.5 derives from the healthCheckExprs for `obj`.

    Flux reports InProgress while status.observedGeneration differs from metadata.generation,
    then returns the status of the first expression that is true, in the order inProgress,
    failed, current, and InProgress when none is. An expression that cannot be evaluated, such
    as one on an object with no status, fails the health check: this returns "Error" then.
    """
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if "observedGeneration" in status and status["observedGeneration"] != metadata.get(
        "generation"
    ):
        return "InProgress"

    expressions = flux_health_expressions()
    for key, result in (("inProgress", "InProgress"), ("failed", "Failed"), ("current", "Current")):
        try:
            matched = cel.evaluate(expressions[key], obj)
        except RuntimeError:
            return "Error"
        if matched is True:
            return result
    return "InProgress"
