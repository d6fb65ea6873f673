"""kube-apiserver restarted while the operator works: its watches resume and nothing is missed.

The suite's control plane is its own (see conftest.py), so the restart disturbs no other test.
The test leaves the API server running.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from kube_control_plane.controlplane import ControlPlane
from tests.reliability.harness import POOLS_ROUTE, Scenario, wait_until
from tests.reliability.invariants import Released, violations, wait_settled

pytestmark = pytest.mark.e2e

# With the test settings (0.5 s ticks, retries capped at 2 s), a change should land within a
# few seconds once the API server is back; 30 s leaves room for a loaded machine.
APPLY_WITHIN_SECONDS = 30.0


def create_when_possible(scn: Scenario, name: str, timeout: float = 60.0, **spec: Any) -> float:
    """Create an object, retrying while the API server is down; return when it was accepted."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            scn.create(name, **spec)
            return time.time()
        except (ApiException, HTTPError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_apiserver_restart_misses_nothing(control_plane: ControlPlane, scenario: Scenario) -> None:
    scn = scenario
    scn.record.update(
        group="kube-apiserver restart",
        case="restart-during-work",
        injected="restart kube-apiserver while a POST is in flight; create, scale and delete "
        "objects as soon as it accepts writes again",
    )
    scn.create("steady", desiredNodes=1, maxNodes=10)
    scn.create("doomed", desiredNodes=1)
    scn.wait_ready("steady")
    scn.wait_ready("doomed")

    scn.inject("latency", "POST", POOLS_ROUTE, seconds=3)
    scn.create("inflight", desiredNodes=2)
    wait_until(lambda: scn.in_flight("POST", POOLS_ROUTE), what="the POST to be in flight")

    log_offset = len(scn.operator.logs())
    restart_started = time.time()
    restarter = threading.Thread(target=control_plane.restart_apiserver)
    restarter.start()
    time.sleep(0.5)  # The API server is stopping: the next writes wait for it to come back.
    accepted_at = create_when_possible(scn, "during-restart", desiredNodes=1)
    restarter.join(timeout=120)
    restart_seconds = time.time() - restart_started

    scn.patch_spec("steady", desiredNodes=3)
    scn.delete("doomed")
    changed_at = time.time()
    scn.create("after-restart", desiredNodes=1)

    scn.wait_gone("doomed")
    settle = wait_settled(scn, timeout=120)
    wait_until(scn.nothing_in_flight, what="OVH to run the delayed POST")
    applied_after = time.time() - changed_at
    problems = violations(scn, released=[Released("doomed")])
    steady = [pool for pool in scn.pools() if pool["name"] == "steady"]
    scn.record.update(
        restartSeconds=round(restart_seconds, 2),
        createdAfterRestartBeganSeconds=round(accepted_at - restart_started, 2),
        settleSecondsAfterChanges=round(applied_after, 2),
        tracebacks=scn.operator.logs()[log_offset:].count("Traceback"),
        settleSeconds=round(settle, 2),
        violations=problems,
        writes=[f"{e['method']} {e['status']}" for e in scn.writes()],
    )

    assert not problems, "\n".join(problems)
    assert steady[0]["desiredNodes"] == 3, "the scale made after the restart was lost"
    assert applied_after <= APPLY_WITHIN_SECONDS, f"changes took {applied_after:.0f} s to apply"
    assert scn.operator.process is not None
    assert scn.operator.process.poll() is None, "the operator exited"
