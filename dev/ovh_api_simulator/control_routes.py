"""Control API under /_sim/: seed, inspect and change the state, inject faults, read the log.

It needs no authentication and returns {"error": message} on failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ovh_api_simulator import lifecycle
from ovh_api_simulator.errors import ApiError
from ovh_api_simulator.faults import FaultError
from ovh_api_simulator.model import Pool
from ovh_api_simulator.seed import SeedError
from ovh_api_simulator.serialize import node_json, pool_json
from ovh_api_simulator.settings import SettingsError
from ovh_api_simulator.simulator import SIMULATOR_KEY, Simulator
from ovh_api_simulator.validation import check_autoscaling, check_template

PATCHABLE_FIELDS = (
    "desiredNodes",
    "minNodes",
    "maxNodes",
    "autoscale",
    "autoscaling",
    "template",
    "status",
)


class ControlError(Exception):
    """An error of the control API, sent as {"error": message}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def add_routes(app: web.Application) -> None:
    """Register the /_sim/ routes."""
    app.router.add_post("/_sim/seed", _wrap(seed))
    app.router.add_post("/_sim/reset", _wrap(reset))
    app.router.add_get("/_sim/pools", _wrap(list_pools))
    app.router.add_get("/_sim/pools/{poolId}", _wrap(get_pool))
    app.router.add_patch("/_sim/pools/{poolId}", _wrap(patch_pool))
    app.router.add_delete("/_sim/pools/{poolId}", _wrap(delete_pool))
    app.router.add_post("/_sim/pools/{poolId}/autoscale", _wrap(autoscale_pool))
    app.router.add_post("/_sim/pools/{poolId}/settle", _wrap(settle_pool))
    app.router.add_post("/_sim/settle", _wrap(settle_all))
    app.router.add_post("/_sim/autoscaler", _wrap(set_autoscaler))
    app.router.add_get("/_sim/requests", _wrap(list_requests))
    app.router.add_delete("/_sim/requests", _wrap(clear_requests))
    app.router.add_post("/_sim/faults", _wrap(add_fault))
    app.router.add_get("/_sim/faults", _wrap(list_faults))
    app.router.add_delete("/_sim/faults", _wrap(clear_faults))
    app.router.add_delete("/_sim/faults/{faultId}", _wrap(delete_fault))
    app.router.add_get("/_sim/settings", _wrap(get_settings))
    app.router.add_post("/_sim/settings", _wrap(update_settings))


def control_pool_json(sim: Simulator, pool: Pool) -> dict[str, Any]:
    """Return the pool object plus kubeId and nodes; this is not counted as a client read."""
    found = sim.account.find_cluster(pool.kube_id)
    version = found[1].version if found else ""
    body = pool_json(pool)
    body["kubeId"] = pool.kube_id
    body["nodes"] = [node_json(pool, node, version) for node in pool.nodes]
    return body


async def seed(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/seed[?replace=true]: merge (or replace) the state with a seed document."""
    document = await _body(request)
    replace = request.query.get("replace", "false").lower() == "true"
    try:
        sim.seed(document, replace=replace)
    except (SeedError, SettingsError) as error:
        raise ControlError(400, f"invalid seed: {error}") from error
    return {"projects": len(sim.account.projects), "pools": len(sim.account.pools)}


async def reset(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/reset: clear state, faults and log; restore start-up settings."""
    sim.reset()
    return {"reset": True}


async def list_pools(request: web.Request, sim: Simulator) -> Any:
    """GET /_sim/pools."""
    return [control_pool_json(sim, pool) for pool in sim.account.pools.values()]


async def get_pool(request: web.Request, sim: Simulator) -> Any:
    """GET /_sim/pools/{poolId}."""
    return control_pool_json(sim, _pool(request, sim))


async def patch_pool(request: web.Request, sim: Simulator) -> Any:
    """PATCH /_sim/pools/{poolId}: change fields behind the client's back, without OVH's checks."""
    pool = _pool(request, sim)
    changes = await _body(request)
    unknown = set(changes) - set(PATCHABLE_FIELDS)
    if unknown:
        raise ControlError(
            400, f"fields {sorted(unknown)} cannot be patched; patchable: {list(PATCHABLE_FIELDS)}"
        )

    for key in ("minNodes", "maxNodes"):
        if key in changes:
            setattr(pool, "min_nodes" if key == "minNodes" else "max_nodes", _int(changes, key))
    if "autoscale" in changes:
        pool.autoscale = bool(changes["autoscale"])
    _patch_objects(pool, changes)
    if "status" in changes:
        pool.status_override = changes["status"]
    if "desiredNodes" in changes:
        lifecycle.resize(sim.account, pool, _int(changes, "desiredNodes"), sim.settings)
    pool.updated_at = time.time()
    return control_pool_json(sim, pool)


async def delete_pool(request: web.Request, sim: Simulator) -> Any:
    """DELETE /_sim/pools/{poolId}: remove the pool at once."""
    pool = _pool(request, sim)
    del sim.account.pools[pool.id]
    return {"deleted": pool.id}


async def autoscale_pool(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/pools/{poolId}/autoscale {"desiredNodes": n}: act as OVH's autoscaler."""
    pool = _pool(request, sim)
    if not pool.autoscale:
        raise ControlError(409, f"pool {pool.id} has autoscale disabled")
    if pool.deleting:
        raise ControlError(409, f"pool {pool.id} is being deleted")
    sim.autoscale(pool, _int(await _body(request), "desiredNodes"))
    return control_pool_json(sim, pool)


async def settle_pool(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/pools/{poolId}/settle: finish the pool's pending transitions now."""
    pool = _pool(request, sim)
    lifecycle.settle(sim.account, pool)
    if pool.id not in sim.account.pools:
        return {"deleted": pool.id}
    return control_pool_json(sim, pool)


async def settle_all(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/settle: finish every pending transition now."""
    for pool in list(sim.account.pools.values()):
        lifecycle.settle(sim.account, pool)
    return [control_pool_json(sim, pool) for pool in sim.account.pools.values()]


async def set_autoscaler(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/autoscaler {"intervalSeconds": x or null}: start or stop the scheduled walk."""
    body = await _body(request)
    _update_settings(sim, {"autoscalerIntervalSeconds": body.get("intervalSeconds")})
    return {"intervalSeconds": sim.settings.autoscaler_interval_seconds}


async def list_requests(request: web.Request, sim: Simulator) -> Any:
    """GET /_sim/requests[?since=unix-time]."""
    since = request.query.get("since")
    try:
        start = None if since is None else float(since)
    except ValueError as error:
        raise ControlError(400, f"since must be a Unix time in seconds, got {since!r}") from error
    return sim.log.since(start)


async def clear_requests(request: web.Request, sim: Simulator) -> Any:
    """DELETE /_sim/requests."""
    sim.log.entries.clear()
    return {"cleared": True}


async def add_fault(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/faults: register a fault; returns its id."""
    try:
        fault = sim.faults.add(await _body(request))
    except FaultError as error:
        raise ControlError(400, str(error)) from error
    return fault.to_json()


async def list_faults(request: web.Request, sim: Simulator) -> Any:
    """GET /_sim/faults: every fault, including used-up ones, with remaining and hit counts."""
    return [fault.to_json() for fault in sim.faults.faults]


async def clear_faults(request: web.Request, sim: Simulator) -> Any:
    """DELETE /_sim/faults."""
    sim.faults.faults.clear()
    return {"cleared": True}


async def delete_fault(request: web.Request, sim: Simulator) -> Any:
    """DELETE /_sim/faults/{faultId}."""
    fault_id = request.match_info["faultId"]
    if not sim.faults.remove(fault_id):
        raise ControlError(404, f"fault {fault_id} does not exist")
    return {"deleted": fault_id}


async def get_settings(request: web.Request, sim: Simulator) -> Any:
    """GET /_sim/settings."""
    return sim.settings.to_json()


async def update_settings(request: web.Request, sim: Simulator) -> Any:
    """POST /_sim/settings: change some settings; returns all of them."""
    _update_settings(sim, await _body(request))
    return sim.settings.to_json()


ControlHandler = Callable[[web.Request, Simulator], Awaitable[Any]]


def _wrap(handler: ControlHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def run(request: web.Request) -> web.Response:
        sim = request.app[SIMULATOR_KEY]
        sim.advance()
        try:
            result = await handler(request, sim)
        except ControlError as error:
            return web.json_response({"error": str(error)}, status=error.status)
        return web.json_response(result)

    return run


def _update_settings(sim: Simulator, changes: dict[str, Any]) -> None:
    try:
        sim.settings.update(changes)
    except SettingsError as error:
        raise ControlError(400, str(error)) from error


def _patch_objects(pool: Pool, changes: dict[str, Any]) -> None:
    try:
        if "autoscaling" in changes:
            pool.autoscaling = check_autoscaling(changes["autoscaling"], pool.autoscaling)
        if "template" in changes:
            pool.template = check_template(changes["template"])
    except ApiError as error:
        raise ControlError(400, str(error)) from error


async def _body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text:
        return {}
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise ControlError(400, f"invalid JSON body: {error}") from error
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _pool(request: web.Request, sim: Simulator) -> Pool:
    pool_id = request.match_info["poolId"]
    pool = sim.account.pools.get(pool_id)
    if pool is None:
        raise ControlError(404, f"pool {pool_id} does not exist")
    return pool


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ControlError(400, f"{key} must be an integer >= 0, got {value!r}")
    return value
