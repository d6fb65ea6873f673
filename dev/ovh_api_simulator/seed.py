"""Seed documents (YAML or JSON) that describe credentials, regions, flavors, projects and pools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ovh_api_simulator import lifecycle
from ovh_api_simulator.errors import ApiError
from ovh_api_simulator.model import (
    Account,
    Cluster,
    Credential,
    Flavor,
    Project,
    Region,
    new_id,
)
from ovh_api_simulator.pools import build_pool
from ovh_api_simulator.settings import Settings, SettingsError
from ovh_api_simulator.validation import parse_create

SEED_KEYS = ("credentials", "regions", "flavors", "projects", "pools", "settings")


class SeedError(ValueError):
    """Raised when a seed document is invalid; the message names the entry."""


def load_seed_file(path: str | Path) -> dict[str, Any]:
    """Read a seed file; JSON when the name ends in .json, YAML otherwise."""
    text = Path(path).read_text(encoding="utf-8")
    document = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SeedError(f"seed file {path} must contain a mapping at the top level")
    return document


def apply_seed(account: Account, settings: Settings, document: dict[str, Any]) -> None:
    """Merge a seed document into the account; entries with an existing id or name replace it."""
    unknown = set(document) - set(SEED_KEYS)
    if unknown:
        raise SeedError(f"unknown seed keys {sorted(unknown)}; expected some of {list(SEED_KEYS)}")

    try:
        settings.update(document.get("settings") or {})
    except SettingsError as error:
        raise SeedError(str(error)) from error

    for item in document.get("credentials") or []:
        _add_credential(account, item)
    for item in document.get("regions") or []:
        region = _region(item)
        account.regions[region.name] = region
    for item in document.get("flavors") or []:
        flavor = _flavor(item)
        account.flavors[flavor.name] = flavor
    for item in document.get("projects") or []:
        _add_project(account, item)
    for item in document.get("pools") or []:
        _add_pool(account, settings, item)


def _add_credential(account: Account, item: dict[str, Any]) -> None:
    projects = item.get("projects", ["*"])
    if not isinstance(projects, list):
        raise SeedError(f"credential projects must be a list, got {projects!r}")
    credential = Credential(
        projects=[str(project) for project in projects],
        application_key=item.get("applicationKey"),
        application_secret=item.get("applicationSecret"),
        consumer_key=item.get("consumerKey"),
        client_id=item.get("clientId"),
        client_secret=item.get("clientSecret"),
        revoked=bool(item.get("revoked", False)),
    )
    signed = (
        credential.application_key and credential.application_secret and credential.consumer_key
    )
    oauth2 = credential.client_id and credential.client_secret
    if not signed and not oauth2:
        raise SeedError(
            "a credential needs applicationKey, applicationSecret and consumerKey, "
            "or clientId and clientSecret"
        )

    account.credentials = [
        cred for cred in account.credentials if not _same_credential(cred, credential)
    ]
    account.credentials.append(credential)


def _same_credential(left: Credential, right: Credential) -> bool:
    if left.client_id is not None and left.client_id == right.client_id:
        return True
    return left.application_key is not None and (left.application_key, left.consumer_key) == (
        right.application_key,
        right.consumer_key,
    )


def _region(item: dict[str, Any]) -> Region:
    zones = list(item.get("availabilityZones") or [])
    return Region(
        name=str(_required(item, "name", "region")),
        availability_zones=zones,
        require_availability_zones=bool(item.get("requireAvailabilityZones", bool(zones))),
        flavors=item.get("flavors"),
    )


def _flavor(item: dict[str, Any]) -> Flavor:
    return Flavor(
        name=str(_required(item, "name", "flavor")),
        category=str(item.get("category", "b")),
        vcpus=int(item.get("vCPUs", 2)),
        ram=int(item.get("ram", 8)),
        gpus=int(item.get("gpus", 0)),
        state=str(item.get("state", "available")),
    )


def _add_project(account: Account, item: dict[str, Any]) -> None:
    project_id = str(_required(item, "id", "project"))
    project = account.projects.get(project_id) or Project(id=project_id)
    project.description = item.get("description", project.description)
    quota = item.get("quota") or {}
    project.max_nodes = quota.get("maxNodes", project.max_nodes)

    for cluster_item in item.get("clusters") or []:
        cluster = Cluster(
            id=str(cluster_item.get("id") or new_id()),
            name=str(_required(cluster_item, "name", "cluster")),
            region=str(_required(cluster_item, "region", "cluster")),
            version=str(cluster_item.get("version", "1.32")),
        )
        if cluster.region not in account.regions:
            account.regions[cluster.region] = Region(name=cluster.region)
        project.clusters[cluster.id] = cluster
    account.projects[project_id] = project


def _add_pool(account: Account, settings: Settings, item: dict[str, Any]) -> None:
    fields = dict(item)
    pool_id = str(fields.pop("id", None) or new_id())
    kube_id = str(fields.pop("kubeId", ""))
    project_id = fields.pop("projectId", None)
    status = fields.pop("status", None)
    found = account.find_cluster(kube_id)
    if found is None or (project_id is not None and found[0].id != project_id):
        raise SeedError(
            f"pool {item.get('name')!r}: cluster {kube_id!r} is not in the seed projects"
        )

    try:
        pool = build_pool(found[0].id, kube_id, pool_id, parse_create(fields), settings)
    except ApiError as error:
        raise SeedError(f"pool {item.get('name')!r}: {error}") from error

    account.pools[pool.id] = pool
    desired = pool.desired_nodes
    pool.desired_nodes = 0
    lifecycle.resize(account, pool, desired, settings)
    lifecycle.settle(account, pool)
    pool.installing = False
    pool.status_override = status


def _required(item: dict[str, Any], key: str, kind: str) -> Any:
    if key not in item or item[key] is None:
        raise SeedError(f"{kind} entry {item!r} is missing {key!r}")
    return item[key]
