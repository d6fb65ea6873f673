"""Handlers of the OVH API routes; each runs after the middleware has authenticated the request."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from ovh_api_simulator import lifecycle, pools
from ovh_api_simulator.errors import bad_request, not_found, product_error
from ovh_api_simulator.model import Cluster, Pool, Project
from ovh_api_simulator.serialize import (
    cluster_json,
    flavor_json,
    node_json,
    pool_json,
    project_json,
)
from ovh_api_simulator.simulator import IDENTITY_KEY, RAW_BODY_KEY, SIMULATOR_KEY, Simulator

PROJECT = "/cloud/project/{serviceName}"
KUBE = PROJECT + "/kube/{kubeId}"
NODEPOOL = KUBE + "/nodepool/{nodePoolId}"


def json_response(body: Any, status: int = 200) -> web.Response:
    """Return a JSON response with the content type OVH sends."""
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", charset="utf-8"
    )


def no_content() -> web.Response:
    """Return the empty 204 response of PUT and DELETE."""
    return web.Response(status=204)


async def auth_time(request: web.Request) -> web.Response:
    """GET /auth/time: server Unix time in seconds."""
    return json_response(int(time.time()))


async def list_projects(request: web.Request) -> web.Response:
    """GET /cloud/project: ids of the projects the credential may reach."""
    sim = _sim(request)
    credential = request[IDENTITY_KEY].credential
    return json_response([pid for pid in sim.account.projects if credential.may_reach(pid)])


async def get_project(request: web.Request) -> web.Response:
    """GET /cloud/project/{serviceName}."""
    return json_response(project_json(_project(request)))


async def list_clusters(request: web.Request) -> web.Response:
    """GET .../kube: cluster ids."""
    return json_response(list(_project(request).clusters))


async def get_cluster(request: web.Request) -> web.Response:
    """GET .../kube/{kubeId}."""
    return json_response(cluster_json(_cluster(request)[1]))


async def list_flavors(request: web.Request) -> web.Response:
    """GET .../kube/{kubeId}/flavors."""
    _, cluster = _cluster(request)
    return json_response(
        [flavor_json(flavor) for flavor in _sim(request).account.cluster_flavors(cluster)]
    )


async def list_pools(request: web.Request) -> web.Response:
    """GET .../nodepool: full pool objects; counts as one read of each pool."""
    _, cluster = _cluster(request)
    found = _sim(request).account.cluster_pools(cluster.id)
    body = [pool_json(pool) for pool in found]
    for pool in found:
        lifecycle.observe(pool)
    return json_response(body)


async def create_pool(request: web.Request) -> web.Response:
    """POST .../nodepool: the new pool, in INSTALLING."""
    sim = _sim(request)
    project, cluster = _cluster(request)
    pool = pools.create_pool(sim.account, sim.settings, project, cluster, _json_body(request))
    return json_response(pool_json(pool))


async def get_pool(request: web.Request) -> web.Response:
    """GET .../nodepool/{nodePoolId}; counts as one read of the pool."""
    pool = _pool(request)
    body = pool_json(pool)
    lifecycle.observe(pool)
    return json_response(body)


async def update_pool(request: web.Request) -> web.Response:
    """PUT .../nodepool/{nodePoolId}: 204."""
    sim = _sim(request)
    project, _ = _cluster(request)
    pools.update_pool(sim.account, sim.settings, project, _pool(request), _json_body(request))
    return no_content()


async def delete_pool(request: web.Request) -> web.Response:
    """DELETE .../nodepool/{nodePoolId}: 204."""
    pools.delete_pool(_pool(request), _sim(request).settings)
    return no_content()


async def list_pool_nodes(request: web.Request) -> web.Response:
    """GET .../nodepool/{nodePoolId}/nodes; history=true lists deleted nodes instead."""
    _, cluster = _cluster(request)
    pool = _pool(request)
    return json_response(_nodes_json([pool], cluster, _history(request)))


async def list_cluster_nodes(request: web.Request) -> web.Response:
    """GET .../kube/{kubeId}/node: nodes of every pool."""
    _, cluster = _cluster(request)
    found = _sim(request).account.cluster_pools(cluster.id)
    return json_response(_nodes_json(found, cluster, _history(request)))


async def get_node(request: web.Request) -> web.Response:
    """GET .../kube/{kubeId}/node/{nodeId}."""
    _, cluster = _cluster(request)
    node_id = request.match_info["nodeId"]
    for item in _nodes_json(
        _sim(request).account.cluster_pools(cluster.id), cluster, history=False
    ):
        if item["id"] == node_id:
            return json_response(item)
    raise not_found(f"Node {node_id} does not exist in cluster {cluster.id}")


async def delete_node(request: web.Request) -> web.Response:
    """DELETE .../kube/{kubeId}/node/{nodeId}: 204; the pool's desiredNodes drops by one."""
    sim = _sim(request)
    _, cluster = _cluster(request)
    pools.delete_node(sim.account, sim.settings, cluster.id, request.match_info["nodeId"])
    return no_content()


async def capability_regions(request: web.Request) -> web.Response:
    """GET .../capabilities/kube/regions: region names."""
    _project(request)
    return json_response(sorted(_sim(request).account.regions))


async def capability_flavors(request: web.Request) -> web.Response:
    """GET .../capabilities/kube/flavors?region=X: flavors of a region."""
    _project(request)
    account = _sim(request).account
    region = request.query.get("region")
    if region is None:
        raise bad_request("Missing parameter 'region'")
    if region not in account.regions:
        raise bad_request(f"Invalid value for parameter 'region': region {region!r} does not exist")
    cluster = Cluster(id="", name="", region=region, version="")
    return json_response([flavor_json(flavor) for flavor in account.cluster_flavors(cluster)])


def add_routes(app: web.Application, prefix: str) -> None:
    """Register every OVH route under one base path (/1.0 or /v1)."""
    routes = [
        ("GET", "/auth/time", auth_time),
        ("GET", "/cloud/project", list_projects),
        ("GET", PROJECT, get_project),
        ("GET", PROJECT + "/kube", list_clusters),
        ("GET", KUBE, get_cluster),
        ("GET", KUBE + "/flavors", list_flavors),
        ("GET", KUBE + "/nodepool", list_pools),
        ("POST", KUBE + "/nodepool", create_pool),
        ("GET", NODEPOOL, get_pool),
        ("PUT", NODEPOOL, update_pool),
        ("DELETE", NODEPOOL, delete_pool),
        ("GET", NODEPOOL + "/nodes", list_pool_nodes),
        ("GET", KUBE + "/node", list_cluster_nodes),
        ("GET", KUBE + "/node/{nodeId}", get_node),
        ("DELETE", KUBE + "/node/{nodeId}", delete_node),
        ("GET", PROJECT + "/capabilities/kube/regions", capability_regions),
        ("GET", PROJECT + "/capabilities/kube/flavors", capability_flavors),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, prefix + path, handler)


def _sim(request: web.Request) -> Simulator:
    return request.app[SIMULATOR_KEY]


def _project(request: web.Request) -> Project:
    sim = _sim(request)
    service_name = request.match_info["serviceName"]
    project = sim.account.projects.get(service_name)
    if project is None:
        raise not_found("This service does not exist")

    if not request[IDENTITY_KEY].credential.may_reach(service_name):
        if sim.settings.forbidden_project_status == 403:
            raise product_error(
                403, f"This credential is not allowed to access project {service_name}"
            )
        raise not_found("This service does not exist")
    return project


def _cluster(request: web.Request) -> tuple[Project, Cluster]:
    project = _project(request)
    kube_id = request.match_info["kubeId"]
    cluster = project.clusters.get(kube_id)
    if cluster is None:
        raise not_found(f"Kubernetes cluster {kube_id} does not exist")
    return project, cluster


def _pool(request: web.Request) -> Pool:
    _, cluster = _cluster(request)
    pool_id = request.match_info["nodePoolId"]
    pool = _sim(request).account.pools.get(pool_id)
    if pool is None or pool.kube_id != cluster.id:
        raise not_found(f"Node pool {pool_id} does not exist")
    return pool


def _json_body(request: web.Request) -> dict[str, Any] | None:
    text = request[RAW_BODY_KEY]
    if not text:
        return None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise bad_request(f"Invalid JSON in request body: {error}") from error
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    return body


def _history(request: web.Request) -> bool:
    return request.query.get("history", "false").lower() == "true"


def _nodes_json(found: list[Pool], cluster: Cluster, history: bool) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for pool in found:
        nodes = pool.deleted_nodes if history else pool.nodes
        result.extend(node_json(pool, node, cluster.version) for node in nodes)
    return result
