"""Parse an OVHNodePool body at the boundary into the values the reconciler works with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import kopf
from pydantic import ValidationError

from ovh_nodepool_operator.domain.errors import OperatorError
from ovh_nodepool_operator.domain.models import NodePoolSpec, SecretReference

ANNOTATION_PREFIX = "ovh.nodepool-operator.io/"
PAUSED_ANNOTATION = ANNOTATION_PREFIX + "paused"
ADOPT_ANNOTATION = ANNOTATION_PREFIX + "adopt"


class InvalidObjectError(OperatorError):
    """The object's spec does not parse; the API server's validation normally prevents it."""

    reason = "InvalidSpec"


@dataclass(frozen=True)
class NodePoolObject:
    """One OVHNodePool: identity, parsed spec, last written status and annotations."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: NodePoolSpec
    status: Mapping[str, Any]
    annotations: Mapping[str, str]

    @property
    def pool_name(self) -> str:
        """Return the OVH pool name this object manages."""
        return self.spec.pool_name(self.name)

    @property
    def paused(self) -> bool:
        """Tell whether the pause annotation stops writes to OVH."""
        return is_paused(self.annotations)

    @property
    def observe_only(self) -> bool:
        """Tell whether the object only observes its pool."""
        return self.spec.management_policy == "ObserveOnly"

    @property
    def adopt(self) -> str | None:
        """Return the adopt annotation: a pool id, "true", or None."""
        value = self.annotations.get(ADOPT_ANNOTATION, "").strip()
        return value or None

    @property
    def reference(self) -> dict[str, Any]:
        """Return the object reference that Kubernetes Events point at."""
        return {
            "apiVersion": "ovh.nodepool-operator.io/v1alpha1",
            "kind": "OVHNodePool",
            "metadata": {"namespace": self.namespace, "name": self.name, "uid": self.uid},
        }

    @property
    def ref(self) -> str:
        """Return `namespace/name`, for messages."""
        return f"{self.namespace}/{self.name}"


def is_paused(annotations: Mapping[str, Any]) -> bool:
    """Tell whether annotations pause an object.

    Any value but "false" pauses, so a misspelled "true" errs on the side of no writes.
    """
    value = annotations.get(PAUSED_ANNOTATION)
    return value is not None and str(value).strip().lower() != "false"


def namespace_of(body: Mapping[str, Any]) -> str:
    """Return an object's namespace from its raw body."""
    return str((body.get("metadata") or {}).get("namespace", ""))


def secret_ref_of(body: Mapping[str, Any]) -> SecretReference | None:
    """Return the credentials Secret a raw body names, without parsing the whole spec."""
    name = ((body.get("spec") or {}).get("credentialsSecretRef") or {}).get("name")
    return SecretReference(name=str(name)) if name else None


def parse_object(body: Mapping[str, Any]) -> NodePoolObject:
    """Build a NodePoolObject from a raw body; raise InvalidObjectError naming the bad field."""
    metadata = body.get("metadata") or {}
    try:
        spec = NodePoolSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidObjectError(f"spec.{field}: {first['msg']}") from None

    return NodePoolObject(
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        uid=str(metadata.get("uid", "")),
        generation=int(metadata.get("generation") or 0),
        spec=spec,
        status=dict(body.get("status") or {}),
        annotations=dict(metadata.get("annotations") or {}),
    )


def post_event(reference: Mapping[str, Any], kind: str, reason: str, message: str) -> None:
    """Post a Kubernetes Event about an object; Kopf sends it in the background."""
    kopf.event(cast(kopf.Body, reference), type=kind, reason=reason, message=message)


@dataclass(frozen=True, order=True)
class Claim:
    """An object that manages an OVH pool; the strongest, then oldest, claim of a pool wins it.

    `strength` orders the claims: 0 for an object that recorded the pool (it created or adopted
    it), 1 for one with the adopt annotation, 2 for one that only names the pool.
    """

    strength: int
    created: str
    namespace: str
    name: str
    uid: str


ClaimKey = tuple[str, str, str]


def claim_of(body: Mapping[str, Any]) -> tuple[ClaimKey, Claim] | None:
    """Return the pool an object manages and its claim; None for objects that only observe."""
    spec = body.get("spec") or {}
    metadata = body.get("metadata") or {}
    if spec.get("managementPolicy") == "ObserveOnly":
        return None

    status = body.get("status") or {}
    pool_name = status.get("nodePoolName") or spec.get("name") or metadata.get("name", "")
    key = (str(spec.get("projectId", "")), str(spec.get("kubeId", "")), str(pool_name))
    if status.get("nodePoolId") or status.get("nodePoolName"):
        strength = 0
    elif (metadata.get("annotations") or {}).get(ADOPT_ANNOTATION):
        strength = 1
    else:
        strength = 2
    claim = Claim(
        strength=strength,
        created=str(metadata.get("creationTimestamp", "")),
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        uid=str(metadata.get("uid", "")),
    )
    return key, claim
