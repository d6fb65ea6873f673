"""Release an OVHNodePool: delete its OVH pool (policy Delete) or leave it (policy Orphan)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.models import OvhPool
from ovh_nodepool_operator.handlers.objects import NodePoolObject, parse_object, post_event
from ovh_nodepool_operator.handlers.runtime import Runtime
from ovh_nodepool_operator.handlers.state import ObjectState

# After a DELETE, OVH can still list the pool as READY for a moment; within this many seconds
# such a reading means "deletion in progress", not "deletion lost".
DELETE_GRACE_SECONDS = 120.0
# A POST sent before a crash can still create the pool after the operator restarts, so an
# object with only a creation intent is released no sooner than this after the intent.
CREATE_GRACE_SECONDS = 120.0


async def finalize(
    runtime: Runtime,
    body: Mapping[str, Any],
    state: ObjectState,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> None:
    """Return once the object may be released; raise kopf.TemporaryError to be called again."""
    obj = parse_object(body)
    recorded_id = obj.status.get("nodePoolId")
    intent = obj.status.get("nodePoolName")

    if obj.spec.deletion_policy == "Orphan" or obj.observe_only:
        if recorded_id or intent:
            why = "Orphan" if obj.spec.deletion_policy == "Orphan" else "ObserveOnly"
            logger.info(f"Left OVH node pool {obj.pool_name} (id {recorded_id}) in place ({why}).")
        return
    if not recorded_id and not intent:
        return  # No pool was ever created for this object.

    delay = runtime.settings.busy_interval_seconds
    try:
        pool = await _find_pool(runtime, obj, recorded_id, intent)
        if pool is None and not recorded_id and _intent_is_recent(obj):
            raise kopf.TemporaryError(
                f"Waiting for a create request of node pool {intent} that may still reach OVH.",
                delay=delay,
            )
        if pool is None:
            logger.info(f"OVH node pool {obj.pool_name} (id {recorded_id}) is gone.")
            return
        if not recorded_id:
            # Found by the intent: keep its id, so its 404 later ends the wait at once.
            found = {"nodePoolId": pool.id, "createRequestedAt": None}
            await runtime.kube.patch_status(obj.namespace, obj.name, found)
        await _delete(runtime, obj, pool, state, logger)
    except (errors.TransientError, errors.PoolBusyError) as error:
        if isinstance(error, errors.TransientError) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        raise kopf.TemporaryError(f"Deletion waits: {error.describe()}", delay=delay) from None
    except errors.ObjectGoneError:
        return  # Its finalizer was removed by hand: nothing is left to release.
    except errors.OperatorError as error:
        if isinstance(error, (errors.InvalidCredentialsError, errors.AccessDeniedError)):
            runtime.credentials.forget(obj.namespace, obj.spec.credentials_secret_ref)
        # Retried at the busy interval, not the slow Stalled one: the retry is what notices a
        # switch to deletionPolicy Orphan, which must release the object without delay.
        raise kopf.TemporaryError(
            f"Cannot delete the OVH node pool: {error.describe()} Fix the cause, or set "
            "spec.deletionPolicy to Orphan to release the object and keep the pool.",
            delay=delay,
        ) from None
    raise kopf.TemporaryError(f"Waiting for OVH to delete node pool {obj.pool_name}.", delay=delay)


def _intent_is_recent(obj: NodePoolObject) -> bool:
    recorded_at = obj.status.get("createRequestedAt")
    if not recorded_at:
        return False
    requested = datetime.fromisoformat(str(recorded_at).replace("Z", "+00:00"))
    return (datetime.now(UTC) - requested).total_seconds() < CREATE_GRACE_SECONDS


async def _find_pool(
    runtime: Runtime, obj: NodePoolObject, recorded_id: Any, intent: Any
) -> OvhPool | None:
    credentials = await runtime.credentials.resolve(obj.namespace, obj.spec.credentials_secret_ref)
    api = runtime.api_for(credentials)
    spec = obj.spec
    if recorded_id:
        try:
            return await api.get_pool(spec.project_id, spec.kube_id, str(recorded_id))
        except errors.PoolNotFoundError:
            return None

    # Only the intent was recorded: the POST may or may not have reached OVH.
    snapshot = await runtime.observer.snapshot(
        api, spec.project_id, spec.kube_id, pool_name=str(intent), max_age=0
    )
    return snapshot.by_name(str(intent))


async def _delete(
    runtime: Runtime,
    obj: NodePoolObject,
    pool: OvhPool,
    state: ObjectState,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> None:
    if pool.status == "DELETING":
        return
    requested = state.delete_requested_at
    if requested is not None and time.monotonic() - requested < DELETE_GRACE_SECONDS:
        return

    credentials = await runtime.credentials.resolve(obj.namespace, obj.spec.credentials_secret_ref)
    api = runtime.api_for(credentials)
    try:
        await api.delete_pool(obj.spec.project_id, obj.spec.kube_id, pool.id)
    except errors.PoolNotFoundError:
        return
    runtime.observer.mark_written(api, obj.spec.project_id, obj.spec.kube_id, obj.pool_name)
    state.delete_requested_at = time.monotonic()

    message = f"Deleting OVH node pool {pool.name} (id {pool.id})."
    logger.info(message)
    post_event(obj.reference, "Normal", "Deleting", message)
