"""Prometheus metrics of the operator, kept in a registry of its own.

Every label value comes from a small fixed set (route templates, HTTP methods, error reasons,
verdict states and reasons) or names a credential by its public identity. No label or value
contains a secret, an object name or a concrete OVH path.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from http.server import HTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ovh_nodepool_operator.clients.ovh_api import CallRecord
from ovh_nodepool_operator.domain.status import Verdict
from ovh_nodepool_operator.handlers.objects import is_paused

# Ready, Reconciling and Stalled exclude each other; Paused can be true next to any of them.
OBJECT_CONDITIONS = ("Ready", "Reconciling", "Stalled", "Paused")
# OVH calls usually take tens to hundreds of milliseconds, and the default timeout is 30 s.
DURATION_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - Prometheus scrapes the pod from outside.


class OperatorMetrics:
    """The operator's metrics and the observers that feed them.

    The observers run on the operator's event loop; prometheus-client makes the scrape from
    the HTTP server's thread safe.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ovh_requests = Counter(
            "ovhnp_ovh_requests",
            "OVH API calls by route template, method and outcome (ok, or the error reason).",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.ovh_request_duration = Histogram(
            "ovhnp_ovh_request_duration_seconds",
            "Duration of OVH API calls in seconds, without the wait for the rate limit.",
            ["route", "method"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.reconciles = Counter(
            "ovhnp_reconcile",
            "Reconciliations by resulting state (Ready, Reconciling, Stalled) and reason.",
            ["state", "reason"],
            registry=self.registry,
        )
        self.objects = Gauge(
            "ovhnp_objects",
            "OVHNodePool objects whose condition is true, from each object's last verdict.",
            ["condition"],
            registry=self.registry,
        )
        self.rate_limit_wait = Counter(
            "ovhnp_rate_limit_wait_seconds",
            "Seconds OVH calls waited for the client-side rate limit, by credential identity.",
            ["identity"],
            registry=self.registry,
        )
        self.last_ovh_success = Gauge(
            "ovhnp_last_ovh_success_timestamp_seconds",
            "Unix time of the last OVH API call that succeeded; 0 before the first one.",
            registry=self.registry,
        )
        for condition in OBJECT_CONDITIONS:
            self.objects.labels(condition=condition).set(0)
        self._conditions: dict[str, frozenset[str]] = {}
        self._server: HTTPServer | None = None

    def observe_call(self, record: CallRecord) -> None:
        """Count one finished OVH call and its duration."""
        route, method = record.route, record.method
        self.ovh_requests.labels(route=route, method=method, status=record.status).inc()
        self.ovh_request_duration.labels(route=route, method=method).observe(record.seconds)
        if record.status == "ok":
            self.last_ovh_success.set(time.time())

    def observe_wait(self, identity: str, seconds: float) -> None:
        """Add the seconds one OVH call waited for its credential's rate limit."""
        self.rate_limit_wait.labels(identity=identity).inc(seconds)

    def observe_verdict(self, body: Mapping[str, Any], verdict: Verdict) -> None:
        """Count a reconciliation and move the object to the conditions of its verdict."""
        self.reconciles.labels(state=verdict.state, reason=verdict.reason).inc()

        metadata = body.get("metadata") or {}
        uid = str(metadata.get("uid") or "")
        if not uid:
            return
        annotations = metadata.get("annotations") or {}
        paused = is_paused(annotations)
        conditions = {verdict.state, "Paused"} if paused else {verdict.state}
        self._move(uid, frozenset(conditions))

    def forget(self, uid: str) -> None:
        """Stop counting an object that no longer exists."""
        self._move(uid, frozenset())

    def serve(self, port: int, address: str = ALL_INTERFACES) -> None:
        """Serve `/metrics` over HTTP on a background thread; raise OSError if the port is taken."""
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        self._server = server

    def close(self) -> None:
        """Stop the HTTP server, if it runs."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _move(self, uid: str, conditions: frozenset[str]) -> None:
        before = self._conditions.get(uid, frozenset())
        for condition in before - conditions:
            self.objects.labels(condition=condition).dec()
        for condition in conditions - before:
            self.objects.labels(condition=condition).inc()

        if conditions:
            self._conditions[uid] = conditions
        else:
            self._conditions.pop(uid, None)
