"""Control API, request log, seeds and the command line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import ovh
import pytest
import requests

from ovh_api_simulator.seed import load_seed_file
from ovh_api_simulator.testing import SimulatorServer, make_client
from tests.simulator.sim_constants import KUBE_A, POOLS_A, PROJECT_A, SYSTEM_POOL

REPO = Path(__file__).resolve().parents[2]
DEMO_SEED = REPO / "dev" / "seeds" / "demo.yaml"


def test_pools_listing(ovh_sim: SimulatorServer) -> None:
    pools = ovh_sim.control.pools()
    assert [pool["id"] for pool in pools] == [SYSTEM_POOL]
    assert pools[0]["projectId"] == PROJECT_A
    assert pools[0]["kubeId"] == KUBE_A
    assert len(pools[0]["nodes"]) == 2
    assert ovh_sim.control.pool(SYSTEM_POOL)["name"] == "system"


def test_control_reads_do_not_count(ovh_sim: SimulatorServer, client: Any) -> None:
    client.put(f"{POOLS_A}/{SYSTEM_POOL}", desiredNodes=3)
    for _ in range(3):
        ovh_sim.control.pool(SYSTEM_POOL)
    assert client.get(f"{POOLS_A}/{SYSTEM_POOL}")["status"] == "UPSCALING"


def test_patch_pool_behind_client(ovh_sim: SimulatorServer, client: Any) -> None:
    patched = ovh_sim.control.patch_pool(
        SYSTEM_POOL, desiredNodes=4, maxNodes=8, minNodes=0, autoscale=True
    )
    assert patched["desiredNodes"] == 4
    pool = client.get(f"{POOLS_A}/{SYSTEM_POOL}")
    assert pool["maxNodes"] == 8
    assert pool["minNodes"] == 0
    assert pool["autoscale"] is True
    assert pool["status"] == "UPSCALING"

    ovh_sim.control.patch_pool(
        SYSTEM_POOL, status="ERROR", autoscaling={"scaleDownUnneededTimeSeconds": 60}
    )
    pool = client.get(f"{POOLS_A}/{SYSTEM_POOL}")
    assert pool["status"] == "ERROR"
    assert pool["autoscaling"]["scaleDownUnneededTimeSeconds"] == 60
    ovh_sim.control.patch_pool(SYSTEM_POOL, status=None)
    assert client.get(f"{POOLS_A}/{SYSTEM_POOL}")["status"] == "READY"


def test_patch_rejects_unknown_field(ovh_sim: SimulatorServer) -> None:
    with pytest.raises(RuntimeError, match="cannot be patched"):
        ovh_sim.control.patch_pool(SYSTEM_POOL, flavor="b3-16")


def test_delete_pool_at_once(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.delete_pool(SYSTEM_POOL)
    with pytest.raises(ovh.ResourceNotFoundError):
        client.get(f"{POOLS_A}/{SYSTEM_POOL}")
    with pytest.raises(RuntimeError, match="does not exist"):
        ovh_sim.control.pool(SYSTEM_POOL)


def test_request_log_entries(ovh_sim: SimulatorServer, client: Any) -> None:
    client.get(f"{POOLS_A}/{SYSTEM_POOL}")
    entries = ovh_sim.control.requests()
    assert [entry["route"] for entry in entries] == [
        "/auth/time",
        "/cloud/project/{serviceName}/kube/{kubeId}/nodepool/{nodePoolId}",
    ]
    entry = entries[-1]
    assert entry["method"] == "GET"
    assert entry["path"] == f"/1.0{POOLS_A}/{SYSTEM_POOL}"
    assert entry["status"] == 200
    assert entry["applicationKey"] == "demo-ak"
    assert entry["clientId"] is None
    assert entry["fault"] is None
    assert entry["queryId"].startswith("EU.ext-1.")
    assert "demo-as" not in str(entries)


def test_request_log_since_and_clear(ovh_sim: SimulatorServer, client: Any) -> None:
    client.get("/cloud/project")
    middle = time.time()
    client.get("/cloud/project")
    assert len(ovh_sim.control.requests(since=middle)) == 1
    ovh_sim.control.clear_requests()
    assert ovh_sim.control.requests() == []


def test_request_log_excludes_control_calls(ovh_sim: SimulatorServer) -> None:
    ovh_sim.control.pools()
    ovh_sim.control.settings()
    assert ovh_sim.control.requests() == []


def test_settings_roundtrip_and_errors(ovh_sim: SimulatorServer) -> None:
    settings = ovh_sim.control.settings(busyPutPolicy="reject", nodeSeconds=5)
    assert settings["busyPutPolicy"] == "reject"
    assert settings["nodeSeconds"] == 5.0
    with pytest.raises(RuntimeError, match="unknown setting"):
        ovh_sim.control.settings(notASetting=1)
    with pytest.raises(RuntimeError, match="busyPutPolicy"):
        ovh_sim.control.settings(busyPutPolicy="maybe")
    with pytest.raises(RuntimeError, match="timeScale"):
        ovh_sim.control.settings(timeScale=-1)
    assert ovh_sim.control.settings()["nodeSeconds"] == 5.0


def test_reset_clears_everything(ovh_sim: SimulatorServer, client: Any) -> None:
    ovh_sim.control.inject_fault("status", count=None, route="/nothing")
    ovh_sim.control.reset()
    assert ovh_sim.control.pools() == []
    assert ovh_sim.control.faults() == []
    assert ovh_sim.control.requests() == []
    with pytest.raises(ovh.InvalidKey):
        client.get("/cloud/project")


def test_seed_merge_and_replace(ovh_sim: SimulatorServer, client: Any) -> None:
    extra = {
        "pools": [
            {
                "projectId": PROJECT_A,
                "kubeId": KUBE_A,
                "name": "extra",
                "flavorName": "b3-16",
                "desiredNodes": 3,
            }
        ]
    }
    ovh_sim.control.seed(extra)
    names = sorted(pool["name"] for pool in client.get(POOLS_A))
    assert names == ["extra", "system"]
    extra_pool = next(pool for pool in client.get(POOLS_A) if pool["name"] == "extra")
    assert extra_pool["status"] == "READY"
    assert extra_pool["availableNodes"] == 3

    ovh_sim.control.seed(load_seed_file(DEMO_SEED), replace=True)
    assert len(ovh_sim.control.pools()) == 2


def test_seed_errors(ovh_sim: SimulatorServer) -> None:
    with pytest.raises(RuntimeError, match="unknown seed keys"):
        ovh_sim.control.seed({"bogus": []})
    with pytest.raises(RuntimeError, match="not in the seed projects"):
        ovh_sim.control.seed({"pools": [{"kubeId": "nope", "flavorName": "b3-8"}]})
    with pytest.raises(RuntimeError, match="maxNodes"):
        ovh_sim.control.seed({"pools": [{"kubeId": KUBE_A, "flavorName": "b3-8", "maxNodes": 500}]})


def test_demo_seed_loads(ovh_sim: SimulatorServer) -> None:
    with SimulatorServer(seed=load_seed_file(DEMO_SEED)) as server:
        client = make_client(server)
        assert len(client.get("/cloud/project")) == 2
        assert server.control.settings()["nodeSeconds"] == 60.0


def test_server_settings_from_keywords() -> None:
    with SimulatorServer(seed=None, node_seconds=0.5, timeScale=2) as server:
        settings = server.control.settings()
        assert settings["nodeSeconds"] == 0.5
        assert settings["timeScale"] == 2.0
        assert requests.get(server.base_url + "/auth/time", timeout=5).status_code == 200


def test_command_line_serves_and_stops(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    command = [
        sys.executable,
        "-m",
        "ovh_api_simulator",
        "--port",
        "0",
        "--seed",
        str(DEMO_SEED),
        "--node-seconds",
        "0",
        "--time-scale",
        "0.5",
        "--port-file",
        str(port_file),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        port = int(port_file.read_text().strip())
        assert line == f"OVH API simulator listening on http://127.0.0.1:{port}"

        settings = requests.get(f"http://127.0.0.1:{port}/_sim/settings", timeout=5).json()
        assert settings["nodeSeconds"] == 0.0
        assert settings["timeScale"] == 0.5
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_command_line_bad_seed(tmp_path: Path) -> None:
    seed = tmp_path / "bad.yaml"
    seed.write_text("credentials: [{applicationKey: only}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "ovh_api_simulator", "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "credential needs" in result.stderr
