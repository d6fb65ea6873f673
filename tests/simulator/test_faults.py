"""Fault injection: each kind, counts, matching, and what python-ovh raises."""

from __future__ import annotations

import time
from typing import Any

import ovh
import pytest
from ovh.exceptions import InvalidResponse

from ovh_api_simulator.testing import SimulatorServer, make_client
from tests.simulator.sim_constants import KUBE_A_PATH, POOLS_A, SYSTEM_POOL

POOL_ROUTE = "/cloud/project/{serviceName}/kube/{kubeId}/nodepool/{nodePoolId}"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_status_fault(ovh_sim: SimulatorServer, client: Any, status: int) -> None:
    ovh_sim.control.inject_fault("status", status=status)
    with pytest.raises(ovh.APIError) as caught:
        client.get("/cloud/project")
    assert caught.value.response.status_code == status
    assert caught.value.response.json()["class"].startswith("Server::")
    assert client.get("/cloud/project")


def test_rate_limit_fault(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("rate_limit", retry_after=7)
    with pytest.raises(ovh.APIError) as caught:
        client.get("/cloud/project")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.query_id.startswith("EU.ext-1.")


def test_latency_fault(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("latency", seconds=0.3)
    start = time.monotonic()
    assert client.get("/cloud/project")
    assert time.monotonic() - start >= 0.3


def test_drop_fault(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("drop")
    with pytest.raises(ovh.HTTPError):
        client.get("/cloud/project")
    assert client.get("/cloud/project")


def test_timeout_fault(ovh_sim: SimulatorServer) -> None:
    client = make_client(ovh_sim, timeout=0.3)
    ovh_sim.control.inject_fault("timeout", seconds=2)
    start = time.monotonic()
    with pytest.raises(ovh.HTTPError):
        client.get("/cloud/project")
    assert time.monotonic() - start < 1.5


def test_malformed_fault(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("malformed")
    with pytest.raises(InvalidResponse):
        client.get("/cloud/project")


def test_fault_count_and_hits(ovh_sim: SimulatorServer, client: Any) -> None:
    fault_id = ovh_sim.control.inject_fault("status", status=503, count=2)
    for _ in range(2):
        with pytest.raises(ovh.APIError):
            client.get("/cloud/project")
    assert client.get("/cloud/project")

    listed = {fault["id"]: fault for fault in ovh_sim.control.faults()}
    assert listed[fault_id]["remaining"] == 0
    assert listed[fault_id]["hits"] == 2


def test_fault_until_cleared(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("status", count=None)
    for _ in range(3):
        with pytest.raises(ovh.APIError):
            client.get("/cloud/project")
    ovh_sim.control.clear_faults()
    assert client.get("/cloud/project")


def test_fault_matches_method_and_route(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("status", method="PUT", route=POOL_ROUTE, count=None)
    assert client.get(f"{POOLS_A}/{SYSTEM_POOL}")
    assert client.get(KUBE_A_PATH)
    with pytest.raises(ovh.APIError):
        client.put(f"{POOLS_A}/{SYSTEM_POOL}", desiredNodes=3)
    with pytest.raises(ovh.APIError):
        client.put(f"/v1{POOLS_A}/{SYSTEM_POOL}", desiredNodes=3)


def test_fault_delete_by_id(ovh_sim: SimulatorServer, client: Any) -> None:
    fault_id = ovh_sim.control.inject_fault("status", count=None)
    response = ovh_sim.control.session.delete(f"{ovh_sim.url}/_sim/faults/{fault_id}", timeout=5)
    assert response.status_code == 200
    assert ovh_sim.control.faults() == []
    assert client.get("/cloud/project")


def test_fault_recorded_in_log(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("rate_limit")
    with pytest.raises(ovh.APIError):
        client.get("/cloud/project")
    entry = ovh_sim.control.requests()[-1]
    assert entry["fault"] == "rate_limit"
    assert entry["status"] == 429


def test_invalid_fault_rejected(ovh_sim: SimulatorServer) -> None:
    with pytest.raises(RuntimeError, match="fault kind"):
        ovh_sim.control.inject_fault("explode")
    with pytest.raises(RuntimeError, match="fault status"):
        ovh_sim.control.inject_fault("status", status=418)
