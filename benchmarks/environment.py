"""The system under test: a control plane with an audit log, the simulator and the operator.

Every process listens on 127.0.0.1 only, and each is started and stopped by its pid.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorControl

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GROUP = "ovh.nodepool-operator.io"
VERSION = "v1alpha1"
PLURAL = "ovhnodepools"
CRD_NAME = f"{PLURAL}.{GROUP}"

OPERATOR_NAMESPACE = "ovh-nodepool-operator"
OPERATOR_ACCOUNT = "ovh-nodepool-operator"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}"
ADMIN_USER = "admin"

# Metadata-level events for the operator and for the benchmark's own admin client, nothing for
# kube-apiserver's internal loopback clients. RequestReceived is left out, so a request yields
# one ResponseComplete event, and a watch one ResponseStarted event when it opens.
AUDIT_POLICY: dict[str, Any] = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "users": [OPERATOR_USER, ADMIN_USER]},
        {"level": "None"},
    ],
}

# Settings that keep the benchmark on loopback and off fixed ports. Every other setting keeps
# its default unless the command line changes it.
OPERATOR_BASE_ENV = {
    "OVHNP_HEALTH_PORT": "0",
    "OVHNP_METRICS_PORT": "0",
}


@dataclass(frozen=True)
class Credential:
    """One OVH consumer key of the seed and the namespace whose Secret contains it."""

    index: int
    namespace: str
    application_key: str
    application_secret: str
    consumer_key: str
    project_id: str


@dataclass(frozen=True)
class Cluster:
    """One MKS cluster of the seed, reached with one credential."""

    index: int
    kube_id: str
    credential: Credential


@dataclass(frozen=True)
class Topology:
    """Projects, clusters and credentials of a run; project k is reached by credential k only."""

    credentials: tuple[Credential, ...]
    clusters: tuple[Cluster, ...]

    @classmethod
    def build(cls, clusters: int, projects: int) -> Topology:
        """Spread `clusters` clusters over `projects` projects, one credential per project."""
        credentials = tuple(
            Credential(
                index=k,
                namespace=f"bench-p{k}",
                application_key=f"bench-ak-{k}",
                application_secret=f"bench-as-{k}",
                consumer_key=f"bench-ck-{k}",
                project_id=f"{k + 1:032x}",
            )
            for k in range(projects)
        )
        cluster_list = tuple(
            Cluster(
                index=i,
                kube_id=f"00000000-0000-4000-8000-{i + 1:012x}",
                credential=credentials[i % projects],
            )
            for i in range(clusters)
        )
        return cls(credentials, cluster_list)

    def seed(self) -> dict[str, Any]:
        """Return the simulator seed: instant mode, one region, one flavor, no pools."""
        return {
            "settings": {"nodeSeconds": 0},
            "credentials": [
                {
                    "applicationKey": c.application_key,
                    "applicationSecret": c.application_secret,
                    "consumerKey": c.consumer_key,
                    "projects": [c.project_id],
                }
                for c in self.credentials
            ],
            "regions": [{"name": "GRA11"}],
            "flavors": [
                {"name": "b3-8", "category": "b", "vCPUs": 2, "ram": 8, "gpus": 0},
            ],
            "projects": [
                {
                    "id": c.project_id,
                    "description": f"benchmark project {c.index}",
                    "clusters": [
                        {
                            "id": cluster.kube_id,
                            "name": f"bench-{cluster.index}",
                            "region": "GRA11",
                            "version": "1.32",
                        }
                        for cluster in self.clusters
                        if cluster.credential == c
                    ],
                }
                for c in self.credentials
            ],
        }

    def cluster_of(self, object_index: int) -> Cluster:
        """Return the cluster of object `object_index`: objects go round the clusters."""
        return self.clusters[object_index % len(self.clusters)]

    def object_manifest(self, object_index: int) -> dict[str, Any]:
        """Return the OVHNodePool manifest of object `object_index`, one node, bounds 1..10."""
        cluster = self.cluster_of(object_index)
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "OVHNodePool",
            "metadata": {
                "name": object_name(object_index),
                "namespace": cluster.credential.namespace,
            },
            "spec": {
                "projectId": cluster.credential.project_id,
                "kubeId": cluster.kube_id,
                "flavorName": "b3-8",
                "desiredNodes": 1,
                "minNodes": 1,
                "maxNodes": 10,
                "credentialsSecretRef": {"name": "ovh"},
            },
        }


def object_name(object_index: int) -> str:
    """Return the name of object `object_index`, which is also its OVH pool name."""
    return f"pool-{object_index:04d}"


def prepare_control_plane(plane: ControlPlane, topology: Topology, simulator_url: str) -> Path:
    """Install the CRD, RBAC, namespaces and credentials Secrets; return the operator kubeconfig."""
    plane.kubectl("apply", "-f", str(REPO / "crds" / "ovhnodepools.yaml"))
    plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")
    plane.kubectl("create", "namespace", OPERATOR_NAMESPACE)
    plane.kubectl("apply", "-f", str(REPO / "deploy" / "kustomize" / "base" / "rbac.yaml"))

    documents: list[dict[str, Any]] = []
    for credential in topology.credentials:
        documents.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": credential.namespace}}
        )
        documents.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "ovh", "namespace": credential.namespace},
                "stringData": {
                    "endpoint": f"{simulator_url}/1.0",
                    "applicationKey": credential.application_key,
                    "applicationSecret": credential.application_secret,
                    "consumerKey": credential.consumer_key,
                },
            }
        )
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
    return plane.service_account_kubeconfig(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, duration="6h")


class SimulatorProcess:
    """`ovh-api-simulator` as a child process on a free loopback port, in instant mode."""

    def __init__(self, workdir: Path, seed: dict[str, Any]) -> None:
        self.workdir = workdir
        self.seed_path = workdir / "seed.json"
        self.seed_path.write_text(json.dumps(seed, indent=1))
        self.port_file = workdir / "simulator.port"
        self.log_path = workdir / "simulator.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> SimulatorControl:
        """Start the simulator, wait for its port file and return a control client."""
        self.port_file.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN / "ovh-api-simulator"),
                    "--host=127.0.0.1",
                    "--port=0",
                    f"--port-file={self.port_file}",
                    f"--seed={self.seed_path}",
                    "--node-seconds=0",
                    "--log-level=WARNING",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.port_file.exists() or not self.port_file.read_text().strip():
            if self.process.poll() is not None:
                raise RuntimeError(f"ovh-api-simulator exited early; log {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"ovh-api-simulator wrote no port in {timeout} s")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(self.port_file.read_text())}"
        return SimulatorControl(self.url, timeout=60.0)

    def stop(self) -> None:
        """Stop the simulator with SIGTERM, then SIGKILL after 10 s."""
        stop_child(self.process, grace=10.0)


class OperatorProcess:
    """`ovh-nodepool-operator run` as a child process, with its ServiceAccount kubeconfig."""

    def __init__(
        self,
        kubeconfig: Path,
        log_path: Path,
        settings: dict[str, str],
        command: list[str] | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.settings = settings
        # Another command line, e.g. the operator under a memory profiler.
        self.command = command or [str(BIN / "ovh-nodepool-operator"), "run"]
        self.process: subprocess.Popen[bytes] | None = None
        self.log_offset = 0
        self.source_digest = ""

    @property
    def pid(self) -> int:
        """Return the pid of the running operator."""
        if self.process is None:
            raise RuntimeError("the operator is not running")
        return self.process.pid

    def start(self, timeout: float = 60.0) -> None:
        """Start the operator and wait until Kopf has authenticated to the API server."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OVH_", "OVHNP_", "KUBE"))
        }
        env.update(OPERATOR_BASE_ENV)
        env.update(self.settings)
        env["KUBECONFIG"] = str(self.kubeconfig)

        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.source_digest = operator_source_digest()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while "Initial authentication has finished" not in self.new_log():
            if self.process.poll() is not None:
                raise RuntimeError(f"the operator exited early; log {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the operator did not start in {timeout} s")
            time.sleep(0.1)

    def new_log(self) -> str:
        """Return what this run of the operator printed so far."""
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def stop(self, grace: float = 30.0) -> float:
        """Send SIGTERM, wait up to `grace` s, then SIGKILL; return the seconds to exit."""
        started = time.monotonic()
        stop_child(self.process, grace=grace)
        return time.monotonic() - started


def operator_source_digest() -> str:
    """Return a short SHA-256 of the operator's Python sources, to tell code versions apart.

    The working tree may change while a run goes on, and a restarted operator loads the files
    as they are then.
    """
    digest = hashlib.sha256()
    for path in sorted((REPO / "operator").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def stop_child(process: subprocess.Popen[bytes] | None, *, grace: float) -> None:
    """Stop a child by its pid: SIGTERM, then SIGKILL after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
