"""Kopf handler registrations. Each handler parses its input and calls the reconciler.

`kopf run -m ovh_nodepool_operator.handlers.operator` loads this module; the CLI's `run` command
does that with the settings' flags.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from typing import Any, cast

import kopf

from ovh_nodepool_operator.clients.endpoint import detach_library_configuration
from ovh_nodepool_operator.clients.kube import KubeApi, load_configuration
from ovh_nodepool_operator.clients.kube_session import pooled_session
from ovh_nodepool_operator.clients.logs import silence_secret_bearing_loggers
from ovh_nodepool_operator.domain.models import API_GROUP, API_VERSION, PLURAL
from ovh_nodepool_operator.handlers.deletion import finalize
from ovh_nodepool_operator.handlers.metrics import OperatorMetrics
from ovh_nodepool_operator.handlers.objects import Claim, ClaimKey, claim_of
from ovh_nodepool_operator.handlers.peering import PeeringGate
from ovh_nodepool_operator.handlers.reconcile import Reconciler
from ovh_nodepool_operator.handlers.runtime import CredentialStore, Runtime
from ovh_nodepool_operator.handlers.state import ObjectState, object_state
from ovh_nodepool_operator.handlers.ticker import (
    Gate,
    Job,
    OpenGate,
    Ticker,
    Tracked,
    tick_job,
)
from ovh_nodepool_operator.handlers.waits import install_planned_wait_filter
from ovh_nodepool_operator.settings import OperatorSettings

SETTINGS = OperatorSettings()
RESOURCE = (API_GROUP, API_VERSION, PLURAL)
FINALIZER = f"{API_GROUP}/finalizer"
KOPF_PREFIX = f"kopf.{API_GROUP}"
WORKER_THREADS = 8
# Requests that run at once, and as many ticks. The others wait as entries in the queues.
RECONCILE_SLOTS = 32


@kopf.on.startup()
async def configure(
    settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
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
    # Kopf hands the same index objects to every handler, the startup one included.
    memo["pool_claims"] = kwargs["pool_claims"]
    gate = _build_gate(settings, loop)
    memo["gate"] = gate
    memo["ticker"] = _build_ticker(memo, settings, gate)

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


def _build_gate(settings: kopf.OperatorSettings, loop: asyncio.AbstractEventLoop) -> Gate:
    peering = settings.peering
    if peering.standalone:
        return OpenGate()
    if not peering.clusterwide and not SETTINGS.namespaces:
        raise kopf.PermanentError(
            "Kopf peering in namespaced mode needs the namespaces: set OVHNP_NAMESPACES to "
            "those of the --namespace options, or run the operator with --standalone."
        )
    gate = PeeringGate(
        name=peering.name,
        namespaces=None if peering.clusterwide else SETTINGS.namespaces,
        priority=peering.priority,
        mandatory=peering.mandatory,
        loop=loop,
    )
    gate.start()
    return gate


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    """Stop the ticker, the peering followers and the metrics HTTP server."""
    ticker = memo.get("ticker")
    if isinstance(ticker, Ticker):
        await ticker.stop()
    gate = memo.get("gate")
    if isinstance(gate, PeeringGate):
        gate.stop()
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


def _ticker(memo: kopf.Memo) -> Ticker:
    ticker = memo["ticker"]
    assert isinstance(ticker, Ticker)
    return ticker


def _uid(body: kopf.Body) -> str:
    return str(body.get("metadata", {}).get("uid", ""))


# An index handler, because Kopf calls it on every event of the object and, unlike an event
# handler, logs no line for it. It keeps the ticker's copy of the object current.
@kopf.index(*RESOURCE)
async def followed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> dict[str, None]:
    """Give the ticker the object's current body."""
    ticker = _ticker(memo)
    ticker.track(_uid(body), object_state(memo), body)
    ticker.start()
    return {}


@kopf.on.event(*RESOURCE, when=lambda type, **_: type == "DELETED")
async def forget(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Stop following a deleted object, also one whose finalizer was removed by hand."""
    _ticker(memo).forget(_uid(body))


# The create, update and resume handlers only hand the work to the ticker. A handler that
# waited for its OVH calls would hold a Kopf worker, a copy of the body and its context for as
# long as the rate limit makes it wait. With 1000 objects created at once, that is minutes and
# tens of megabytes.
@kopf.on.create(*RESOURCE)
@kopf.on.update(*RESOURCE)
async def apply_spec(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Ask for a reconcile at once, with a listing at most a few seconds old."""
    _request(body, memo, SETTINGS.event_freshness_seconds)


@kopf.on.resume(*RESOURCE)
async def resume(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Ask for a check of an existing object after a restart, sharing one listing per cluster."""
    _request(body, memo, SETTINGS.observe_interval_seconds)


def _request(body: kopf.Body, memo: kopf.Memo, max_age: float) -> None:
    ticker = _ticker(memo)
    # The forced reconcile clears a pending retry when it runs.
    ticker.track(_uid(body), object_state(memo), body)
    ticker.request(_uid(body), max_age)
    ticker.start()


def _build_ticker(memo: kopf.Memo, kopf_settings: kopf.OperatorSettings, gate: Gate) -> Ticker:
    reconciler = _reconciler(memo)

    async def run(tracked: Tracked, job: Job) -> None:
        body = kopf.Body(cast(kopf.RawBody, tracked.body))
        logger = kopf.ObjectLogger(body=body, settings=kopf_settings)
        if job.force:
            tracked.state.retry_at = 0.0
        claims = _claims(body, memo["pool_claims"])
        await reconciler.reconcile(
            body, tracked.state, logger, max_age=job.max_age(), force=job.force, claims=claims
        )

    def tick(state: ObjectState) -> Job | None:
        return tick_job(
            state,
            busy_seconds=SETTINGS.busy_interval_seconds,
            observe_seconds=SETTINGS.observe_interval_seconds,
        )

    return Ticker(
        run=run, tick_job=tick, gate=gate, tick_seconds=SETTINGS.tick_seconds, slots=RECONCILE_SLOTS
    )


@kopf.on.delete(*RESOURCE)
async def release(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Delete the OVH pool (deletionPolicy Delete) or leave it (Orphan), then release."""
    _ticker(memo).halt(_uid(body))
    await finalize(_reconciler(memo).runtime, body, object_state(memo), logger)

    # NOTE: an object whose finalizer is removed by hand is never released here, so it stays
    # in the object counts until the operator restarts.
    metrics = memo.get("metrics")
    if isinstance(metrics, OperatorMetrics):
        metrics.forget(_uid(body))


@kopf.on.probe(id="lastOvhSuccess")
def last_ovh_success(memo: kopf.Memo, **_: Any) -> str | None:
    """Report when an OVH call last succeeded, for the liveness endpoint."""
    reconciler = memo.get("reconciler")
    if not isinstance(reconciler, Reconciler):
        return None
    last = reconciler.runtime.last_ovh_success()
    return None if last is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last))
