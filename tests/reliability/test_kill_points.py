"""SIGKILL the operator at precise points of create, resize, update and delete, then restart it.

Each row of KILL_POINTS states how the point is reached and what must hold after the restart.
Kill points inside an OVH call use an injected `latency` fault on that route and method: the
simulator logs the request when it arrives (status null until it answers) and carries it out
after the delay, so the call reaches OVH although the operator that sent it is dead. Points in
OVH's transitional statuses use the simulator setting nodeSeconds > 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.support import seed_pool
from tests.reliability.harness import (
    ADOPT,
    FINALIZER,
    POOL_ROUTE,
    POOLS_ROUTE,
    Scenario,
    wait_until,
)
from tests.reliability.invariants import Released, violations, wait_settled

pytestmark = pytest.mark.e2e

NAME = "kp"
TEMPLATE = {
    "metadata": {"labels": {"team": "data"}, "annotations": {"owner": "reliability"}},
    "spec": {"taints": [{"key": "dedicated", "value": "data", "effect": "NoSchedule"}]},
}

Step = Callable[[Scenario], Any]


@dataclass(frozen=True)
class Fault:
    """A simulator fault added just before a stage's action."""

    kind: str
    method: str
    route: str
    seconds: float = 3.0
    count: int = 1


@dataclass(frozen=True)
class Stage:
    """One kill: faults, an action, the point to kill at, and what happens while down.

    With `wait_for_ovh`, the restart waits until OVH has carried out the delayed requests;
    without it, the operator restarts while they are still in flight.
    """

    act: Step | None
    reach: Step
    faults: tuple[Fault, ...] = ()
    while_down: Step | None = None
    wait_for_ovh: bool = True


@dataclass(frozen=True)
class KillPoint:
    """A row of the kill point table."""

    id: str
    phase: str
    how: str
    stages: tuple[Stage, ...]
    prepare: dict[str, Any] | None = None  # spec of an object made Ready before the stages
    released: str | None = None  # deletion policy when the object must end deleted
    node_seconds: float = 0.0
    foreign: dict[str, Any] | None = None  # pool seeded behind the operator's back
    max_posts: int = 1
    checks: tuple[Callable[[Scenario, dict[str, Any]], None], ...] = field(default=())


# ---------------------------------------------------------------------------------- actions


def create(**spec: Any) -> Step:
    return lambda scn: scn.create(NAME, **spec)


def adopt_create(**spec: Any) -> Step:
    return lambda scn: scn.create(NAME, annotations={ADOPT: "true"}, **spec)


def patch(**spec: Any) -> Step:
    return lambda scn: scn.patch_spec(NAME, **spec)


def delete(scn: Scenario) -> None:
    scn.delete(NAME)


def ovh_patch(**fields: Any) -> Step:
    """Change the pool at OVH behind the operator's back."""
    return lambda scn: scn.sim.control.patch_pool(scn.pools()[0]["id"], **fields)


def ovh_delete(scn: Scenario) -> None:
    scn.sim.control.delete_pool(scn.pools()[0]["id"])


def steps(*actions: Step) -> Step:
    def run(scn: Scenario) -> None:
        for action in actions:
            action(scn)

    return run


# ---------------------------------------------------------------------------------- points


def in_flight(method: str, route: str) -> Step:
    return lambda scn: scn.in_flight(method, route)


def answered(method: str, route: str, status: int) -> Step:
    return lambda scn: scn.responded(method, route, status)


def dropped(method: str, route: str) -> Step:
    return lambda scn: any(
        e["method"] == method and e["route"] == route and e["fault"] == "drop"
        for e in scn.requests()
    )


def status_has(key: str) -> Step:
    return lambda scn: scn.status(NAME).get(key)


def pool_is(status: str) -> Step:
    return lambda scn: any(pool["status"] == status for pool in scn.pools())


def has_finalizer(scn: Scenario) -> bool:
    obj = scn.get(NAME) or {}
    return FINALIZER in (obj.get("metadata", {}).get("finalizers") or [])


def now(scn: Scenario) -> bool:
    return True


# ---------------------------------------------------------------------------------- checks


def seeded_pool_kept(scn: Scenario, context: dict[str, Any]) -> None:
    obj = scn.get(NAME) or {}
    assert obj["status"]["nodePoolId"] == context["foreign_id"], "adopted a pool other than seeded"


def latency(method: str, route: str, seconds: float = 2.0, count: int = 1) -> Fault:
    return Fault("latency", method, route, seconds, count)


BASE = {"desiredNodes": 1, "minNodes": 0, "maxNodes": 10}
POST = ("POST", POOLS_ROUTE)
LIST = ("GET", POOLS_ROUTE)
GET = ("GET", POOL_ROUTE)
PUT = ("PUT", POOL_ROUTE)
DELETE = ("DELETE", POOL_ROUTE)

CREATE_POINTS = [
    KillPoint(
        "create-list-in-flight",
        "create",
        "latency 2 s on GET nodepool; kill while the first listing is in flight",
        (Stage(create(desiredNodes=2), in_flight(*LIST), (latency(*LIST),)),),
    ),
    KillPoint(
        "create-finalizer-added",
        "create",
        "kill as soon as Kopf's finalizer is on the new object",
        (Stage(create(desiredNodes=2), has_finalizer),),
    ),
    KillPoint(
        "create-intent-recorded",
        "create",
        "kill as soon as status.nodePoolName is written (the POST may or may not be sent)",
        (Stage(create(desiredNodes=2), status_has("nodePoolName")),),
    ),
    KillPoint(
        "create-post-dropped",
        "create",
        "drop the POST's connection (OVH never ran it); kill right after",
        (Stage(create(desiredNodes=2), dropped(*POST), (Fault("drop", *POST),)),),
    ),
    KillPoint(
        "create-post-in-flight",
        "create",
        "latency 2 s on POST; kill while in flight; restart after OVH created the pool",
        (Stage(create(desiredNodes=2), in_flight(*POST), (latency(*POST),)),),
    ),
    KillPoint(
        "create-post-in-flight-early-restart",
        "create",
        "latency 5 s on POST; kill while in flight; restart before OVH ran it",
        (
            Stage(
                create(desiredNodes=2),
                in_flight(*POST),
                (latency(*POST, seconds=5),),
                wait_for_ovh=False,
            ),
        ),
    ),
    KillPoint(
        "create-slow-posts-early-restart",
        "create",
        "latency 4 s on the POST, kill in flight, restart before OVH ran it; the next POST "
        "takes 3.5 s, so OVH runs the first one while the second waits",
        (
            Stage(
                create(desiredNodes=2),
                in_flight(*POST),
                (latency(*POST, seconds=4), latency(*POST, seconds=3.5)),
                wait_for_ovh=False,
            ),
        ),
    ),
    KillPoint(
        "create-post-answered",
        "create",
        "kill as soon as OVH has answered the POST (pool id maybe not yet in status)",
        (Stage(create(desiredNodes=2), answered(*POST, 200)),),
    ),
    KillPoint(
        "create-id-recorded",
        "create",
        "kill as soon as status.nodePoolId is written",
        (Stage(create(desiredNodes=2), status_has("nodePoolId")),),
    ),
    KillPoint(
        "create-installing",
        "create",
        "nodeSeconds 3; kill while the pool is INSTALLING",
        (Stage(create(desiredNodes=2), pool_is("INSTALLING")),),
        node_seconds=3,
    ),
    KillPoint(
        "create-installing-scaled-while-down",
        "create",
        "nodeSeconds 3; kill while INSTALLING; set desiredNodes 3 while the operator is down",
        (Stage(create(desiredNodes=2), pool_is("INSTALLING"), while_down=patch(desiredNodes=3)),),
        node_seconds=3,
    ),
    KillPoint(
        "create-post-in-flight-deleted-while-down",
        "create",
        "latency 5 s on POST; kill in flight; delete the object while down; restart before "
        "OVH ran the POST",
        (
            Stage(
                create(desiredNodes=2),
                in_flight(*POST),
                (latency(*POST, seconds=5),),
                while_down=delete,
                wait_for_ovh=False,
            ),
        ),
        released="Delete",
    ),
    KillPoint(
        "create-post-in-flight-deleted-while-down-after-ovh",
        "create",
        "latency 2 s on POST; kill in flight; delete the object while down; restart after OVH "
        "ran the POST",
        (Stage(create(desiredNodes=2), in_flight(*POST), (latency(*POST),), while_down=delete),),
        released="Delete",
    ),
    KillPoint(
        "create-autoscaled-template-post-in-flight",
        "create",
        "autoscaled pool with a template; latency 2 s on POST; kill in flight",
        (
            Stage(
                create(autoscale=True, minNodes=1, maxNodes=5, desiredNodes=2, template=TEMPLATE),
                in_flight(*POST),
                (latency(*POST),),
            ),
        ),
    ),
    KillPoint(
        "create-killed-twice",
        "create",
        "kill during the POST, then again during the first listing after the restart",
        (
            Stage(create(desiredNodes=2), in_flight(*POST), (latency(*POST),)),
            Stage(None, in_flight(*LIST), (latency(*LIST),)),
        ),
    ),
]

RESIZE_POINTS = [
    KillPoint(
        "resize-list-in-flight",
        "resize",
        "set desiredNodes 3; latency 2 s on GET nodepool; kill during the listing",
        (Stage(patch(desiredNodes=3), in_flight(*LIST), (latency(*LIST),)),),
        prepare=BASE,
    ),
    KillPoint(
        "resize-put-in-flight",
        "resize",
        "set desiredNodes 3; latency 2 s on PUT; kill in flight; restart after OVH ran it",
        (Stage(patch(desiredNodes=3), in_flight(*PUT), (latency(*PUT),)),),
        prepare=BASE,
    ),
    KillPoint(
        "resize-put-in-flight-early-restart",
        "resize",
        "set desiredNodes 3; latency 5 s on PUT; kill in flight; restart before OVH ran it",
        (
            Stage(
                patch(desiredNodes=3),
                in_flight(*PUT),
                (latency(*PUT, seconds=5),),
                wait_for_ovh=False,
            ),
        ),
        prepare=BASE,
    ),
    KillPoint(
        "resize-put-answered",
        "resize",
        "set desiredNodes 3; kill as soon as OVH answered the PUT",
        (Stage(patch(desiredNodes=3), answered(*PUT, 204)),),
        prepare=BASE,
    ),
    KillPoint(
        "resize-down-put-in-flight",
        "resize",
        "from 3 to 1 node; latency 2 s on PUT; kill in flight",
        (Stage(patch(desiredNodes=1), in_flight(*PUT), (latency(*PUT),)),),
        prepare={**BASE, "desiredNodes": 3},
    ),
    KillPoint(
        "resize-upscaling",
        "resize",
        "nodeSeconds 3; set desiredNodes 3; kill while UPSCALING",
        (Stage(patch(desiredNodes=3), pool_is("UPSCALING")),),
        prepare=BASE,
        node_seconds=3,
    ),
    KillPoint(
        "resize-downscaling",
        "resize",
        "nodeSeconds 3; from 3 to 1 node; kill while DOWNSCALING",
        (Stage(patch(desiredNodes=1), pool_is("DOWNSCALING")),),
        prepare={**BASE, "desiredNodes": 3},
        node_seconds=3,
    ),
    KillPoint(
        "resize-upscaling-scaled-again-while-down",
        "resize",
        "nodeSeconds 3; set desiredNodes 3; kill while UPSCALING; set 5 while down",
        (Stage(patch(desiredNodes=3), pool_is("UPSCALING"), while_down=patch(desiredNodes=5)),),
        prepare=BASE,
        node_seconds=3,
    ),
    KillPoint(
        "resize-stale-put-lands-late",
        "resize",
        "set desiredNodes 3; latency 5 s on PUT; kill in flight; set 5 while down; restart "
        "before OVH ran the stale PUT",
        (
            Stage(
                patch(desiredNodes=3),
                in_flight(*PUT),
                (latency(*PUT, seconds=5),),
                while_down=patch(desiredNodes=5),
                wait_for_ovh=False,
            ),
        ),
        prepare=BASE,
    ),
    KillPoint(
        "resize-scaled-while-down",
        "resize",
        "kill an idle operator; set desiredNodes 4 while it is down",
        (Stage(None, now, while_down=patch(desiredNodes=4)),),
        prepare=BASE,
    ),
]

UPDATE_POINTS = [
    KillPoint(
        "update-template-put-in-flight",
        "update",
        "change the template; latency 2 s on PUT; kill in flight",
        (Stage(patch(template=TEMPLATE), in_flight(*PUT), (latency(*PUT),)),),
        prepare=BASE,
    ),
    KillPoint(
        "update-bounds-put-in-flight",
        "update",
        "lower maxNodes to 3 with desiredNodes 3 (from 5); latency 2 s on PUT; kill in flight",
        (Stage(patch(maxNodes=3, desiredNodes=3), in_flight(*PUT), (latency(*PUT),)),),
        prepare={**BASE, "desiredNodes": 5},
    ),
    KillPoint(
        "update-autoscale-on-put-in-flight",
        "update",
        "turn autoscale on with bounds 1..6; latency 2 s on PUT; kill in flight",
        (Stage(patch(autoscale=True, minNodes=1, maxNodes=6), in_flight(*PUT), (latency(*PUT),)),),
        prepare=BASE,
    ),
    KillPoint(
        "update-drift-put-in-flight",
        "update",
        "set maxNodes 20 at OVH behind the operator's back; latency 2 s on the PUT that puts "
        "it back; kill in flight",
        (Stage(ovh_patch(maxNodes=20), in_flight(*PUT), (latency(*PUT),)),),
        prepare=BASE,
    ),
    KillPoint(
        "update-pool-missing-post-in-flight",
        "update",
        "delete the pool at OVH behind the operator's back; latency 2 s on the POST that "
        "creates it again; kill in flight",
        (Stage(ovh_delete, in_flight(*POST), (latency(*POST),)),),
        prepare=BASE,
        max_posts=2,
    ),
    KillPoint(
        "update-adopt-list-in-flight",
        "update",
        "adopt a seeded pool (annotation adopt=true); latency 2 s on GET nodepool; kill during "
        "the listing",
        (Stage(adopt_create(**{**BASE, "desiredNodes": 3}), in_flight(*LIST), (latency(*LIST),)),),
        foreign={"desiredNodes": 2, "minNodes": 0, "maxNodes": 10},
        max_posts=0,
        checks=(seeded_pool_kept,),
    ),
    KillPoint(
        "update-adopt-put-in-flight",
        "update",
        "adopt a seeded pool of 2 nodes declaring 3; latency 2 s on PUT; kill in flight",
        (Stage(adopt_create(**{**BASE, "desiredNodes": 3}), in_flight(*PUT), (latency(*PUT),)),),
        foreign={"desiredNodes": 2, "minNodes": 0, "maxNodes": 10},
        max_posts=0,
        checks=(seeded_pool_kept,),
    ),
    KillPoint(
        "update-template-changed-while-down",
        "update",
        "kill an idle operator; change the template while it is down",
        (Stage(None, now, while_down=patch(template=TEMPLATE)),),
        prepare=BASE,
    ),
]

DELETE_POINTS = [
    KillPoint(
        "delete-get-in-flight",
        "delete",
        "delete the object; latency 2 s on GET nodepool/{id}; kill during the finalizer's read",
        (Stage(delete, in_flight(*GET), (latency(*GET),)),),
        prepare=BASE,
        released="Delete",
    ),
    KillPoint(
        "delete-request-in-flight",
        "delete",
        "delete the object; latency 2 s on DELETE; kill in flight; restart after OVH ran it",
        (Stage(delete, in_flight(*DELETE), (latency(*DELETE),)),),
        prepare=BASE,
        released="Delete",
    ),
    KillPoint(
        "delete-request-in-flight-early-restart",
        "delete",
        "delete the object; latency 5 s on DELETE; kill in flight; restart before OVH ran it",
        (Stage(delete, in_flight(*DELETE), (latency(*DELETE, seconds=5),), wait_for_ovh=False),),
        prepare=BASE,
        released="Delete",
    ),
    KillPoint(
        "delete-request-answered",
        "delete",
        "delete the object; kill as soon as OVH answered the DELETE",
        (Stage(delete, answered(*DELETE, 204)),),
        prepare=BASE,
        released="Delete",
    ),
    KillPoint(
        "delete-pool-deleting",
        "delete",
        "nodeSeconds 3; delete the object; kill while the pool is DELETING",
        (Stage(delete, pool_is("DELETING")),),
        prepare=BASE,
        released="Delete",
        node_seconds=3,
    ),
    KillPoint(
        "delete-refused-busy",
        "delete",
        "pool forced UPSCALING so OVH refuses the DELETE (400); kill after the refusal; the "
        "pool becomes READY while the operator is down",
        (
            Stage(
                steps(ovh_patch(status="UPSCALING"), delete),
                answered(*DELETE, 400),
                while_down=ovh_patch(status=None),
            ),
        ),
        prepare=BASE,
        released="Delete",
    ),
    KillPoint(
        "delete-orphan",
        "delete",
        "deletionPolicy Orphan; kill right after the deletion request",
        (Stage(delete, now),),
        prepare={**BASE, "deletionPolicy": "Orphan"},
        released="Orphan",
    ),
    KillPoint(
        "delete-switched-to-orphan-while-down",
        "delete",
        "OVH refuses the DELETE of a busy pool; kill; switch deletionPolicy to Orphan while down",
        (
            Stage(
                steps(ovh_patch(status="UPSCALING"), delete),
                answered(*DELETE, 400),
                while_down=patch(deletionPolicy="Orphan"),
            ),
        ),
        prepare=BASE,
        released="Orphan",
    ),
    KillPoint(
        "delete-requested-while-down",
        "delete",
        "kill an idle operator; delete the object while it is down",
        (Stage(None, now, while_down=delete),),
        prepare=BASE,
        released="Delete",
    ),
    KillPoint(
        "delete-during-downscale-put",
        "delete",
        "nodeSeconds 3; from 3 to 1 node with latency 2 s on PUT; kill in flight; delete the "
        "object while down",
        (Stage(patch(desiredNodes=1), in_flight(*PUT), (latency(*PUT),), while_down=delete),),
        prepare={**BASE, "desiredNodes": 3},
        released="Delete",
        node_seconds=3,
    ),
]

KILL_POINTS = CREATE_POINTS + RESIZE_POINTS + UPDATE_POINTS + DELETE_POINTS


@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda point: point.id)
def test_kill_point(scenario: Scenario, point: KillPoint) -> None:
    scn = scenario
    scn.record.update(group="kill point", case=point.id, phase=point.phase, injected=point.how)
    context: dict[str, Any] = {}
    if point.foreign is not None:
        pool = seed_pool(scn.sim, scn.project_id, scn.kube_id, name=NAME, **point.foreign)
        context["foreign_id"] = pool["id"]
    if point.prepare is not None:
        scn.create(NAME, **point.prepare)
        scn.wait_ready(NAME)
    if point.node_seconds:
        scn.sim.control.settings(nodeSeconds=point.node_seconds)

    kills = [run_stage(scn, stage) for stage in point.stages]
    scn.record["kills"] = kills

    wait_until(scn.nothing_in_flight, timeout=60, what="OVH to run the delayed requests")
    if point.released is not None:
        scn.wait_gone(NAME)
        wait_until(scn.nothing_in_flight, timeout=60, what="OVH to run the delayed requests")
        problems = violations(scn, released=[Released(NAME, point.released)])
    else:
        scn.record["settleSeconds"] = round(wait_settled(scn), 2)
        problems = violations(scn)
    created = [e for e in scn.writes() if e["method"] == "POST" and e["status"] == 200]
    scn.record["writes"] = [f"{e['method']} {e['status']}" for e in scn.writes()]
    scn.record["violations"] = problems

    assert not problems, "invariants broken:\n" + "\n".join(problems)
    assert len(created) <= point.max_posts, f"{len(created)} pools were created"
    assert scn.operator.process is not None
    assert scn.operator.process.poll() is None, "the operator exited"
    for check in point.checks:
        check(scn, context)


def run_stage(scn: Scenario, stage: Stage) -> dict[str, Any]:
    """Run one stage: add its faults, act, kill at the point, act while down, restart."""
    for fault in stage.faults:
        scn.inject(fault.kind, fault.method, fault.route, count=fault.count, seconds=fault.seconds)
    if stage.act is not None:
        stage.act(scn)
    wait_until(lambda: stage.reach(scn), timeout=60, what="the kill point")
    scn.kill()
    at_kill = scn.snapshot(NAME)

    if stage.while_down is not None:
        stage.while_down(scn)
    if stage.wait_for_ovh:
        wait_until(scn.nothing_in_flight, timeout=60, what="OVH to run the delayed requests")
    started = time.monotonic()
    scn.restart()
    at_kill["restartSeconds"] = round(time.monotonic() - started, 2)
    at_kill["ovhStillRunningAtRestart"] = not scn.nothing_in_flight()
    return at_kill
