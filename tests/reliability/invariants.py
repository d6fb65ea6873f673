"""The invariants every reliability scenario ends with, checked on OVH and on the API server.

- Each object that should have a pool has exactly one: found by `status.nodePoolId` and by
  name in its cluster, and both finds are the same pool.
- No pool is left for an object deleted with `deletionPolicy: Delete`, and the pool of an
  object deleted with `Orphan` is still there.
- The cluster contains no pool that no object accounts for: no second pool, no leftover.
- The pool at OVH has the declared flavor, bounds, autoscale flag, template, and (when the
  operator owns the size) desiredNodes.
- Every object ends Ready for its generation, or Stalled with a reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.reliability.harness import Scenario, is_ready, is_stalled


@dataclass(frozen=True)
class Released:
    """An object the scenario deleted, and the policy it was deleted with."""

    name: str
    policy: str = "Delete"
    pool_name: str | None = None  # spec.name when it differs from the object name


def declared_template(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return the complete template OVH should hold for a spec's (possibly partial) template."""
    template = spec.get("template") or {}
    metadata = template.get("metadata") or {}
    pod_spec = template.get("spec") or {}
    taints = [
        {"key": taint["key"], "value": taint.get("value", ""), "effect": taint["effect"]}
        for taint in pod_spec.get("taints") or []
    ]
    return {
        "metadata": {
            "labels": dict(metadata.get("labels") or {}),
            "annotations": dict(metadata.get("annotations") or {}),
            "finalizers": list(metadata.get("finalizers") or []),
        },
        "spec": {"unschedulable": bool(pod_spec.get("unschedulable", False)), "taints": taints},
    }


def declared_mismatches(spec: Mapping[str, Any], pool: Mapping[str, Any]) -> list[str]:
    """Return the fields where the OVH pool differs from the spec, as 'field: ovh != spec'."""
    autoscale = bool(spec.get("autoscale", False))
    min_nodes = int(spec.get("minNodes", 0))
    expected: dict[str, Any] = {
        "flavor": spec["flavorName"],
        "autoscale": autoscale,
        "minNodes": min_nodes,
        "maxNodes": int(spec.get("maxNodes", 100)),
        "template": declared_template(spec),
    }
    if not autoscale:
        expected["desiredNodes"] = int(spec.get("desiredNodes", min_nodes))

    actual_template = pool.get("template") or {}
    actual = {key: pool.get(key) for key in expected if key != "template"}
    actual["template"] = {
        "metadata": {
            key: (actual_template.get("metadata") or {}).get(key)
            for key in ("labels", "annotations", "finalizers")
        },
        "spec": {
            "unschedulable": (actual_template.get("spec") or {}).get("unschedulable"),
            "taints": [
                {"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]}
                for t in (actual_template.get("spec") or {}).get("taints") or []
            ],
        },
    }
    return [
        f"{key}: ovh {actual[key]!r} != spec {value!r}"
        for key, value in expected.items()
        if actual[key] != value
    ]


def pool_name_of(obj: Mapping[str, Any]) -> str:
    """Return the OVH pool name an object manages."""
    return str(obj["spec"].get("name") or obj["metadata"]["name"])


def settled(scenario: Scenario) -> bool:
    """Tell whether every object of the cluster is Stalled, or Ready on a settled pool."""
    pools = {pool["id"]: pool for pool in scenario.pools()}
    for obj in scenario.kube.list_pools(scenario.namespace):
        if obj["spec"].get("kubeId") != scenario.kube_id:
            continue
        if obj["metadata"].get("deletionTimestamp"):
            return False
        if is_stalled(obj):
            continue
        if not is_ready(obj):
            return False
        pool = pools.get(str(obj["status"].get("nodePoolId")))
        if pool is None or pool["status"] != "READY":
            return False
        if pool["currentNodes"] != pool["desiredNodes"]:
            return False
        if declared_mismatches(obj["spec"], pool):
            return False
    return True


def wait_settled(scenario: Scenario, timeout: float = 90.0) -> float:
    """Wait until `settled` holds; return the seconds it took (the timeout when it never did)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if settled(scenario):
            return time.monotonic() - started
        time.sleep(0.3)
    return timeout


def violations(
    scenario: Scenario,
    *,
    released: Iterable[Released] = (),
    foreign: Iterable[str] = (),
) -> list[str]:
    """Return every invariant the scenario's namespace and cluster break, as sentences.

    `foreign` lists ids of pools that no object manages on purpose (seeded behind the
    operator's back and never adopted).
    """
    problems: list[str] = []
    pools = scenario.pools()
    by_id = {pool["id"]: pool for pool in pools}
    accounted: set[str] = set(foreign)

    objects = [
        obj
        for obj in scenario.kube.list_pools(scenario.namespace)
        if obj["spec"].get("kubeId") == scenario.kube_id
    ]
    for obj in objects:
        problems += _object_violations(obj, pools, by_id, accounted)

    for item in released:
        problems += _released_violations(scenario, item, pools, accounted)

    for pool in pools:
        if pool["id"] not in accounted:
            problems.append(
                f"OVH pool {pool['name']} (id {pool['id']}) belongs to no object: a second "
                "pool or a leftover"
            )
    return problems


def _object_violations(
    obj: dict[str, Any],
    pools: list[dict[str, Any]],
    by_id: Mapping[str, dict[str, Any]],
    accounted: set[str],
) -> list[str]:
    name = obj["metadata"]["name"]
    status = obj.get("status") or {}
    if obj["metadata"].get("deletionTimestamp"):
        return [f"{name} is still being deleted"]
    if is_stalled(obj):
        # A stalled object that created its pool still owns it.
        if status.get("nodePoolId") in by_id:
            accounted.add(str(status["nodePoolId"]))
        return []
    if not is_ready(obj):
        return [f"{name} is neither Ready for its generation nor Stalled: {status}"]

    problems: list[str] = []
    pool_id = str(status.get("nodePoolId"))
    named = [pool for pool in pools if pool["name"] == pool_name_of(obj)]
    if pool_id not in by_id:
        problems.append(f"{name} records pool id {pool_id}, which OVH does not have")
    if len(named) != 1:
        problems.append(f"{name}: {len(named)} OVH pools are named {pool_name_of(obj)}")
    if named and pool_id in by_id and named[0]["id"] != pool_id:
        problems.append(f"{name}: the pool named after it is not the pool it records")
    if pool_id in by_id:
        accounted.add(str(pool_id))
        if obj["spec"].get("managementPolicy") != "ObserveOnly":
            problems += [f"{name}: {m}" for m in declared_mismatches(obj["spec"], by_id[pool_id])]
    return problems


def _released_violations(
    scenario: Scenario, item: Released, pools: list[dict[str, Any]], accounted: set[str]
) -> list[str]:
    if scenario.get(item.name) is not None:
        return [f"{item.name} was deleted but the object still exists"]
    named = [pool for pool in pools if pool["name"] == (item.pool_name or item.name)]
    if item.policy == "Delete" and named:
        return [f"{item.name} was deleted with policy Delete, but OVH still has its pool"]
    if item.policy == "Orphan":
        if len(named) != 1:
            return [f"{item.name} was deleted with policy Orphan: {len(named)} pools remain"]
        accounted.add(str(named[0]["id"]))
    return []
