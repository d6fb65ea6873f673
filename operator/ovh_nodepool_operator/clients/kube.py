"""The Kubernetes adapter: Secret reads and status patches of OVHNodePool objects."""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.models import API_GROUP, API_VERSION, PLURAL

MERGE_PATCH = "application/merge-patch+json"


def load_configuration() -> None:
    """Configure the client in the cluster from the ServiceAccount, elsewhere from KUBECONFIG."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    else:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]


class KubeApi:
    """Blocking Kubernetes calls, run in worker threads so the event loop never waits on them."""

    def __init__(self, *, threads: int) -> None:
        # One pooled connection per worker thread, so concurrent calls do not discard them.
        configuration = kubernetes.client.Configuration.get_default_copy()
        configuration.connection_pool_maxsize = threads
        client = kubernetes.client.ApiClient(configuration)
        self._core = kubernetes.client.CoreV1Api(client)
        self._custom = kubernetes.client.CustomObjectsApi(client)

    async def read_secret(self, namespace: str, name: str) -> dict[str, str]:
        """Return a Secret's data, decoded; raise SecretNotFoundError when it does not exist."""
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status == 404:
                raise errors.SecretNotFoundError(
                    f"Secret {namespace}/{name} named by spec.credentialsSecretRef does not "
                    "exist: create it, or remove credentialsSecretRef to use the operator's "
                    "own credentials."
                ) from None
            raise translate_error(error, f"read Secret {namespace}/{name}") from None
        except HTTPError as error:
            # The API server is unreachable (restart, network): retried like a 5xx.
            message = f"Kubernetes API unreachable: {type(error).__name__}."
            raise errors.TransientError(message) from None

        data = secret.data or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge `status` into the object's status subresource; None values remove fields."""
        try:
            await asyncio.to_thread(
                self._custom.patch_namespaced_custom_object_status,
                API_GROUP,
                API_VERSION,
                namespace,
                PLURAL,
                name,
                {"status": status},
                _content_type=MERGE_PATCH,
            )
        except ApiException as error:
            if error.status == 404:
                return  # The object is gone; there is no status left to write.
            raise translate_error(error, f"patch status of {namespace}/{name}") from None
        except HTTPError as error:
            # The API server is unreachable (restart, network): retried like a 5xx.
            message = f"Kubernetes API unreachable: {type(error).__name__}."
            raise errors.TransientError(message) from None

    async def read_status(self, namespace: str, name: str) -> dict[str, Any]:
        """Return an OVHNodePool's status as stored now, empty when the object is gone."""
        try:
            result = await asyncio.to_thread(
                self._custom.get_namespaced_custom_object,
                API_GROUP,
                API_VERSION,
                namespace,
                PLURAL,
                name,
            )
        except ApiException as error:
            if error.status == 404:
                return {}
            raise translate_error(error, f"read {namespace}/{name}") from None
        except HTTPError as error:
            message = f"Kubernetes API unreachable: {type(error).__name__}."
            raise errors.TransientError(message) from None
        status: dict[str, Any] = dict(result).get("status") or {}  # type: ignore[call-overload]
        return status


def translate_error(error: ApiException, action: str) -> errors.OperatorError:
    """Translate a Kubernetes API failure; the message names the action and the HTTP status."""
    if error.status == 403:
        return errors.AccessDeniedError(
            f"Kubernetes denied the operator to {action} (HTTP 403): check its RBAC."
        )
    return errors.TransientError(f"Kubernetes API failed to {action}: HTTP {error.status}.")
