"""Helpers of the end-to-end tests: the operator as a process, objects, waiting."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer

REPO = Path(__file__).resolve().parents[2]
GROUP = "ovh.nodepool-operator.io"
OPERATOR_COMMAND = Path(sys.executable).parent / "ovh-nodepool-operator"

# Credentials the tests seed into the simulator. Known values let tests scan outputs for them.
E2E_CREDENTIALS = {
    "applicationKey": "e2e-application-key",
    "applicationSecret": "e2e-application-secret-3f9a",
    "consumerKey": "e2e-consumer-key-77b1",
}
E2E_SECRET_VALUES = (E2E_CREDENTIALS["applicationSecret"], E2E_CREDENTIALS["consumerKey"])
# An OAuth2 service account of the tests; its client secret is scanned for like the keys above.
E2E_OAUTH2_CREDENTIALS = {
    "clientId": "e2e-oauth2-client",
    "clientSecret": "e2e-oauth2-secret-c41d",
}
E2E_OAUTH2_SECRET_VALUES = (E2E_OAUTH2_CREDENTIALS["clientSecret"],)

# Short intervals so tests converge in seconds; the defaults are for production.
FAST_SETTINGS = {
    "OVHNP_TICK_SECONDS": "0.5",
    "OVHNP_OBSERVE_INTERVAL_SECONDS": "2",
    "OVHNP_BUSY_INTERVAL_SECONDS": "0.5",
    "OVHNP_EVENT_FRESHNESS_SECONDS": "0.5",
    "OVHNP_STALLED_RETRY_SECONDS": "2",
    "OVHNP_BACKOFF_MAX_SECONDS": "2",
    "OVHNP_SECRET_CACHE_SECONDS": "0",
    "OVHNP_RATE_LIMIT_PER_SECOND": "50",
    "OVHNP_RATE_LIMIT_BURST": "50",
    "OVHNP_REQUEST_TIMEOUT_SECONDS": "5",
    "OVHNP_HEALTH_PORT": "0",
    "OVHNP_METRICS_PORT": "0",
}

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 60.0, interval: float = 0.3, what: str = ""
) -> T:
    """Call `probe` until it returns a truthy value; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or probe}; last: {last!r}")


class OperatorProcess:
    """The operator's own command, run as a child process with a given kubeconfig."""

    def __init__(
        self,
        kubeconfig: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
        *,
        command: list[str] | None = None,
    ):
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.extra_env = env or {}
        # Another command line than `ovh-nodepool-operator run`, e.g. `kopf run` with more flags.
        self.command = command or [str(OPERATOR_COMMAND), "run"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        """Start the operator and wait until Kopf's reactor runs."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OVH_", "OVHNP_", "KUBE"))
        }
        env.update(FAST_SETTINGS)
        env.update(self.extra_env)
        env["KUBECONFIG"] = str(self.kubeconfig)

        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        wait_for(lambda: self._started(offset), timeout=30, what="the operator to start")
        return self

    def _started(self, offset: int) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the operator exited early:\n{self.logs()[-3000:]}")
        return "Initial authentication has finished" in self.logs()[offset:]

    def stop(self) -> None:
        """Stop the operator gracefully, then forcefully after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the operator at once, as a crash would (SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def logs(self) -> str:
        """Return everything the operator printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def apply(plane: ControlPlane, manifest: dict[str, Any] | list[dict[str, Any]]) -> str:
    """Apply manifests with kubectl; return its output."""
    documents = manifest if isinstance(manifest, list) else [manifest]
    text = yaml.safe_dump_all(documents)
    return plane.kubectl("apply", "-f", "-", input=text).stdout


def get_object(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any] | None:
    """Return an OVHNodePool as JSON, or None when it does not exist."""
    result = plane.kubectl("get", "onp", name, "-n", namespace, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(result.stdout)
    check_kstatus(data)
    return data


KSTATUS_CONDITIONS = ("Ready", "Reconciling", "Stalled")
CAMEL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def check_kstatus(obj: dict[str, Any]) -> None:
    """Assert that a status follows the kstatus rules that Flux, Helm and Argo CD read.

    Every test that reads an object runs this, so every state the tests reach is checked.
    """
    status = obj.get("status") or {}
    conditions = status.get("conditions")
    if conditions is None:
        return  # No verdict yet: kstatus reads it as in progress.
    name = obj["metadata"]["name"]
    assert isinstance(status.get("observedGeneration"), int), f"{name}: no observedGeneration"

    active = set()
    for condition in conditions:
        kind = condition.get("type")
        assert condition.get("status") in ("True", "False", "Unknown"), f"{name}: {condition}"
        assert CAMEL_CASE.match(str(condition.get("reason", ""))), f"{name}: {condition}"
        assert condition.get("message"), f"{name}: {kind} has no message"
        assert RFC3339.match(str(condition.get("lastTransitionTime", ""))), f"{name}: {condition}"
        if kind in KSTATUS_CONDITIONS and condition["status"] == "True":
            active.add(kind)

    types = [condition.get("type") for condition in conditions]
    assert len(types) == len(set(types)), f"{name}: a condition type appears twice: {types}"
    assert set(KSTATUS_CONDITIONS) <= set(types), f"{name}: missing conditions: {types}"
    assert len(active) <= 1, f"{name}: several of {KSTATUS_CONDITIONS} are True: {active}"


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    """Return the condition of that type, or an empty dict."""
    for item in (obj or {}).get("status", {}).get("conditions", []) or []:
        if item.get("type") == kind:
            return dict(item)
    return {}


def is_ready(obj: dict[str, Any] | None) -> bool:
    """Tell whether the object is Ready for its current generation."""
    if obj is None:
        return False
    ready = condition(obj, "Ready")
    generation = obj["metadata"].get("generation")
    return ready.get("status") == "True" and obj["status"].get("observedGeneration") == generation


def events(plane: ControlPlane, namespace: str, name: str) -> list[dict[str, Any]]:
    """Return the Events about one object, oldest first."""
    selector = f"involvedObject.name={name}"
    result = plane.kubectl(
        "get", "events", "-n", namespace, "--field-selector", selector, "-o", "json"
    )
    items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return sorted(items, key=lambda item: item.get("lastTimestamp") or item.get("eventTime") or "")


def pools_of(sim: SimulatorServer, kube_id: str) -> list[dict[str, Any]]:
    """Return the simulator's pools of one cluster (the pool JSON with nodes)."""
    return [pool for pool in sim.control.pools() if pool.get("kubeId") == kube_id]


def new_cluster(sim: SimulatorServer, *, region: str = "GRA11") -> tuple[str, str]:
    """Seed a fresh project and cluster into the simulator; return their ids."""
    project_id = uuid.uuid4().hex
    kube_id = str(uuid.uuid4())
    sim.control.seed(
        {
            "projects": [
                {
                    "id": project_id,
                    "description": "e2e",
                    "clusters": [{"id": kube_id, "name": f"e2e-{kube_id[:8]}", "region": region}],
                }
            ]
        }
    )
    return project_id, kube_id


def credentials_secret(namespace: str, sim: SimulatorServer, name: str = "ovh") -> dict[str, Any]:
    """Return a credentials Secret pointing at the simulator with the e2e keys."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"endpoint": sim.base_url, **E2E_CREDENTIALS},
    }


def node_pool(
    namespace: str, object_name: str, project_id: str, kube_id: str, /, **spec: Any
) -> dict[str, Any]:
    """Return an OVHNodePool manifest using the `ovh` credentials Secret."""
    body: dict[str, Any] = {
        "projectId": project_id,
        "kubeId": kube_id,
        "flavorName": "b3-8",
        "credentialsSecretRef": {"name": "ovh"},
    }
    body.update(spec)
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "OVHNodePool",
        "metadata": {"name": object_name, "namespace": namespace},
        "spec": body,
    }


def seed_pool(sim: SimulatorServer, project_id: str, kube_id: str, **fields: Any) -> dict[str, Any]:
    """Create a READY pool behind the operator's back, as the OVH control panel would."""
    pool = {"projectId": project_id, "kubeId": kube_id, "flavorName": "b3-8", **fields}
    sim.control.seed({"pools": [pool]})
    created = [item for item in pools_of(sim, kube_id) if item["name"] == fields["name"]]
    assert len(created) == 1, created
    return created[0]


def writes(sim: SimulatorServer, kube_id: str) -> list[dict[str, Any]]:
    """Return the simulator's logged POST, PUT and DELETE requests on one cluster."""
    return [
        entry
        for entry in sim.control.requests()
        if entry["method"] in ("POST", "PUT", "DELETE") and kube_id in entry["path"]
    ]


def annotate(plane: ControlPlane, namespace: str, name: str, key: str, value: str | None) -> None:
    """Set an annotation of an OVHNodePool, or remove it when `value` is None."""
    setting = f"{key}-" if value is None else f"{key}={value}"
    plane.kubectl("annotate", "onp", name, "-n", namespace, setting, "--overwrite")


def oauth2_credentials_secret(
    namespace: str, sim: SimulatorServer, name: str = "ovh-oauth2"
) -> dict[str, Any]:
    """Return a credentials Secret pointing at the simulator with the e2e OAuth2 client."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"endpoint": sim.base_url, **E2E_OAUTH2_CREDENTIALS},
    }


def delete_node_pools(plane: ControlPlane, namespace: str) -> None:
    """Delete every OVHNodePool of a namespace, forcing those the operator cannot release."""
    # No kube-controller-manager runs, so namespace deletion never removes these objects:
    # delete them here, and drop finalizers of those the operator could not release in time.
    plane.kubectl(
        "delete", "onp", "--all", "-n", namespace, "--wait=true", "--timeout=30s", check=False
    )
    listing = plane.kubectl("get", "onp", "-n", namespace, "-o", "json", check=False)
    if listing.returncode != 0:
        return
    items: list[dict[str, Any]] = json.loads(listing.stdout).get("items", [])
    for item in items:
        name = item["metadata"]["name"]
        patch = json.dumps({"metadata": {"finalizers": None}})
        plane.kubectl(
            "patch", "onp", name, "-n", namespace, "--type=merge", "-p", patch, check=False
        )


def wait_ready(plane: ControlPlane, namespace: str, name: str, timeout: float = 60) -> Any:
    """Wait until the object is Ready for its current generation and return it."""

    def probe() -> dict[str, Any] | None:
        obj = get_object(plane, namespace, name)
        return obj if is_ready(obj) else None

    return wait_for(probe, timeout=timeout, what=f"{namespace}/{name} to be Ready")


def wait_stalled(plane: ControlPlane, namespace: str, name: str, reason: str) -> Any:
    """Wait until the object is Stalled with that reason and return it."""

    def probe() -> dict[str, Any] | None:
        obj = get_object(plane, namespace, name)
        found = condition(obj, "Stalled")
        return obj if found.get("status") == "True" and found.get("reason") == reason else None

    return wait_for(probe, what=f"{namespace}/{name} to be Stalled with {reason}")
