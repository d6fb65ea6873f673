"""The simulated OVH autoscaler: on demand through the control API and on a schedule."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ovh_api_simulator.testing import SimulatorServer
from tests.simulator.sim_constants import POOLS_A


def _autoscaled_pool(client: Any) -> dict[str, Any]:
    pool = client.post(
        POOLS_A,
        flavorName="b3-8",
        name="auto",
        autoscale=True,
        desiredNodes=2,
        minNodes=1,
        maxNodes=4,
    )
    client.get(f"{POOLS_A}/{pool['id']}")
    client.get(f"{POOLS_A}/{pool['id']}")
    created: dict[str, Any] = pool
    return created


def test_autoscale_on_demand(ovh_sim: SimulatorServer, client: Any) -> None:
    pool = _autoscaled_pool(client)
    path = f"{POOLS_A}/{pool['id']}"
    ovh_sim.control.autoscale(pool["id"], 3)
    read = client.get(path)
    assert read["desiredNodes"] == 3
    assert read["status"] == "UPSCALING"
    assert client.get(path)["status"] == "READY"

    ovh_sim.control.autoscale(pool["id"], 1)
    assert client.get(path)["status"] == "DOWNSCALING"
    assert client.get(path)["currentNodes"] == 1


def test_autoscale_clamped_to_bounds(ovh_sim: SimulatorServer, client: Any) -> None:
    pool = _autoscaled_pool(client)
    assert ovh_sim.control.autoscale(pool["id"], 50)["desiredNodes"] == 4
    assert ovh_sim.control.autoscale(pool["id"], 0)["desiredNodes"] == 1


def test_autoscale_needs_autoscale_flag(ovh_sim: SimulatorServer) -> None:
    with pytest.raises(RuntimeError, match="autoscale disabled"):
        ovh_sim.control.autoscale("11111111-2222-4333-8444-555555555555", 3)


def test_scheduled_autoscaler_walks_within_bounds(ovh_sim: SimulatorServer, client: Any) -> None:
    pool = _autoscaled_pool(client)
    ovh_sim.control.settings(autoscalerRandomSeed=7)
    ovh_sim.control.autoscaler(0.05)
    seen: set[int] = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(seen) < 3:
        seen.add(ovh_sim.control.pool(pool["id"])["desiredNodes"])
        time.sleep(0.02)
    ovh_sim.control.autoscaler(None)

    assert len(seen) >= 2
    assert seen <= {1, 2, 3, 4}
    assert ovh_sim.control.settings()["autoscalerIntervalSeconds"] is None


def test_scheduled_autoscaler_skips_fixed_pools(ovh_sim: SimulatorServer) -> None:
    ovh_sim.control.autoscaler(0.05)
    time.sleep(0.3)
    ovh_sim.control.autoscaler(None)
    assert ovh_sim.control.pool("11111111-2222-4333-8444-555555555555")["desiredNodes"] == 2
