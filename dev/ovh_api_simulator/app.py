"""aiohttp application: middleware for OVH routes (faults, log, auth, query id) and start-up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from ovh_api_simulator import control_routes, ovh_routes
from ovh_api_simulator.auth import authenticate, issue_token
from ovh_api_simulator.errors import ApiError, bad_request, product_error
from ovh_api_simulator.faults import Fault, log_entry
from ovh_api_simulator.settings import Settings
from ovh_api_simulator.simulator import (
    IDENTITY_KEY,
    LOG_ENTRY_KEY,
    RAW_BODY_KEY,
    SIMULATOR_KEY,
    Simulator,
)

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIXES = ("/1.0", "/v1")
OAUTH2_ROUTE = "/auth/oauth2/token"
PUBLIC_ROUTES = frozenset({"/auth/time", OAUTH2_ROUTE})
CONTROL_PREFIX = "/_sim/"
AUTOSCALER_TICK_SECONDS = 0.05


class DroppedConnectionError(Exception):
    """Raised after a fault closed the client connection without sending a response."""


def create_app(
    settings: Settings | None = None, seed: dict[str, Any] | None = None
) -> web.Application:
    """Build the simulator application with its state, routes and autoscaler task."""
    app = web.Application(middlewares=[ovh_middleware], client_max_size=16 * 1024 * 1024)
    app[SIMULATOR_KEY] = Simulator(settings, seed)
    for prefix in API_PREFIXES:
        ovh_routes.add_routes(app, prefix)
    app.router.add_post(OAUTH2_ROUTE, oauth2_token)
    control_routes.add_routes(app)
    app.cleanup_ctx.append(_autoscaler_task)
    return app


def route_template(request: web.Request) -> str | None:
    """Return the matched route without its base path, e.g. /cloud/project/{serviceName}."""
    resource = request.match_info.route.resource
    if resource is None or request.match_info.http_exception is not None:
        return None
    canonical = resource.canonical
    for prefix in API_PREFIXES:
        if canonical.startswith(prefix + "/"):
            return canonical[len(prefix) :]
    return canonical


@web.middleware
async def ovh_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply faults, log, authentication and the X-Ovh-Queryid header to every OVH route."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)

    sim = request.app[SIMULATOR_KEY]
    route = route_template(request)
    query_id = sim.next_query_id()
    entry = log_entry(request.method, request.raw_path, route, query_id)
    entry["applicationKey"] = request.headers.get("X-Ovh-Application")
    sim.log.add(entry)

    try:
        response = await _serve(request, handler, sim, route, entry)
    except ApiError as error:
        logger.debug(
            "%s %s -> %d %s (query %s)", request.method, request.path, error.status, error, query_id
        )
        response = _error_response(error)
    except DroppedConnectionError:
        logger.info(
            "fault closed the connection of %s %s (query %s)",
            request.method,
            request.path,
            query_id,
        )
        raise web.HTTPException() from None

    entry["status"] = response.status
    response.headers["X-Ovh-Queryid"] = query_id
    return response


async def oauth2_token(request: web.Request) -> web.Response:
    """POST /auth/oauth2/token: OAuth2 client-credentials grant."""
    sim = request.app[SIMULATOR_KEY]
    body = request[RAW_BODY_KEY]
    token = issue_token(body, request.headers.get("Authorization", ""), sim.account, sim.settings)
    request[LOG_ENTRY_KEY]["clientId"] = token.client_id
    return ovh_routes.json_response(
        {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_in": int(sim.settings.token_lifetime_seconds),
            "scope": "all",
        }
    )


async def _serve(
    request: web.Request, handler: Handler, sim: Simulator, route: str | None, entry: dict[str, Any]
) -> web.StreamResponse:
    # Read the whole request first, as a slow server does: a client that goes away during an
    # injected delay has still sent its request, which the simulator then carries out.
    raw_body = await request.text()
    fault = sim.faults.take(request.method, route)
    if fault is not None:
        entry["fault"] = fault.kind
        early = await _apply_fault(request, fault)
        if early is not None:
            return early

    if route is None:
        raise _unmatched_route_error(request)

    request[RAW_BODY_KEY] = raw_body
    request[LOG_ENTRY_KEY] = entry
    if route not in PUBLIC_ROUTES:
        _authenticate(request, sim, raw_body, entry)
    if request.method in ("GET", "DELETE") and raw_body:
        raise bad_request("You provided an input body while none was expected")

    sim.advance()
    return await handler(request)


def _authenticate(
    request: web.Request, sim: Simulator, raw_body: str, entry: dict[str, Any]
) -> None:
    headers = {key.lower(): value for key, value in request.headers.items()}
    entry["applicationKey"] = headers.get("x-ovh-application")
    url = f"{request.scheme}://{request.host}{request.raw_path}"
    identity = authenticate(
        headers, request.method, url, raw_body, account=sim.account, settings=sim.settings
    )
    entry["clientId"] = identity.client_id
    request[IDENTITY_KEY] = identity


async def _apply_fault(request: web.Request, fault: Fault) -> web.StreamResponse | None:
    """Carry out a fault; return the response to send instead of the real one, or None."""
    if fault.kind == "latency":
        await asyncio.sleep(fault.seconds)
        return None
    if fault.kind == "status":
        raise product_error(fault.status, f"Injected fault: HTTP {fault.status}")
    if fault.kind == "rate_limit":
        error = product_error(429, "Too many requests, retry later")
        error.headers["Retry-After"] = str(fault.retry_after)
        raise error
    if fault.kind == "malformed":
        return web.Response(
            status=200, text='{"truncated": [1, 2', content_type="application/json", charset="utf-8"
        )

    if fault.kind == "timeout":
        await asyncio.sleep(fault.seconds)
    if request.transport is not None:
        request.transport.close()
    raise DroppedConnectionError


def _unmatched_route_error(request: web.Request) -> ApiError:
    exception = request.match_info.http_exception
    if isinstance(exception, web.HTTPMethodNotAllowed):
        return product_error(405, f"Method {request.method} is not allowed on {request.path}")
    return product_error(404, "Got an invalid (or empty) URL")


def _error_response(error: ApiError) -> web.Response:
    response = web.Response(
        status=error.status,
        text=json.dumps(error.body),
        content_type="application/json",
        charset="utf-8",
    )
    response.headers.update(error.headers)
    return response


async def _autoscaler_task(app: web.Application) -> AsyncIterator[None]:
    """Run the scheduled autoscaler while the application is up."""
    task = asyncio.create_task(_autoscaler_loop(app[SIMULATOR_KEY]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _autoscaler_loop(sim: Simulator) -> None:
    last_run = time.monotonic()
    while True:
        await asyncio.sleep(AUTOSCALER_TICK_SECONDS)
        interval = sim.settings.autoscaler_interval_seconds
        now = time.monotonic()
        if interval is None:
            last_run = now
        elif now - last_run >= interval:
            last_run = now
            sim.autoscale_step()
