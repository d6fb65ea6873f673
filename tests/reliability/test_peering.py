"""Kopf peering: one operator acts and the other takes over when it stops, and a frozen one waits.

The suite's standalone operator is stopped for these tests, because it would act regardless of
peering. The peering CRDs and the extra RBAC they need come from peering.yaml.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kube_control_plane.controlplane import ControlPlane
from tests.e2e.support import OperatorProcess
from tests.reliability.harness import Scenario

pytestmark = pytest.mark.e2e

PEERING_YAML = Path(__file__).resolve().parent / "peering.yaml"
HANDLERS = "ovh_nodepool_operator.handlers.operator"
NAME = "peered"


@pytest.fixture
def peering(control_plane: ControlPlane, operator: OperatorProcess) -> Iterator[str]:
    """Install the peering CRDs and a ClusterKopfPeering; stop the standalone operator."""
    control_plane.kubectl("apply", "-f", str(PEERING_YAML))
    for crd in ("clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"):
        control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}")
    name = f"ovhnp-{uuid.uuid4().hex[:8]}"
    manifest = f"apiVersion: kopf.dev/v1\nkind: ClusterKopfPeering\nmetadata:\n  name: {name}\n"
    control_plane.kubectl("apply", "-f", "-", input=manifest)
    operator.stop()
    yield name
    operator.start()


def start_pair(
    scn: Scenario, tmp_path: Path, commands: list[list[str] | None], env: dict[str, str]
) -> list[OperatorProcess]:
    """Start two operators with the same peering; their logs join the secret scan."""
    started = []
    for index, command in enumerate(commands):
        log_path = tmp_path / f"peer-{index}.log"
        scn.extra_logs.append(log_path)
        process = OperatorProcess(scn.operator.kubeconfig, log_path, env=env, command=command)
        started.append(process.start())
    return started


def peering_lines(processes: list[OperatorProcess]) -> str:
    """Return Kopf's pause and resume lines of both logs, for failure messages."""
    lines = [
        f"peer {index}: {line}"
        for index, process in enumerate(processes)
        for line in process.logs().splitlines()
        if "operators" in line or "Pausing" in line or "Resuming" in line
    ]
    return "\n".join(lines[-12:])


def run_takeover(scn: Scenario, processes: list[OperatorProcess]) -> None:
    """Create, find the acting peer, stop it, scale, and check the other peer applies it."""
    try:
        time.sleep(2)  # Both peers see each other's keep-alive before the object appears.
        scn.create(NAME, desiredNodes=1, maxNodes=10)
        scn.wait_ready(NAME, timeout=30)
        actors = [p for p in processes if "Created OVH node pool" in p.logs()]
        scn.record["creators"] = len(actors)
        assert len(actors) == 1, f"{len(actors)} peers created the pool"

        actors[0].stop()
        other = next(p for p in processes if p is not actors[0])
        scn.patch_spec(NAME, desiredNodes=3)
        scn.wait_ready(NAME, timeout=60)
        pool = scn.pools()[0]
        assert pool["desiredNodes"] == 3, "the remaining peer did not apply the change"
        assert "Updated OVH node pool" in other.logs()
    except AssertionError as error:
        lines = peering_lines(processes)
        raise AssertionError(f"{error}\nKopf peering log lines:\n{lines}") from None
    finally:
        methods = [f"{e['method']} {e['status']}" for e in scn.writes()]
        scn.record["writes"] = methods

    posts = [m for m in methods if m.startswith("POST")]
    puts = [m for m in methods if m.startswith("PUT")]
    assert posts == ["POST 200"], methods
    assert puts == ["PUT 204"], methods


def test_peering_same_priority(scenario: Scenario, peering: str, tmp_path: Path) -> None:
    scenario.record.update(
        group="peering",
        case="two-operators-same-settings",
        injected=f"two `ovh-nodepool-operator run` with OVHNP_PEERING={peering}",
    )
    processes = start_pair(scenario, tmp_path, [None, None], {"OVHNP_PEERING": peering})
    try:
        run_takeover(scenario, processes)
    finally:
        for process in processes:
            process.stop()


def test_peering_with_priorities(scenario: Scenario, peering: str, tmp_path: Path) -> None:
    scenario.record.update(
        group="peering",
        case="two-operators-distinct-priorities",
        injected="two `kopf run` of the operator's handlers with --peering and priorities "
        "100 and 50 (the operator's CLI has no priority setting)",
    )
    base = [sys.executable, "-m", "kopf", "run", "-m", HANDLERS, "--all-namespaces"]
    commands: list[list[str] | None] = [
        [*base, f"--peering={peering}", f"--priority={priority}"] for priority in (100, 50)
    ]
    processes = start_pair(scenario, tmp_path, commands, {})
    try:
        run_takeover(scenario, processes)
    finally:
        for process in processes:
            process.stop()


def test_frozen_operator_sends_nothing(
    scenario: Scenario, peering: str, control_plane: ControlPlane, tmp_path: Path
) -> None:
    scenario.record.update(
        group="peering",
        case="frozen-by-higher-priority",
        injected="`kopf freeze` enters a peer with a higher priority for 20 s",
    )
    env = {
        "OVHNP_PEERING": peering,
        "OVHNP_OBSERVE_INTERVAL_SECONDS": "2",
        "OVHNP_TICK_SECONDS": "1",
    }
    [process] = start_pair(scenario, tmp_path, [None], env)
    try:
        time.sleep(2)  # The operator sees its own keep-alive before the object appears.
        scenario.create(NAME, desiredNodes=1, maxNodes=10)
        scenario.wait_ready(NAME, timeout=30)

        freeze = [sys.executable, "-m", "kopf", "freeze", "--all-namespaces"]
        freeze += [f"--peering={peering}", "--priority=2000000", "--lifetime=20", "--id=freezer"]
        subprocess.run(freeze, env=admin_env(control_plane), check=True, timeout=60)
        time.sleep(3)  # Kopf's and the ticker's watches see the frozen entry.
        frozen_at = time.time()
        scenario.patch_spec(NAME, desiredNodes=2)
        time.sleep(8)  # Four observe intervals: a running ticker would list the pools.
        sent = scenario.requests(since=frozen_at)

        scenario.wait_ready(NAME, timeout=60)
        pool = scenario.pools()[0]
    finally:
        process.stop()

    assert sent == [], [f"{e['method']} {e['path']}" for e in sent]
    assert pool["desiredNodes"] == 2, "the change was not applied after the freeze ended"
    assert "Paused reconciles" in process.logs()
    assert "Resumed reconciles" in process.logs()


def admin_env(control_plane: ControlPlane) -> dict[str, str]:
    """Return the environment of a command run as the control plane's admin."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUBE")}
    env["KUBECONFIG"] = str(control_plane.admin_kubeconfig)
    return env
