"""Scenario harness of the reliability suite: objects, waits, the OVH request log, kills.

Reads go through the Kubernetes Python client with the admin kubeconfig, because kill points
poll every few tens of milliseconds and a kubectl process per poll is too slow for that.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import kubernetes
from kubernetes.client.exceptions import ApiException

from ovh_api_simulator.pytest_plugin import load_test_seed
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    E2E_CREDENTIALS,
    E2E_OAUTH2_CREDENTIALS,
    E2E_OAUTH2_SECRET_VALUES,
    E2E_SECRET_VALUES,
    GROUP,
    OperatorProcess,
    node_pool,
    pools_of,
    wait_for,
)

VERSION = "v1alpha1"
PLURAL = "ovhnodepools"
FINALIZER = f"{GROUP}/finalizer"
ADOPT = f"{GROUP}/adopt"

POOLS_ROUTE = "/cloud/project/{serviceName}/kube/{kubeId}/nodepool"
POOL_ROUTE = POOLS_ROUTE + "/{nodePoolId}"
TOKEN_ROUTE = "/auth/oauth2/token"

# Credentials of dev/seeds/test.yaml that some scenarios use; never shown to a user either.
DEMO_REVOKED = {
    "applicationKey": "demo-ak",
    "applicationSecret": "demo-as",
    "consumerKey": "demo-ck-revoked",
}

# Every secret value a scenario may put in a Secret. Scenarios add the wrong values they write.
KNOWN_SECRETS: set[str] = {
    *E2E_SECRET_VALUES,
    *E2E_OAUTH2_SECRET_VALUES,
    DEMO_REVOKED["applicationSecret"],
    DEMO_REVOKED["consumerKey"],
}


class Kube:
    """Admin access to the reliability control plane through the Kubernetes Python client."""

    def __init__(self, kubeconfig: Path) -> None:
        client = kubernetes.config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )
        self.core = kubernetes.client.CoreV1Api(client)
        self.custom = kubernetes.client.CustomObjectsApi(client)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """Return an OVHNodePool, or None when it does not exist."""
        try:
            result = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return cast(dict[str, Any], result)

    def list_pools(self, namespace: str) -> list[dict[str, Any]]:
        """Return the OVHNodePools of a namespace."""
        result = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
        return cast(list[dict[str, Any]], cast(dict[str, Any], result).get("items", []))

    def create(self, manifest: dict[str, Any]) -> None:
        """Create an object from a manifest."""
        namespace = manifest["metadata"]["namespace"]
        self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)

    def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """Merge a patch into an object (spec or metadata)."""
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch)

    def delete(self, namespace: str, name: str) -> None:
        """Request the deletion of an object; the finalizer decides when it goes."""
        try:
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as error:
            if error.status != 404:
                raise

    def drop_finalizers(self, namespace: str, name: str) -> None:
        """Remove every finalizer, so an object the operator could not release goes away."""
        try:
            self.patch(namespace, name, {"metadata": {"finalizers": None}})
        except ApiException as error:
            if error.status != 404:
                raise

    def create_namespace(self, name: str) -> None:
        """Create a namespace."""
        self.core.create_namespace(cast(Any, {"metadata": {"name": name}}))

    def apply_secret(self, manifest: dict[str, Any]) -> None:
        """Create or replace a Secret and remember its values as secrets to scan for."""
        metadata = manifest["metadata"]
        for key, value in manifest.get("stringData", {}).items():
            if key in ("applicationSecret", "consumerKey", "clientSecret"):
                KNOWN_SECRETS.add(str(value))
        try:
            self.core.create_namespaced_secret(metadata["namespace"], cast(Any, manifest))
        except ApiException as error:
            if error.status != 409:
                raise
            self.core.replace_namespaced_secret(
                metadata["name"], metadata["namespace"], cast(Any, manifest)
            )

    def events(self, namespace: str) -> list[dict[str, Any]]:
        """Return the Events of a namespace as plain dictionaries."""
        result = self.core.list_namespaced_event(namespace)
        api_client = self.core.api_client
        items: list[dict[str, Any]] = api_client.sanitize_for_serialization(result).get("items", [])
        return items


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    """Return the condition of that type, or an empty dict."""
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return {}


def is_ready(obj: dict[str, Any] | None) -> bool:
    """Tell whether the object is Ready for its current generation."""
    if obj is None:
        return False
    status = obj.get("status") or {}
    generation = obj["metadata"].get("generation")
    return (
        condition(obj, "Ready").get("status") == "True"
        and status.get("observedGeneration") == generation
    )


def is_stalled(obj: dict[str, Any] | None, reason: str | None = None) -> bool:
    """Tell whether the object is Stalled (with that reason, when one is given)."""
    stalled = condition(obj, "Stalled")
    if stalled.get("status") != "True" or not stalled.get("reason"):
        return False
    return reason is None or stalled.get("reason") == reason


@dataclass
class Scenario:
    """One scenario: a namespace with a credentials Secret, a fresh OVH cluster, an operator."""

    kube: Kube
    sim: SimulatorServer
    operator: OperatorProcess
    namespace: str
    project_id: str
    kube_id: str
    record: dict[str, Any]
    started: float = field(default_factory=time.time)
    secret_name: str = "ovh"
    extra_logs: list[Path] = field(default_factory=list)

    # ------------------------------------------------------------------------------ objects

    def manifest(self, name: str, /, **spec: Any) -> dict[str, Any]:
        """Return an OVHNodePool manifest in this scenario's namespace and cluster."""
        spec.setdefault("credentialsSecretRef", {"name": self.secret_name})
        return node_pool(self.namespace, name, self.project_id, self.kube_id, **spec)

    def create(self, name: str, /, annotations: dict[str, str] | None = None, **spec: Any) -> None:
        """Create an OVHNodePool in this scenario's cluster."""
        manifest = self.manifest(name, **spec)
        if annotations:
            manifest["metadata"]["annotations"] = annotations
        self.kube.create(manifest)

    def patch_spec(self, name: str, **spec: Any) -> None:
        """Merge fields into an object's spec, as kubectl patch --type=merge does."""
        self.kube.patch(self.namespace, name, {"spec": spec})

    def delete(self, name: str) -> None:
        """Request the deletion of an object."""
        self.kube.delete(self.namespace, name)

    def get(self, name: str) -> dict[str, Any] | None:
        """Return an object, or None."""
        return self.kube.get(self.namespace, name)

    def status(self, name: str) -> dict[str, Any]:
        """Return an object's status, empty when it has none or is gone."""
        return dict((self.get(name) or {}).get("status") or {})

    def wait_ready(self, name: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the object is Ready for its generation and return it."""

        def probe() -> dict[str, Any] | None:
            obj = self.get(name)
            return obj if is_ready(obj) else None

        return wait_for(probe, timeout=timeout, what=f"{self.namespace}/{name} to be Ready")

    def wait_stalled(self, name: str, reason: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the object is Stalled with that reason and return it."""

        def probe() -> dict[str, Any] | None:
            obj = self.get(name)
            return obj if is_stalled(obj, reason) else None

        return wait_for(probe, timeout=timeout, what=f"{name} to be Stalled with {reason}")

    def wait_gone(self, name: str, timeout: float = 90.0) -> None:
        """Wait until the object no longer exists."""
        wait_for(lambda: self.get(name) is None, timeout=timeout, what=f"{name} to be released")

    # ------------------------------------------------------------------------------ OVH side

    def pools(self) -> list[dict[str, Any]]:
        """Return the simulator's pools of this scenario's cluster."""
        return pools_of(self.sim, self.kube_id)

    def requests(self, since: float | None = None) -> list[dict[str, Any]]:
        """Return the logged OVH requests on this scenario's cluster."""
        entries = self.sim.control.requests(since if since is not None else self.started)
        return [entry for entry in entries if self.kube_id in entry["path"]]

    def writes(self) -> list[dict[str, Any]]:
        """Return the logged POST, PUT and DELETE requests on this cluster that got a response."""
        return [
            entry
            for entry in self.requests()
            if entry["method"] in ("POST", "PUT", "DELETE") and entry["status"] is not None
        ]

    def inject(
        self, kind: str, method: str, route: str, count: int | None = 1, **options: Any
    ) -> str:
        """Add a simulator fault and note it in the scenario's record."""
        fault_id = self.sim.control.inject_fault(
            kind, method=method, route=route, count=count, **options
        )
        self.record.setdefault("faults", []).append(
            {"kind": kind, "method": method, "route": route, "count": count, **options}
        )
        return fault_id

    def in_flight(self, method: str, route: str) -> dict[str, Any] | None:
        """Return a request on this cluster that the simulator received and has not responded to."""
        for entry in self.requests():
            pending = entry["status"] is None and entry["fault"] in ("latency", "timeout")
            if pending and entry["method"] == method and entry["route"] == route:
                return entry
        return None

    def responded(self, method: str, route: str, status: int) -> dict[str, Any] | None:
        """Return a request on this cluster whose response had that status."""
        for entry in self.requests():
            if entry["method"] == method and entry["route"] == route and entry["status"] == status:
                return entry
        return None

    def nothing_in_flight(self) -> bool:
        """Tell whether every delayed request on this cluster has run at the simulator."""
        return not any(
            entry["status"] is None and entry["fault"] == "latency" for entry in self.requests()
        )

    # ------------------------------------------------------------------------------ operator

    def kill(self) -> None:
        """SIGKILL the operator."""
        self.operator.kill()

    def restart(self) -> None:
        """Start the operator again, appending to the same log file."""
        self.operator.start()

    def snapshot(self, name: str) -> dict[str, Any]:
        """Return what the object and OVH look like now, for the scenario's record."""
        status = self.status(name)
        pending = [
            f"{entry['method']} {entry['route']}"
            for entry in self.requests()
            if entry["status"] is None and entry["fault"] in ("latency", "timeout")
        ]
        return {
            "nodePoolName": status.get("nodePoolName"),
            "nodePoolId": status.get("nodePoolId"),
            "ovhStatuses": [pool["status"] for pool in self.pools()],
            "inFlight": pending,
        }


def wait_until(probe: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    """Poll `probe` every 20 ms until it returns a truthy value, for precise kill points."""
    wait_for(probe, timeout=timeout, interval=0.02, what=what)


def find_secrets(sources: dict[str, str], values: Iterable[str] = ()) -> list[str]:
    """Return 'source: value' for every known secret value found in a text."""
    secrets = sorted({*KNOWN_SECRETS, *values})
    return [
        f"{source}: {value}"
        for source, text in sources.items()
        for value in secrets
        if value in text
    ]


def metrics_text(port: int | None) -> str | None:
    """Return the operator's metrics page, or None when nothing serves it."""
    if not port:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body: bytes = response.read()
    except (urllib.error.URLError, OSError):
        return None
    return body.decode(errors="replace")


def secret_scan_sources(
    kube: Kube, namespaces: Iterable[str], logs: Iterable[Path], metrics_port: int | None
) -> dict[str, str]:
    """Collect the texts a secret must never appear in: logs, Events, objects, metrics."""
    sources: dict[str, str] = {}
    for path in logs:
        if path.exists():
            sources[f"log {path.name}"] = path.read_text(errors="replace")
    for namespace in namespaces:
        sources[f"events {namespace}"] = json.dumps(kube.events(namespace))
        sources[f"objects {namespace}"] = json.dumps(kube.list_pools(namespace))
    metrics = metrics_text(metrics_port)
    if metrics is not None:
        sources["metrics"] = metrics
    return sources


def signed_secret(
    namespace: str, endpoint: str, name: str = "ovh", **overrides: str | None
) -> dict[str, Any]:
    """Return a credentials Secret with the e2e keys, some replaced or removed (None)."""
    data: dict[str, str] = {"endpoint": endpoint, **E2E_CREDENTIALS}
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": data,
    }


def reliability_seed() -> dict[str, Any]:
    """Return the test seed plus the e2e signed keys and OAuth2 client."""
    seed = load_test_seed()
    seed["credentials"] = [
        *seed.get("credentials", []),
        {**E2E_CREDENTIALS, "projects": ["*"]},
        {**E2E_OAUTH2_CREDENTIALS, "projects": ["*"]},
    ]
    return seed


def release_all(kube: Kube, namespaces: list[str], timeout: float = 60.0) -> list[str]:
    """Delete every OVHNodePool of the namespaces through the operator.

    Returns the names of objects the operator did not release within the timeout; their
    finalizers are dropped so that later scenarios start clean.
    """
    for namespace in namespaces:
        for obj in kube.list_pools(namespace):
            kube.delete(namespace, obj["metadata"]["name"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(kube.list_pools(namespace) for namespace in namespaces):
            return []
        time.sleep(0.3)
    forced = []
    for namespace in namespaces:
        for obj in kube.list_pools(namespace):
            forced.append(f"{namespace}/{obj['metadata']['name']}")
            kube.drop_finalizers(namespace, obj["metadata"]["name"])
    return forced


def oauth2_secret(
    namespace: str, endpoint: str, client: dict[str, str], name: str = "ovh"
) -> dict[str, Any]:
    """Return a credentials Secret for an OAuth2 client."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"endpoint": endpoint, **client},
    }
