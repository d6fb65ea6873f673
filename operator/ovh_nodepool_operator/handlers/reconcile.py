"""Bring one OVHNodePool's OVH pool in line with its spec, and report the result in status.

Called by the ticker: forced when a create, update or resume handler asked for it, otherwise
only when a new listing of the cluster arrived. All OVH reads go through the shared
ClusterObserver.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ovh_nodepool_operator.clients.ovh_api import OvhApi
from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.models import USER_ERROR_STATUSES, OvhPool
from ovh_nodepool_operator.domain.planner import (
    CreatePool,
    ImmutableMismatch,
    NoChange,
    UpdatePool,
    WaitForPool,
    plan_create,
    plan_update,
)
from ovh_nodepool_operator.domain.status import (
    State,
    Verdict,
    build_conditions,
    build_status,
    timestamp,
)
from ovh_nodepool_operator.handlers.objects import (
    Claim,
    NodePoolObject,
    namespace_of,
    parse_object,
    post_event,
    secret_ref_of,
)
from ovh_nodepool_operator.handlers.runtime import Runtime, Snapshot
from ovh_nodepool_operator.handlers.state import ObjectState

STALLED_FIRST_RETRY_SECONDS = 5.0
REREAD_SECRET_ERRORS = (errors.InvalidCredentialsError, errors.AccessDeniedError)
BUSY_REASONS = {
    "INSTALLING": "Creating",
    "UPSCALING": "Resizing",
    "DOWNSCALING": "Resizing",
    "RESIZING": "Resizing",
    "DELETING": "Deleting",
}


@dataclass(frozen=True)
class Outcome:
    """A verdict and the live pool it was reached with (None when there is none)."""

    verdict: Verdict
    pool: OvhPool | None


class Reconciler:
    """Reconcile OVHNodePool objects with the shared runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings

    async def reconcile(
        self,
        body: Mapping[str, Any],
        state: ObjectState,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        *,
        max_age: float,
        force: bool,
        claims: Collection[Claim] = (),
    ) -> None:
        """Reconcile once. Without `force`, do nothing unless a new listing arrived.

        `claims` lists the objects that manage the same OVH pool, this one included.
        """
        async with state.lock:
            with _stop_when_gone(state, logger):
                try:
                    obj = parse_object(body)
                    check_ownership(obj, claims)
                    outcome = await self._converge(obj, state, logger, max_age=max_age, force=force)
                except errors.ObjectGoneError:
                    raise
                except errors.OperatorError as error:
                    if isinstance(error, REREAD_SECRET_ERRORS):
                        # The Secret may have been fixed since it was cached: read it at the retry.
                        self.runtime.credentials.forget(namespace_of(body), secret_ref_of(body))
                    await self._report_error(body, state, logger, error)
                    return

                if outcome is None:
                    return
                state.failures = 0
                state.retry_at = 0.0
                state.busy = outcome.verdict.state == "Reconciling"
                try:
                    await self._report(body, obj, state, logger, outcome)
                except errors.TransientError as error:
                    # The status write failed (API server unreachable): retry with backoff.
                    await self._report_error(body, state, logger, error)

    async def _converge(
        self,
        obj: NodePoolObject,
        state: ObjectState,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        *,
        max_age: float,
        force: bool,
    ) -> Outcome | None:
        credentials = await self.runtime.credentials.resolve(
            obj.namespace, obj.spec.credentials_secret_ref
        )
        api = self.runtime.api_for(credentials)
        snapshot = await self.runtime.observer.snapshot(
            api, obj.spec.project_id, obj.spec.kube_id, pool_name=obj.pool_name, max_age=max_age
        )
        if not force and snapshot.version == state.seen_version:
            return None
        state.seen_version = snapshot.version

        pool = await self._locate(api, obj, snapshot, logger)
        if pool is None:
            return await self._create(api, obj, logger)
        return await self._apply(api, obj, pool, logger)

    async def _locate(
        self,
        api: OvhApi,
        obj: NodePoolObject,
        snapshot: Snapshot,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> OvhPool | None:
        """Find the object's pool, adopting or refusing a pool it did not create."""
        recorded_id = obj.status.get("nodePoolId")
        if recorded_id:
            return await self._recorded_pool(api, obj, snapshot, str(recorded_id), logger)

        # The name was recorded before the POST: a pool of that name is the one it created.
        intent = obj.status.get("nodePoolName")
        if intent:
            pool = snapshot.by_name(str(intent))
            if pool is not None:
                await self._record_pool_id(obj, pool, logger, "found after a restart")
            return pool

        if obj.adopt:
            return await self._adopt(obj, snapshot, logger)

        existing = snapshot.by_name(obj.pool_name)
        if existing is not None and obj.observe_only:
            return existing  # Observing takes nothing over, so it needs no adopt annotation.
        if existing is not None:
            # The body can predate this operator's own intent write (a watch that was down), so
            # read the stored status before calling the pool someone else's.
            stored = await self.runtime.kube.read_status(obj.namespace, obj.name)
            if (
                stored.get("nodePoolName") == existing.name
                or stored.get("nodePoolId") == existing.id
            ):
                await self._record_pool_id(obj, existing, logger, "found after a stale read")
                return existing
            raise errors.PoolExistsError(
                f"A node pool named {obj.pool_name!r} (id {existing.id}) already exists in "
                f"cluster {obj.spec.kube_id} and this object did not create it. To manage it, "
                f"annotate the object with ovh.nodepool-operator.io/adopt=true; to create a new "
                "pool, set spec.name to an unused name."
            )
        return None

    async def _recorded_pool(
        self,
        api: OvhApi,
        obj: NodePoolObject,
        snapshot: Snapshot,
        pool_id: str,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> OvhPool | None:
        pool = snapshot.by_id(pool_id)
        if pool is not None:
            return pool

        # A listing can lag behind a creation, so ask for the pool itself before giving up on it.
        try:
            return await api.get_pool(obj.spec.project_id, obj.spec.kube_id, pool_id)
        except errors.PoolNotFoundError:
            pass

        message = f"OVH node pool {obj.pool_name} (id {pool_id}) was deleted outside the operator."
        logger.warning(message)
        self._event(obj, "Warning", "PoolMissing", message)
        await self.runtime.kube.patch_status(
            obj.namespace, obj.name, {"nodePoolId": None, "nodePoolName": None}
        )
        return None

    async def _adopt(
        self,
        obj: NodePoolObject,
        snapshot: Snapshot,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> OvhPool:
        if obj.adopt == "true":
            pool = snapshot.by_name(obj.pool_name)
            wanted = f"named {obj.pool_name!r}"
        else:
            pool = snapshot.by_id(str(obj.adopt))
            wanted = f"with id {obj.adopt}"
        if pool is None:
            raise errors.AdoptionTargetError(
                f"The adopt annotation asks for a node pool {wanted}, but cluster "
                f"{obj.spec.kube_id} has none: fix the annotation value or remove it."
            )

        await self._record_pool_id(obj, pool, logger, "adopted")
        self._event(obj, "Normal", "Adopted", f"Adopted OVH node pool {pool.name} (id {pool.id}).")
        return pool

    async def _record_pool_id(
        self,
        obj: NodePoolObject,
        pool: OvhPool,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        how: str,
    ) -> None:
        await self.runtime.kube.patch_status(
            obj.namespace, obj.name, {"nodePoolId": pool.id, "nodePoolName": pool.name}
        )
        logger.info(f"OVH node pool {pool.name} (id {pool.id}) {how}.")

    async def _create(
        self,
        api: OvhApi,
        obj: NodePoolObject,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> Outcome:
        if obj.observe_only:
            message = (
                f"No node pool named {obj.pool_name!r} exists in cluster {obj.spec.kube_id}, "
                "and managementPolicy ObserveOnly never creates one."
            )
            return Outcome(Verdict("Stalled", "PoolNotFound", message), None)
        if obj.paused:
            message = f"Creation of node pool {obj.pool_name!r} waits: the object is paused."
            return Outcome(Verdict("Reconciling", "Paused", message), None)

        plan: CreatePool = plan_create(obj.spec, obj.pool_name)
        spec = obj.spec

        # Record the intent first: a restart after the POST then finds the pool by this name.
        # An intent left by an earlier try means that try's POST may still reach OVH.
        earlier_try = obj.status.get("nodePoolName") == obj.pool_name
        now = datetime.now(UTC)
        message = f"Creating OVH node pool {obj.pool_name} in cluster {spec.kube_id}."
        creating = Verdict("Reconciling", "Creating", message)
        intent = {
            "nodePoolName": obj.pool_name,
            "nodePoolId": None,
            "createRequestedAt": timestamp(now),
            # Ready stays False from here on, so that a crash during the POST leaves no Ready
            # condition of a deleted pool next to the id of the new one.
            "observedGeneration": obj.generation,
            "conditions": build_conditions(
                creating,
                generation=obj.generation,
                previous=obj.status.get("conditions") or [],
                now=now,
                paused=obj.paused,
            ),
        }
        await self.runtime.kube.patch_status(obj.namespace, obj.name, intent)
        try:
            created = await api.create_pool(spec.project_id, spec.kube_id, plan.body)
        except errors.TransientError:
            raise  # The POST may have reached OVH: keep the intent so a retry finds the pool.
        except errors.OperatorError:
            if earlier_try:
                # OVH may reject the name because the earlier try's POST created the pool.
                snapshot = await self.runtime.observer.snapshot(
                    api, spec.project_id, spec.kube_id, pool_name=obj.pool_name, max_age=0
                )
                pool = snapshot.by_name(obj.pool_name)
                if pool is not None:
                    await self._record_pool_id(obj, pool, logger, "created by an earlier try")
                    message = f"OVH node pool {pool.name} was created by an earlier try."
                    return Outcome(Verdict("Reconciling", "Creating", message), pool)
            # OVH rejected the POST, so no pool exists and deletion must not wait for one.
            cleared = {"nodePoolName": None, "createRequestedAt": None}
            await self.runtime.kube.patch_status(obj.namespace, obj.name, cleared)
            raise
        self.runtime.observer.mark_written(api, spec.project_id, spec.kube_id, obj.pool_name)
        recorded = {"nodePoolId": created.id, "createRequestedAt": None}
        await self.runtime.kube.patch_status(obj.namespace, obj.name, recorded)

        message = (
            f"Created OVH node pool {created.name} (id {created.id}) in cluster {spec.kube_id} "
            f"with {plan.body['desiredNodes']} node(s) of flavor {spec.flavor_name}."
        )
        logger.info(message)
        self._event(obj, "Normal", "Created", message)
        return Outcome(Verdict("Reconciling", "Creating", message), created)

    async def _apply(
        self,
        api: OvhApi,
        obj: NodePoolObject,
        pool: OvhPool,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> Outcome:
        plan = plan_update(obj.spec, pool)
        if isinstance(plan, ImmutableMismatch):
            fields = ", ".join(plan.fields)
            message = (
                f"OVH node pool {pool.name} (id {pool.id}) differs from the spec on {fields}, "
                "which OVH cannot change in place: set these fields to the pool's values, or "
                "create a new OVHNodePool with another name."
            )
            return Outcome(Verdict("Stalled", "ImmutableFieldMismatch", message), pool)
        if isinstance(plan, WaitForPool):
            reason = BUSY_REASONS.get(plan.status, "Busy")
            message = f"OVH node pool {pool.name} is {plan.status}; waiting for it to finish."
            return Outcome(Verdict("Reconciling", reason, message), pool)
        if isinstance(plan, NoChange):
            return Outcome(settled_verdict(pool), pool)
        return await self._update(api, obj, pool, plan, logger)

    async def _update(
        self,
        api: OvhApi,
        obj: NodePoolObject,
        pool: OvhPool,
        plan: UpdatePool,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> Outcome:
        fields = ", ".join(plan.changed)
        if obj.observe_only or obj.paused:
            why = "managementPolicy is ObserveOnly" if obj.observe_only else "the object is paused"
            message = f"OVH node pool {pool.name} differs from the spec on {fields}; {why}."
            if obj.observe_only and pool.status == "READY":
                return Outcome(Verdict("Ready", "ObserveOnly", message), pool)
            reason = "ObserveOnly" if obj.observe_only else "Paused"
            return Outcome(Verdict("Reconciling", reason, message), pool)

        spec = obj.spec
        await api.update_pool(spec.project_id, spec.kube_id, pool.id, plan.body)
        self.runtime.observer.mark_written(api, spec.project_id, spec.kube_id, obj.pool_name)

        # The spec was already applied once, so a difference now was made outside the operator.
        drifted = obj.status.get("observedGeneration") == obj.generation and _was_ready(obj)
        changes = ", ".join(_describe_change(key, value) for key, value in plan.body.items())
        if drifted:
            message = (
                f"Put back {fields} of OVH node pool {pool.name} (id {pool.id}), changed "
                f"outside the operator: {changes}."
            )
            reason = "DriftCorrected"
        else:
            message = f"Updated OVH node pool {pool.name} (id {pool.id}): {changes}."
            reason = "Updated"
        logger.info(message)
        self._event(obj, "Normal", reason, message)

        verdict_reason = "Resizing" if "desiredNodes" in plan.body else "Updating"
        return Outcome(Verdict("Reconciling", verdict_reason, message), pool)

    async def _report(
        self,
        body: Mapping[str, Any],
        obj: NodePoolObject,
        state: ObjectState,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        outcome: Outcome,
    ) -> None:
        verdict = outcome.verdict
        now = datetime.now(UTC)
        status = build_status(
            obj.spec,
            outcome.pool,
            verdict,
            generation=obj.generation,
            previous=obj.status,
            now=now,
            paused=obj.paused,
        )
        self._announce(obj, state, logger, verdict)
        self.runtime.record_verdict(body, verdict)
        await self._write_status(obj, status, now)

    async def _report_error(
        self,
        body: Mapping[str, Any],
        state: ObjectState,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        error: errors.OperatorError,
    ) -> None:
        """Report an error in the conditions, keeping the last known pool figures."""
        state.failures += 1
        state.busy = not error.stalled
        state.retry_at = time.monotonic() + self._retry_delay(error, state.failures)

        state_name: State = "Stalled" if error.stalled else "Reconciling"
        verdict = Verdict(state_name, error.reason, error.describe())
        self.runtime.record_verdict(body, verdict)
        metadata = body.get("metadata") or {}
        previous = dict(body.get("status") or {})
        generation = int(metadata.get("generation") or 0)
        now = datetime.now(UTC)
        status: dict[str, Any] = {
            "observedGeneration": generation,
            "conditions": build_conditions(
                verdict, generation=generation, previous=previous.get("conditions") or [], now=now
            ),
        }

        # OVH's query id is new on every request, so leave it out of the comparison: the same
        # error on every retry must not log again and post another Event.
        changed = state.last_verdict != (verdict.reason, error.message)
        state.last_verdict = (verdict.reason, error.message)
        if changed:
            logger.warning(f"Reconciliation failed ({error.reason}): {error.describe()}")
            post_event(body, "Warning", error.reason, error.describe())

        if changed or _differs(previous, status):
            try:
                await self.runtime.kube.patch_status(
                    str(metadata.get("namespace", "")), str(metadata.get("name", "")), status
                )
            except errors.TransientError as failure:
                # The API server is unreachable too; the retry writes the status.
                logger.warning(f"Failed to write the error into status: {failure.message}")

    def _retry_delay(self, error: errors.OperatorError, failures: int) -> float:
        if isinstance(error, errors.TransientError) and error.retry_after is not None:
            return min(error.retry_after, self.settings.backoff_max_seconds)

        # A Stalled object is retried soon after it fails, so a quick fix (a Secret, a quota)
        # shows at once, then ever more slowly up to the cap.
        first, cap = 2.0, self.settings.backoff_max_seconds
        if error.stalled:
            first, cap = STALLED_FIRST_RETRY_SECONDS, self.settings.stalled_retry_seconds

        # Exponential backoff with jitter, so many objects do not retry in step.
        base = min(cap, first * 2.0 ** min(failures - 1, 10))
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography

    def _announce(
        self,
        obj: NodePoolObject,
        state: ObjectState,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        verdict: Verdict,
    ) -> None:
        key = (verdict.reason, verdict.message)
        if state.last_verdict == key:
            return
        first_since_start = state.last_verdict is None
        state.last_verdict = key

        # After a restart, a verdict that the stored status already shows was announced before.
        if first_since_start and _stored_verdict(obj) == key:
            return

        if verdict.state == "Ready" and verdict.reason == "InSync":
            logger.info(f"OVH node pool {obj.pool_name} is ready: {verdict.message}")
            self._event(obj, "Normal", "Ready", verdict.message)
        elif verdict.state == "Stalled":
            logger.warning(f"Reconciliation stalled ({verdict.reason}): {verdict.message}")
            self._event(obj, "Warning", verdict.reason, verdict.message)

    async def _write_status(
        self, obj: NodePoolObject, status: dict[str, Any], now: datetime
    ) -> None:
        # Skip a write that changes nothing, but refresh lastSyncTime now and then. The age comes
        # from the object itself, so a restarted operator does not rewrite every status at once.
        age = _age_seconds(obj.status.get("lastSyncTime"), now)
        if not _differs(obj.status, status) and age < self.settings.status_refresh_seconds:
            return
        status["lastSyncTime"] = timestamp(now)
        await self.runtime.kube.patch_status(obj.namespace, obj.name, status)

    def _event(self, obj: NodePoolObject, kind: str, reason: str, message: str) -> None:
        post_event(obj.reference, kind, reason, message)


@contextlib.contextmanager
def _stop_when_gone(
    state: ObjectState, logger: logging.Logger | logging.LoggerAdapter[logging.Logger]
) -> Iterator[None]:
    """End a reconcile whose object was deleted, before anything more reaches OVH."""
    try:
        yield
    except errors.ObjectGoneError:
        # Deleted without this instance seeing it, e.g. while a peer had the right to act.
        logger.info("Stopped following the object: it no longer exists.")
        state.deleted = True


def check_ownership(obj: NodePoolObject, claims: Collection[Claim]) -> None:
    """Raise OwnershipConflictError unless this object is the oldest claim on its pool."""
    if not claims or obj.observe_only:
        return
    owner = min(claims)
    if owner.uid == obj.uid:
        return
    raise errors.OwnershipConflictError(
        f"OVHNodePool {owner.namespace}/{owner.name} already manages node pool "
        f"{obj.pool_name!r} of cluster {obj.spec.kube_id}; this object changes nothing. Delete "
        "it, set managementPolicy to ObserveOnly, or give it another spec.name."
    )


def settled_verdict(pool: OvhPool) -> Verdict:
    """Judge a pool that needs no write: ready, still converging, or stuck at OVH."""
    if pool.status in USER_ERROR_STATUSES:
        return Verdict(
            "Stalled",
            "PoolError",
            f"OVH reports node pool {pool.name} as {pool.status}: check quotas and the pool in "
            "the OVH control panel.",
        )
    if pool.status == "READY" and pool.current_nodes == pool.desired_nodes:
        return Verdict(
            "Ready",
            "InSync",
            f"Node pool {pool.name} has {pool.current_nodes} of {pool.desired_nodes} node(s), "
            f"{pool.available_nodes} available.",
        )
    return Verdict(
        "Reconciling",
        "Resizing",
        f"Node pool {pool.name} has {pool.current_nodes} of {pool.desired_nodes} node(s).",
    )


def _age_seconds(stamp: Any, now: datetime) -> float:
    """Return the seconds since an RFC 3339 time; infinity when it is missing or invalid."""
    try:
        then = datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return float("inf")
    return (now - then).total_seconds()


def _differs(previous: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    return any(previous.get(key) != value for key, value in status.items())


def _stored_verdict(obj: NodePoolObject) -> tuple[str, str] | None:
    """Return the reason and message of the true condition in the stored status, if any."""
    for condition in obj.status.get("conditions") or []:
        if condition.get("type") in ("Ready", "Reconciling", "Stalled") and (
            condition.get("status") == "True"
        ):
            return str(condition.get("reason")), str(condition.get("message"))
    return None


def _was_ready(obj: NodePoolObject) -> bool:
    conditions = obj.status.get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _describe_change(field: str, value: Any) -> str:
    # Objects such as the template are sent whole; their content is in the spec, not the Event.
    if isinstance(value, dict):
        return f"{field} (whole object)"
    return f"{field}={value}"
