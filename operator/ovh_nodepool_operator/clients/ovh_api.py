"""The OVH API adapter: rate-limited, timed-out calls for the routes the operator uses."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ovh
import ovh.exceptions
import requests

from ovh_nodepool_operator.clients.credentials import Credentials
from ovh_nodepool_operator.clients.endpoint import build_client
from ovh_nodepool_operator.clients.ratelimit import TokenBucket
from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.models import OvhCluster, OvhPool

KUBE = "/cloud/project/{serviceName}/kube/{kubeId}"
POOLS = KUBE + "/nodepool"
POOL = POOLS + "/{nodePoolId}"

CREDENTIAL_ERROR_CODES = {
    "INVALID_KEY",
    "INVALID_CREDENTIAL",
    "NOT_CREDENTIAL",
    "INVALID_SIGNATURE",
}


@dataclass(frozen=True)
class CallRecord:
    """One finished OVH call, for metrics: route template, method, outcome, seconds."""

    route: str
    method: str
    status: str
    seconds: float


CallObserver = Callable[[CallRecord], None]
# Called with the credential's identity and the seconds the call waited for the rate limit.
WaitObserver = Callable[[str, float], None]
CREDENTIAL_EXCEPTIONS = (
    ovh.exceptions.InvalidKey,
    ovh.exceptions.InvalidCredential,
    ovh.exceptions.NotCredential,
)


class EndpointClock:
    """The offset between this machine's clock and an OVH endpoint's, read once per endpoint.

    python-ovh signs each call with the endpoint's time, which it reads with GET /auth/time
    once per client. Clients of one endpoint share this object, so only the first reads it.
    """

    def __init__(self) -> None:
        self.offset: int | None = None
        self.lock = asyncio.Lock()


class OvhApi:
    """Node pool operations of one OVH credential.

    Every call waits for the credential's token bucket, runs in a worker thread because
    python-ovh blocks, and raises only errors of `ovh_nodepool_operator.domain.errors`.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        bucket: TokenBucket,
        timeout: float,
        observer: CallObserver | None = None,
        wait_observer: WaitObserver | None = None,
        clock: EndpointClock | None = None,
    ) -> None:
        self.identity = credentials.identity
        self.endpoint = credentials.endpoint
        self._client = build_client(credentials, timeout=timeout)
        self._bucket = bucket
        self._observer = observer
        self._wait_observer = wait_observer
        self.last_success: float | None = None
        # python-ovh reads GET /auth/time on a client's first signed call and keeps the offset.
        # Calls that start together would each read it, so the first call reads it alone.
        self._clock_known = credentials.client_id is not None  # OAuth2 calls are not signed
        self._clock = clock or EndpointClock()

    async def list_projects(self) -> list[str]:
        """Return the ids of the Public Cloud projects the credential reaches."""
        result = await self._call("GET", "/cloud/project", "/cloud/project")
        return [str(item) for item in result]

    async def list_clusters(self, project_id: str) -> list[str]:
        """Return the ids of the MKS clusters of a project."""
        path = f"/cloud/project/{project_id}/kube"
        result = await self._call_in_cluster("GET", path, "/cloud/project/{serviceName}/kube")
        return [str(item) for item in result]

    async def get_cluster(self, project_id: str, kube_id: str) -> OvhCluster:
        """Return one MKS cluster."""
        path = f"/cloud/project/{project_id}/kube/{kube_id}"
        return OvhCluster.model_validate(await self._call_in_cluster("GET", path, KUBE))

    async def list_pools(self, project_id: str, kube_id: str) -> list[OvhPool]:
        """Return every node pool of a cluster, in one call."""
        path = f"/cloud/project/{project_id}/kube/{kube_id}/nodepool"
        result = await self._call_in_cluster("GET", path, POOLS)
        return [OvhPool.model_validate(item) for item in result]

    async def get_pool(self, project_id: str, kube_id: str, pool_id: str) -> OvhPool:
        """Return one node pool, or raise PoolNotFoundError."""
        path = f"/cloud/project/{project_id}/kube/{kube_id}/nodepool/{pool_id}"
        return OvhPool.model_validate(await self._call("GET", path, POOL))

    async def create_pool(self, project_id: str, kube_id: str, body: dict[str, Any]) -> OvhPool:
        """Create a node pool and return it as OVH returned it."""
        path = f"/cloud/project/{project_id}/kube/{kube_id}/nodepool"
        return OvhPool.model_validate(await self._call_in_cluster("POST", path, POOLS, body))

    async def update_pool(
        self, project_id: str, kube_id: str, pool_id: str, body: dict[str, Any]
    ) -> None:
        """Change the mutable fields of a node pool."""
        path = f"/cloud/project/{project_id}/kube/{kube_id}/nodepool/{pool_id}"
        await self._call("PUT", path, POOL, body)

    async def delete_pool(self, project_id: str, kube_id: str, pool_id: str) -> None:
        """Ask OVH to delete a node pool; OVH deletes it in the background."""
        path = f"/cloud/project/{project_id}/kube/{kube_id}/nodepool/{pool_id}"
        await self._call("DELETE", path, POOL)

    async def _call_in_cluster(
        self, method: str, path: str, route: str, body: dict[str, Any] | None = None
    ) -> Any:
        # On project and cluster routes a 404 or 403 means the project or cluster is out of reach.
        try:
            return await self._call(method, path, route, body)
        except (errors.PoolNotFoundError, errors.AccessDeniedError) as error:
            raise errors.ClusterNotFoundError(
                f"OVH cannot find the project or cluster in {path}, or the credentials "
                f"{self.identity} may not reach it: {error.message}. Check spec.projectId and "
                "spec.kubeId, and the projects the consumer key may reach.",
                query_id=error.query_id,
            ) from None

    async def _call(
        self, method: str, path: str, route: str, body: dict[str, Any] | None = None
    ) -> Any:
        waited = await self._bucket.acquire()
        if self._wait_observer is not None:
            self._wait_observer(self.identity, waited)
        started = time.monotonic()
        outcome = "error"
        try:
            if not self._clock_known:
                await self._read_clock()
            result = await asyncio.to_thread(self._send, method, path, body)
            outcome = "ok"
            self.last_success = time.time()
            return result
        except errors.OperatorError as error:
            outcome = error.reason
            raise
        finally:
            if self._observer is not None:
                record = CallRecord(route, method, outcome, time.monotonic() - started)
                self._observer(record)

    async def _read_clock(self) -> None:
        async with self._clock.lock:
            if self._clock_known:
                return
            if self._clock.offset is None:
                self._clock.offset = await asyncio.to_thread(self._send_time_request)
            else:
                # python-ovh has no setter for the offset. Its time_delta property keeps the
                # offset in this attribute.
                self._client._time_delta = self._clock.offset
            self._clock_known = True

    def _send_time_request(self) -> int:
        try:
            return int(self._client.time_delta)  # the property sends GET /auth/time once
        except ovh.exceptions.APIError as error:
            raise translate_error(error, endpoint=self.endpoint) from None

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        try:
            if body is None:
                return self._client.call(method, path)
            return self._client.call(method, path, body)
        except ovh.exceptions.APIError as error:
            raise translate_error(error, endpoint=self.endpoint) from None


def translate_error(
    error: ovh.exceptions.APIError, *, endpoint: str = "the OVH API"
) -> errors.OperatorError:
    """Translate a python-ovh exception into the operator's taxonomy.

    The messages carry OVH's text and query id but never a request header or a secret.
    """
    query_id = getattr(error, "query_id", None)
    message = _ovh_message(error)
    response: requests.Response | None = getattr(error, "response", None)
    status = response.status_code if response is not None else None

    if isinstance(error, ovh.exceptions.HTTPError):
        return errors.TransientError(
            f"{endpoint} is unreachable ({_cause_name(error)}): check the credentials' "
            "endpoint and the network to it. Retrying with backoff."
        )
    if isinstance(error, ovh.exceptions.InvalidResponse):
        return errors.TransientError("OVH API returned a body that is not JSON.")
    if isinstance(error, ovh.exceptions.NetworkError):
        return errors.TransientError("OVH API connection failed before an answer.")
    if isinstance(error, ovh.exceptions.OAuth2FailureError):
        return _translate_oauth2_failure(message)
    if response is None and isinstance(error, CREDENTIAL_EXCEPTIONS):
        # python-ovh raises these itself, with no request sent, when a key is empty.
        return errors.InvalidCredentialsError(
            f"The OVH credentials are incomplete: {message}. Check the credentials' keys."
        )
    if _error_code(response) in CREDENTIAL_ERROR_CODES or status == 401:
        return errors.InvalidCredentialsError(
            f"OVH rejected the credentials: {message}. Check the application key, application "
            "secret and consumer key, and that the consumer key is validated and not revoked.",
            query_id=query_id,
        )
    return _translate_status(status, message, query_id, response)


def _translate_oauth2_failure(message: str) -> errors.OperatorError:
    # python-ovh 1.2.0 puts oauthlib's error code in the message, "(invalid_client) ...", or
    # the token route's HTTP status, "status_code=503": a rejected client id or secret shows as
    # an OAuth2 error code or as 400 or 401, anything else is worth a retry.
    found = re.search(r"status_code=(\d{3})", message)
    status = int(found.group(1)) if found else None
    rejected = re.search(
        r"\((invalid_client|unauthorized_client|invalid_grant|access_denied)\)", message
    )
    if rejected or status in (400, 401):
        return errors.InvalidCredentialsError(
            "OVH rejected the OAuth2 client id or secret: check clientId and clientSecret."
        )
    shown = f"HTTP {status}" if status else "an invalid body"
    return errors.TransientError(f"OVH's OAuth2 token route returned {shown}.")


def _translate_status(
    status: int | None, message: str, query_id: str | None, response: requests.Response | None
) -> errors.OperatorError:
    if status == 404:
        return errors.PoolNotFoundError(message, query_id=query_id)
    if status == 403:
        return errors.AccessDeniedError(
            f"OVH denied the call: {message}. Grant the consumer key the node pool routes.",
            query_id=query_id,
        )
    if status == 400 and "IntegrityError" in message:
        return errors.PoolBusyError(message, query_id=query_id)
    if status in (400, 409):
        return errors.RejectedError(f"OVH rejected the request: {message}", query_id=query_id)
    if status == 429 or (status is not None and status >= 500):
        return errors.TransientError(
            f"OVH API returned HTTP {status}: {message}",
            query_id=query_id,
            retry_after=_retry_after(response),
        )
    return errors.RejectedError(f"OVH API returned HTTP {status}: {message}", query_id=query_id)


def _ovh_message(error: ovh.exceptions.APIError) -> str:
    # APIError keeps the body's message as its first argument; str(error) appends the query id.
    if error.args and isinstance(error.args[0], str):
        return error.args[0]
    return type(error).__name__


def _cause_name(error: ovh.exceptions.APIError) -> str:
    causes = [arg for arg in error.args if isinstance(arg, BaseException)]
    if causes:
        return type(causes[0]).__name__
    return "network error"


def _error_code(response: requests.Response | None) -> str | None:
    if response is None:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("errorCode") if isinstance(data, dict) else None


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
