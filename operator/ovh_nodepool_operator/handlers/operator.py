"""Kopf handler registrations. Each handler parses its input and calls the reconciler.

`kopf run -m ovh_nodepool_operator.handlers.operator` loads this module; the CLI's `run` command
does that with the settings' flags.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from typing import Any

import kopf

from ovh_nodepool_operator.clients.endpoint import detach_library_configuration
from ovh_nodepool_operator.clients.kube import KubeApi, load_configuration
from ovh_nodepool_operator.clients.kube_session import pooled_session
from ovh_nodepool_operator.clients.logs import silence_secret_bearing_loggers
from ovh_nodepool_operator.domain.models import API_GROUP, API_VERSION, PLURAL
from ovh_nodepool_operator.handlers.deletion import finalize
from ovh_nodepool_operator.handlers.metrics import OperatorMetrics
from ovh_nodepool_operator.handlers.objects import Claim, ClaimKey, claim_of
from ovh_nodepool_operator.handlers.reconcile import Reconciler
from ovh_nodepool_operator.handlers.runtime import CredentialStore, Runtime
from ovh_nodepool_operator.handlers.state import object_state
from ovh_nodepool_operator.handlers.waits import install_planned_wait_filter
from ovh_nodepool_operator.settings import OperatorSettings

SETTINGS = OperatorSettings()
RESOURCE = (API_GROUP, API_VERSION, PLURAL)
FINALIZER = f"{API_GROUP}/finalizer"
KOPF_PREFIX = f"kopf.{API_GROUP}"
WORKER_THREADS = 8


@kopf.on.startup()
async def configure(
    settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Set Kopf's storage names, build the runtime shared by all objects, serve metrics."""
    settings.persistence.finalizer = FINALIZER
    # Kopf leaves every annotation under its storage prefix out of the changes it reacts to, so
    # its prefix must differ from that of the user's annotations (paused, adopt).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = WORKER_THREADS

    # python-ovh and kubernetes block, so their calls run in threads; give them enough.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=WORKER_THREADS))

    detach_library_configuration()
    silence_secret_bearing_loggers()
    install_planned_wait_filter()
    load_configuration()
    kube = KubeApi(threads=WORKER_THREADS)
    metrics = OperatorMetrics()
    runtime = Runtime(
        settings=SETTINGS,
        kube=kube,
        credentials=CredentialStore(kube, SETTINGS),
        call_observer=metrics.observe_call,
        wait_observer=metrics.observe_wait,
        verdict_observer=metrics.observe_verdict,
    )
    memo["reconciler"] = Reconciler(runtime)
    memo["metrics"] = metrics

    # Last, so that a retry of an earlier step never finds the port taken by this process.
    port = SETTINGS.metrics_port
    if port:
        try:
            metrics.serve(port)
        except OSError as error:
            raise kopf.PermanentError(
                f"Cannot serve Prometheus metrics on port {port}: {error.strerror}. Free the "
                "port, or set OVHNP_METRICS_PORT to another port (0 disables metrics)."
            ) from None
        logger.info(f"Serving Prometheus metrics on port {port} at /metrics.")


@kopf.on.login()
async def login(
    settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any
) -> kopf.AiohttpSession | None:
    """Log in as Kopf would, in the cluster or from KUBECONFIG, with a bounded connection pool."""
    info = kopf.login_via_client(settings=settings, logger=logger)
    return None if info is None else pooled_session(info)


@kopf.on.cleanup()
async def stop_metrics(memo: kopf.Memo, **_: Any) -> None:
    """Stop the metrics HTTP server."""
    metrics = memo.get("metrics")
    if isinstance(metrics, OperatorMetrics):
        metrics.close()


# Async, though it does no I/O, so that Kopf calls it in the event loop and not in a thread.
@kopf.index(*RESOURCE)
async def pool_claims(body: kopf.Body, **_: Any) -> dict[ClaimKey, Claim]:
    """Index the objects by the OVH pool they manage, to find two that manage the same one."""
    claim = claim_of(body)
    return {} if claim is None else {claim[0]: claim[1]}


def _claims(body: kopf.Body, index: kopf.Index[ClaimKey, Claim]) -> list[Claim]:
    claim = claim_of(body)
    if claim is None or claim[0] not in index:
        return []
    return list(index[claim[0]])


def _reconciler(memo: kopf.Memo) -> Reconciler:
    reconciler = memo["reconciler"]
    assert isinstance(reconciler, Reconciler)
    return reconciler


# The create, update and resume handlers only hand the work to the object's daemon. A handler
# that waited for its OVH calls would hold a Kopf worker, a copy of the body and its context for
# as long as the rate limit makes it wait. With 1000 objects created at once, that is minutes
# and tens of megabytes.
@kopf.on.create(*RESOURCE)
@kopf.on.update(*RESOURCE)
async def apply_spec(memo: kopf.Memo, **_: Any) -> None:
    """Ask for a reconcile at once, with a listing at most a few seconds old."""
    state = object_state(memo)
    state.retry_at = 0.0
    state.request(SETTINGS.event_freshness_seconds)


@kopf.on.resume(*RESOURCE)
async def resume(memo: kopf.Memo, **_: Any) -> None:
    """Ask for a check of an existing object after a restart, sharing one listing per cluster."""
    object_state(memo).request(SETTINGS.observe_interval_seconds)


# A daemon rather than a Kopf timer: a timer logs every run at INFO, which at a tick of a few
# seconds and hundreds of objects would flood the log with lines that carry no information.
# NOTE: with 1000 objects, each daemon took 22 KB, the largest memory cost per object.
# One task ticking for all objects would save most of it, but it would have to pause itself
# when Kopf's peering pauses this operator, as Kopf does for daemons.
@kopf.daemon(*RESOURCE, cancellation_timeout=10.0)
async def observe(
    body: kopf.Body,
    memo: kopf.Memo,
    logger: kopf.Logger,
    stopped: kopf.DaemonStopped,
    **kwargs: Any,
) -> None:
    """Reconcile on the handlers' requests, and follow the pool at OVH every tick."""
    state = object_state(memo)
    stop = asyncio.ensure_future(stopped.wait())
    try:
        while not stopped:
            await state.rest(stop, SETTINGS.tick_seconds)
            if stopped:
                break
            await _observe_once(body, memo, logger, kwargs["pool_claims"])
    finally:
        stop.cancel()
        state.close()


async def _observe_once(
    body: kopf.Body,
    memo: kopf.Memo,
    logger: kopf.Logger,
    pool_claims: kopf.Index[ClaimKey, Claim],
) -> None:
    state = object_state(memo)
    reconciler = _reconciler(memo)
    requested_max_age = state.take_request()
    if requested_max_age is not None:
        claims = _claims(body, pool_claims)
        await reconciler.reconcile(
            body, state, logger, max_age=requested_max_age, force=True, claims=claims
        )
        return

    if state.lock.locked():
        return
    retrying = state.retry_at > 0.0
    if retrying and time.monotonic() < state.retry_at:
        return
    if retrying:
        state.retry_at = 0.0

    busy = SETTINGS.busy_interval_seconds
    max_age = busy if state.busy else SETTINGS.observe_interval_seconds
    claims = _claims(body, pool_claims)
    await reconciler.reconcile(body, state, logger, max_age=max_age, force=retrying, claims=claims)


@kopf.on.delete(*RESOURCE)
async def release(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Delete the OVH pool (deletionPolicy Delete) or leave it (Orphan), then release."""
    await finalize(_reconciler(memo).runtime, body, object_state(memo), logger)

    # NOTE: an object whose finalizer is removed by hand is never released here, so it stays
    # in the object counts until the operator restarts.
    metrics = memo.get("metrics")
    if isinstance(metrics, OperatorMetrics):
        metrics.forget(str(body.get("metadata", {}).get("uid", "")))


@kopf.on.probe(id="lastOvhSuccess")
def last_ovh_success(memo: kopf.Memo, **_: Any) -> str | None:
    """Report when an OVH call last succeeded, for the liveness endpoint."""
    reconciler = memo.get("reconciler")
    if not isinstance(reconciler, Reconciler):
        return None
    last = reconciler.runtime.last_ovh_success()
    return None if last is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last))
