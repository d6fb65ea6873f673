"""The Kubernetes adapter: Secret reads, status patches, and Kopf's peering objects."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.models import API_GROUP, API_VERSION, PLURAL

MERGE_PATCH = "application/merge-patch+json"
PEERING_GROUP = "kopf.dev"
PEERING_VERSION = "v1"
# The API server ends each watch after this many seconds; the follower then lists again.
PEERING_WATCH_SECONDS = 300
PEERING_RETRY_SECONDS = 5.0

# Called with the followed object's reference and its status, or with None and why it cannot
# be read.
PeeringCallback = Callable[[str, Mapping[str, Any] | None, str | None], None]


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
        """Merge `status` into the object's status subresource. None values remove fields.

        Raise ObjectGoneError when the object no longer exists.
        """
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
                raise errors.ObjectGoneError(f"OVHNodePool {namespace}/{name} not found.") from None
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


class PeeringFollower:
    """Follow one Kopf peering object with a list, then a watch, in a thread of its own.

    The callback runs in the event loop. A missing object or CRD is reported as a problem,
    because Kopf then pauses the operator until the object appears. While the API server is
    unreachable, nothing is reported, so the last reading remains valid, as it does for Kopf.
    """

    def __init__(
        self,
        *,
        name: str,
        namespace: str | None,
        loop: asyncio.AbstractEventLoop,
        callback: PeeringCallback,
    ) -> None:
        self._name = name
        self._namespace = namespace
        self._loop = loop
        self._callback = callback
        self._custom = kubernetes.client.CustomObjectsApi()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"peering-{namespace or 'cluster'}", daemon=True
        )

    @property
    def reference(self) -> str:
        """Return the followed object as KIND NAMESPACE/NAME, for messages."""
        if self._namespace is None:
            return f"ClusterKopfPeering {self._name}"
        return f"KopfPeering {self._namespace}/{self._name}"

    def start(self) -> None:
        """Start following."""
        self._thread.start()

    def stop(self) -> None:
        """Stop following; the thread ends at its next event or watch timeout."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._list_and_watch()
            except ApiException as error:
                if error.status in (403, 404):
                    self._report(None, self._problem(error))
                # Any other status, such as 410 Gone or a 5xx: keep the reading and list again.
            except (HTTPError, OSError, ValueError):
                pass  # Unreachable or cut short: keep the last reading and list again.
            self._stopped.wait(PEERING_RETRY_SECONDS)

    def _list_and_watch(self) -> None:
        selector = f"metadata.name={self._name}"
        listing = self._list(field_selector=selector, _request_timeout=30)
        items = listing.get("items") or []
        self._report_object(items[0] if items else None)

        version = (listing.get("metadata") or {}).get("resourceVersion")
        watch = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
        for event in watch.stream(  # type: ignore[no-untyped-call]
            self._list,
            field_selector=selector,
            resource_version=version,
            timeout_seconds=PEERING_WATCH_SECONDS,
            # A connection that dies without a reset would otherwise block the thread forever.
            _request_timeout=PEERING_WATCH_SECONDS + 30,
        ):
            if self._stopped.is_set():
                watch.stop()  # type: ignore[no-untyped-call]
                return
            if event.get("type") == "ERROR":
                return  # Usually 410 Gone: list again from the current version.
            deleted = event.get("type") == "DELETED"
            self._report_object(None if deleted else event.get("object"))

    def _list(self, **kwargs: Any) -> Any:
        if self._namespace is None:
            return self._custom.list_cluster_custom_object(
                PEERING_GROUP, PEERING_VERSION, "clusterkopfpeerings", **kwargs
            )
        return self._custom.list_namespaced_custom_object(
            PEERING_GROUP, PEERING_VERSION, self._namespace, "kopfpeerings", **kwargs
        )

    def _report_object(self, item: Any) -> None:
        if not isinstance(item, Mapping):
            self._report(None, f"{self.reference} does not exist: create it")
            return
        status = item.get("status")
        self._report(status if isinstance(status, Mapping) else {}, None)

    def _problem(self, error: ApiException) -> str:
        if error.status == 404:
            return f"the CRD of {self.reference} is not installed"
        return f"Kubernetes denied the operator to watch {self.reference} (HTTP 403)"

    def _report(self, status: Mapping[str, Any] | None, problem: str | None) -> None:
        if not self._stopped.is_set():
            self._loop.call_soon_threadsafe(self._callback, self.reference, status, problem)


def translate_error(error: ApiException, action: str) -> errors.OperatorError:
    """Translate a Kubernetes API failure; the message names the action and the HTTP status."""
    if error.status == 403:
        return errors.AccessDeniedError(
            f"Kubernetes denied the operator to {action} (HTTP 403): check its RBAC."
        )
    return errors.TransientError(f"Kubernetes API failed to {action}: HTTP {error.status}.")
