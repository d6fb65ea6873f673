"""Models of the OVHNodePool spec and of the OVH node pool as the API returns it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_GROUP = "ovh.nodepool-operator.io"
API_VERSION = "v1alpha1"
PLURAL = "ovhnodepools"
KIND = "OVHNodePool"

# A pool in one of these OVH statuses is busy: a write now would conflict with the work in flight.
TRANSITIONAL_STATUSES = frozenset(
    {
        "INSTALLING",
        "UPSCALING",
        "DOWNSCALING",
        "RESIZING",
        "UPDATING",
        "REDEPLOYING",
        "RESETTING",
        "REOPENING",
        "SUSPENDING",
        "MAINTENANCE",
        "DELETING",
        "UNKNOWN",
    }
)

# OVH statuses that need a person: the pool is stuck until someone fixes quota, webhooks or billing.
USER_ERROR_STATUSES = frozenset(
    {
        "ERROR",
        "USER_ERROR",
        "USER_QUOTA_ERROR",
        "USER_NODE_NOT_FOUND_ERROR",
        "USER_NODE_SUSPENDED_SERVICE",
        "USER_WEBHOOK_PREVENTING_OPERATIONS_ERROR",
        "SUSPENDED",
    }
)

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class CamelModel(BaseModel):
    """Base model that reads and writes camelCase keys, as both the CRD and OVH use them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Taint(CamelModel):
    """A Kubernetes taint that OVH puts on every node of the pool."""

    key: str
    value: str = ""
    effect: TaintEffect


class TemplateMetadata(CamelModel):
    """Labels, annotations and finalizers that OVH puts on every node of the pool."""

    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)


class TemplateSpec(CamelModel):
    """Scheduling settings that OVH puts on every node of the pool."""

    unschedulable: bool = False
    taints: list[Taint] = Field(default_factory=list)


class NodeTemplate(CamelModel):
    """The node template. OVH requires every sub-field, so defaults fill the ones left out."""

    metadata: TemplateMetadata = Field(default_factory=TemplateMetadata)
    spec: TemplateSpec = Field(default_factory=TemplateSpec)


class Autoscaling(CamelModel):
    """Tuning of OVH's cluster autoscaler for one pool. Unset fields keep OVH's values."""

    scale_down_utilization_threshold: float | None = None
    scale_down_unneeded_time_seconds: int | None = None
    scale_down_unready_time_seconds: int | None = None


class FloatingIps(CamelModel):
    """Whether OVH attaches a floating IP to every node."""

    enabled: bool


class SecretReference(CamelModel):
    """A Secret in the namespace of the OVHNodePool."""

    name: str


class NodePoolSpec(CamelModel):
    """The `spec` of an OVHNodePool, after the API server applied defaults and validation."""

    project_id: str
    kube_id: str
    name: str | None = None
    flavor_name: str
    desired_nodes: int | None = None
    min_nodes: int = 0
    max_nodes: int = 100
    autoscale: bool = False
    autoscaling: Autoscaling | None = None
    anti_affinity: bool = False
    monthly_billed: bool = False
    availability_zones: list[str] | None = None
    attach_floating_ips: FloatingIps | None = None
    template: NodeTemplate | None = None
    credentials_secret_ref: SecretReference | None = None
    deletion_policy: Literal["Delete", "Orphan"] = "Delete"
    management_policy: Literal["Manage", "ObserveOnly"] = "Manage"

    def pool_name(self, object_name: str) -> str:
        """Return the OVH pool name: `spec.name`, or the object's name when it is unset."""
        return self.name or object_name


class OvhPool(CamelModel):
    """A node pool as `GET .../kube/{kubeId}/nodepool` returns it."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    id: str
    name: str
    flavor: str
    status: str
    size_status: str | None = None
    autoscale: bool = False
    autoscaling: Autoscaling | None = None
    anti_affinity: bool = False
    monthly_billed: bool = False
    desired_nodes: int
    min_nodes: int
    max_nodes: int
    current_nodes: int = 0
    available_nodes: int = 0
    up_to_date_nodes: int = 0
    template: NodeTemplate | None = None
    availability_zones: list[str] | None = None
    attach_floating_ips: FloatingIps | None = None

    @property
    def busy(self) -> bool:
        """Tell whether OVH is still working on the pool."""
        return self.status in TRANSITIONAL_STATUSES


class OvhCluster(CamelModel):
    """An MKS cluster as `GET /cloud/project/{serviceName}/kube/{kubeId}` returns it."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    id: str
    name: str = ""
    region: str = ""
    version: str = ""
    status: str = ""
