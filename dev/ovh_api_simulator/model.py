"""In-memory objects of the simulated OVH account: credentials, regions, projects, pools, nodes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

# Node statuses used by the simulator; the OVH enum has more values.
INSTALLING = "INSTALLING"
READY = "READY"
DELETING = "DELETING"
DELETED = "DELETED"

DEFAULT_AUTOSCALING: dict[str, Any] = {
    "scaleDownUtilizationThreshold": 0.5,
    "scaleDownUnneededTimeSeconds": 600,
    "scaleDownUnreadyTimeSeconds": 1200,
}


def empty_template() -> dict[str, Any]:
    """Return the template OVH reports for a pool created without one."""
    return {
        "metadata": {"labels": {}, "annotations": {}, "finalizers": []},
        "spec": {"unschedulable": False, "taints": []},
    }


def new_id() -> str:
    """Return a random UUID string."""
    return str(uuid.uuid4())


@dataclass
class Credential:
    """An API credential: a signed application key triple or an OAuth2 client."""

    projects: list[str]
    application_key: str | None = None
    application_secret: str | None = None
    consumer_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    revoked: bool = False

    def may_reach(self, project_id: str) -> bool:
        """Return True when this credential is granted the project."""
        return "*" in self.projects or project_id in self.projects


@dataclass
class Region:
    """A region; listing zones makes availabilityZones mandatory on node pool creation."""

    name: str
    availability_zones: list[str] = field(default_factory=list)
    require_availability_zones: bool = False
    flavors: list[str] | None = None


@dataclass
class Flavor:
    """A node flavor as returned by GET .../kube/{kubeId}/flavors."""

    name: str
    category: str = "b"
    vcpus: int = 2
    ram: int = 8
    gpus: int = 0
    state: str = "available"


@dataclass
class Cluster:
    """A Managed Kubernetes cluster; always READY in the simulator."""

    id: str
    name: str
    region: str
    version: str
    created_at: float = field(default_factory=time.time)


@dataclass
class Project:
    """A Public Cloud project with its clusters and its node quota."""

    id: str
    description: str | None = None
    max_nodes: int | None = None
    clusters: dict[str, Cluster] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)


@dataclass
class Node:
    """A node of a pool with the timing of its pending transition."""

    id: str
    name: str
    instance_id: str
    sequence: int
    status: str
    due: float
    reads_left: int
    created_at: float
    updated_at: float
    deployed_at: float | None = None
    deleted_at: float | None = None

    def is_active(self) -> bool:
        """Return True for nodes that count towards the pool size (not being removed)."""
        return self.status in (INSTALLING, READY)


@dataclass
class Pool:
    """A node pool with its nodes and the bookkeeping of its lifecycle."""

    id: str
    project_id: str
    kube_id: str
    name: str
    flavor: str
    desired_nodes: int
    min_nodes: int
    max_nodes: int
    autoscale: bool = False
    autoscaling: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_AUTOSCALING))
    anti_affinity: bool = False
    monthly_billed: bool = False
    template: dict[str, Any] = field(default_factory=empty_template)
    availability_zones: list[str] | None = None
    attach_floating_ips: dict[str, Any] | None = field(default_factory=lambda: {"enabled": False})
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    nodes: list[Node] = field(default_factory=list)
    deleted_nodes: list[Node] = field(default_factory=list)
    installing: bool = True
    install_due: float = 0.0
    install_reads_left: int = 0
    quota_blocked: bool = False
    status_override: str | None = None
    deleting: bool = False
    delete_due: float = 0.0
    delete_reads_left: int = 0
    ready_reads_left: int = 0
    status_before_delete: str = READY

    def active_nodes(self) -> list[Node]:
        """Return the nodes that are installing or ready, oldest first."""
        return [node for node in self.nodes if node.is_active()]


@dataclass
class Token:
    """An OAuth2 access token issued by the simulator."""

    value: str
    client_id: str
    expires_at: float


@dataclass
class Account:
    """The whole simulated state that the seed document describes."""

    credentials: list[Credential] = field(default_factory=list)
    regions: dict[str, Region] = field(default_factory=dict)
    flavors: dict[str, Flavor] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    node_sequence: int = 0

    def next_sequence(self) -> int:
        """Return an increasing number that orders nodes by creation."""
        self.node_sequence += 1
        return self.node_sequence

    def cluster_pools(self, kube_id: str) -> list[Pool]:
        """Return the pools of a cluster in creation order."""
        return [pool for pool in self.pools.values() if pool.kube_id == kube_id]

    def project_pools(self, project_id: str) -> list[Pool]:
        """Return the pools of every cluster of a project."""
        return [pool for pool in self.pools.values() if pool.project_id == project_id]

    def find_cluster(self, kube_id: str) -> tuple[Project, Cluster] | None:
        """Return the project and cluster with this cluster id, or None."""
        for project in self.projects.values():
            if kube_id in project.clusters:
                return project, project.clusters[kube_id]
        return None

    def cluster_flavors(self, cluster: Cluster) -> list[Flavor]:
        """Return the flavors offered in the cluster's region."""
        region = self.regions.get(cluster.region)
        if region is None or region.flavors is None:
            return list(self.flavors.values())
        return [self.flavors[name] for name in region.flavors if name in self.flavors]
