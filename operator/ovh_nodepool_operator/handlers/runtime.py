"""Shared state of one operator process: credentials, OVH clients and cluster observations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ovh_nodepool_operator.clients.credentials import Credentials, credentials_from_mapping
from ovh_nodepool_operator.clients.endpoint import validate_endpoint
from ovh_nodepool_operator.clients.kube import KubeApi
from ovh_nodepool_operator.clients.ovh_api import CallObserver, EndpointClock, OvhApi, WaitObserver
from ovh_nodepool_operator.clients.ratelimit import TokenBucket
from ovh_nodepool_operator.domain.errors import CredentialsConfigError
from ovh_nodepool_operator.domain.models import OvhPool, SecretReference
from ovh_nodepool_operator.domain.status import Verdict
from ovh_nodepool_operator.settings import OperatorSettings


@dataclass(frozen=True)
class Snapshot:
    """One listing of a cluster's pools. `version` grows with every new listing."""

    pools: tuple[OvhPool, ...]
    fetched_at: float
    version: int

    def by_id(self, pool_id: str) -> OvhPool | None:
        """Return the pool with this id, if listed."""
        return next((pool for pool in self.pools if pool.id == pool_id), None)

    def by_name(self, name: str) -> OvhPool | None:
        """Return the pool with this name, if listed."""
        return next((pool for pool in self.pools if pool.name == name), None)


@dataclass
class _Observation:
    snapshot: Snapshot | None = None
    inflight: asyncio.Future[Snapshot] | None = None
    # When the operator last wrote to each pool of the cluster, by pool name.
    written_at: dict[str, float] = field(default_factory=dict)
    version: int = 0


class ClusterObserver:
    """Share one `GET .../nodepool` per cluster among every object of that cluster.

    A listing serves a caller while it is younger than the age the caller accepts and newer
    than the operator's last write to the caller's pool. Callers that arrive while a listing is
    in flight wait for it instead of sending their own.
    """

    def __init__(self) -> None:
        self._observations: dict[tuple[str, str, str], _Observation] = {}

    async def snapshot(
        self, api: OvhApi, project_id: str, kube_id: str, *, pool_name: str, max_age: float
    ) -> Snapshot:
        """Return a listing of the cluster's pools no older than `max_age` seconds.

        The listing is also newer than the last write to the pool named `pool_name`.
        """
        key = (api.identity, project_id, kube_id)
        observation = self._observations.setdefault(key, _Observation())
        cached = observation.snapshot
        now = time.monotonic()
        if (
            cached is not None
            and now - cached.fetched_at <= max_age
            and cached.fetched_at >= observation.written_at.get(pool_name, 0.0)
        ):
            return cached

        if observation.inflight is None:
            observation.inflight = asyncio.ensure_future(
                self._fetch(observation, api, project_id, kube_id)
            )
        return await asyncio.shield(observation.inflight)

    def mark_written(self, api: OvhApi, project_id: str, kube_id: str, pool_name: str) -> None:
        """Note a write to a pool, so the pool's next reader gets a listing made after it."""
        key = (api.identity, project_id, kube_id)
        observation = self._observations.setdefault(key, _Observation())
        observation.written_at[pool_name] = time.monotonic()

    async def _fetch(
        self, observation: _Observation, api: OvhApi, project_id: str, kube_id: str
    ) -> Snapshot:
        started = time.monotonic()
        try:
            pools = await api.list_pools(project_id, kube_id)
            observation.version += 1
            snapshot = Snapshot(tuple(pools), started, observation.version)
            observation.snapshot = snapshot
            return snapshot
        finally:
            observation.inflight = None


@dataclass
class _CachedSecret:
    credentials: Credentials
    expires_at: float


class CredentialStore:
    """Resolve the credentials of an object: its Secret, or the operator's own.

    Secrets are read again after `secret_cache_seconds`, so an edited Secret takes effect
    without a restart. Callers that need a Secret while it is being read wait for that read
    instead of sending their own, so objects whose timers run in step read it once.
    """

    def __init__(self, kube: KubeApi, settings: OperatorSettings) -> None:
        self._kube = kube
        self._settings = settings
        self._cache: dict[tuple[str, str], _CachedSecret] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[Credentials]] = {}

    async def resolve(self, namespace: str, ref: SecretReference | None) -> Credentials:
        """Return the credentials for an object in `namespace`."""
        if ref is None:
            return self.default()

        key = (namespace, ref.name)
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at > time.monotonic():
            return cached.credentials

        inflight = self._inflight.get(key)
        if inflight is None:
            inflight = asyncio.ensure_future(self._read(key))
            self._inflight[key] = inflight
        return await asyncio.shield(inflight)

    async def _read(self, key: tuple[str, str]) -> Credentials:
        namespace, name = key
        try:
            data = await self._kube.read_secret(namespace, name)
            credentials = credentials_from_mapping(data, source=f"Secret {namespace}/{name}")
            validate_endpoint(credentials.endpoint)
            expires_at = time.monotonic() + self._settings.secret_cache_seconds
            self._cache[key] = _CachedSecret(credentials, expires_at)
            return credentials
        finally:
            self._inflight.pop(key, None)

    def default(self) -> Credentials:
        """Return the operator's own credentials from its environment."""
        keys = self._settings.default_credential_keys()
        if not keys:
            raise CredentialsConfigError(
                "The object has no spec.credentialsSecretRef and the operator has no "
                "credentials of its own: set credentialsSecretRef, or give the operator "
                "OVH_ENDPOINT and its keys."
            )
        credentials = credentials_from_mapping(keys, source="The operator's environment")
        validate_endpoint(credentials.endpoint)
        return credentials

    def forget(self, namespace: str, ref: SecretReference | None) -> None:
        """Drop a cached Secret, so the next reconciliation reads it again."""
        if ref is not None:
            self._cache.pop((namespace, ref.name), None)


# Called with the object's body and the verdict of each reconciliation that reports one.
VerdictObserver = Callable[[Mapping[str, Any], Verdict], None]


@dataclass
class Runtime:
    """Everything the handlers share across objects."""

    settings: OperatorSettings
    kube: KubeApi
    credentials: CredentialStore
    observer: ClusterObserver = field(default_factory=ClusterObserver)
    call_observer: CallObserver | None = None
    wait_observer: WaitObserver | None = None
    verdict_observer: VerdictObserver | None = None
    _apis: dict[str, OvhApi] = field(default_factory=dict)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _clocks: dict[str, EndpointClock] = field(default_factory=dict)

    def api_for(self, credentials: Credentials) -> OvhApi:
        """Return the OVH client of these credentials; one token bucket per identity."""
        api = self._apis.get(credentials.fingerprint)
        if api is not None:
            return api

        bucket = self._buckets.get(credentials.identity)
        if bucket is None:
            bucket = TokenBucket(
                self.settings.rate_limit_per_second, self.settings.rate_limit_burst
            )
            self._buckets[credentials.identity] = bucket

        api = OvhApi(
            credentials,
            bucket=bucket,
            timeout=self.settings.request_timeout_seconds,
            observer=self.call_observer,
            wait_observer=self.wait_observer,
            clock=self._clocks.setdefault(credentials.endpoint, EndpointClock()),
        )
        self._apis[credentials.fingerprint] = api
        return api

    def record_verdict(self, body: Mapping[str, Any], verdict: Verdict) -> None:
        """Pass the verdict of a reconciliation to the verdict observer, if there is one."""
        if self.verdict_observer is not None:
            self.verdict_observer(body, verdict)

    def last_ovh_success(self) -> float | None:
        """Return the Unix time of the last OVH call that succeeded, across all clients."""
        times = [api.last_success for api in self._apis.values() if api.last_success]
        return max(times) if times else None
