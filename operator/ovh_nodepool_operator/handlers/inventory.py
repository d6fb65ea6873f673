"""Credentials and OVH reads of the command-line helpers `check` and `export`.

The helpers use the operator's clients, rate limit and timeout, and never write to OVH.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ovh_nodepool_operator.clients.credentials import Credentials, credentials_from_mapping
from ovh_nodepool_operator.clients.endpoint import validate_endpoint
from ovh_nodepool_operator.clients.kube import KubeApi, load_configuration
from ovh_nodepool_operator.clients.ovh_api import OvhApi
from ovh_nodepool_operator.clients.ratelimit import TokenBucket
from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.models import OvhCluster, OvhPool
from ovh_nodepool_operator.settings import OperatorSettings

# Errors that no other project or cluster would escape: the helpers stop at the first one.
CREDENTIAL_ERRORS = (errors.InvalidCredentialsError, errors.CredentialsConfigError)


@dataclass(frozen=True)
class ClusterInventory:
    """One MKS cluster and its node pools, or the error that hid them."""

    project_id: str
    kube_id: str
    cluster: OvhCluster | None
    pools: tuple[OvhPool, ...]
    error: errors.OperatorError | None = None


@dataclass(frozen=True)
class ProjectInventory:
    """One Public Cloud project and its clusters, or the error that hid them."""

    project_id: str
    clusters: tuple[ClusterInventory, ...]
    error: errors.OperatorError | None = None


def credentials_from_file(path: Path) -> Credentials:
    """Read credentials from a YAML or JSON file.

    The file contains either the keys of a credentials Secret (`endpoint`, `applicationKey`, …)
    or a whole Secret manifest, whose `data` is base64 and whose `stringData` wins over it.
    Error messages name the file and the key, never a value.
    """
    try:
        text = path.read_text()
    except OSError as error:
        raise errors.CredentialsConfigError(
            f"Cannot read the credentials file {path}: {error.strerror}."
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        # The parser's message quotes the offending line, which may hold a secret.
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise errors.CredentialsConfigError(
            f"The credentials file {path} is not valid YAML or JSON{where}."
        ) from None
    if not isinstance(document, Mapping):
        raise errors.CredentialsConfigError(
            f"The credentials file {path} must contain a mapping of Secret keys or a Secret."
        )

    keys = _secret_keys(document, path) if document.get("kind") == "Secret" else document
    data = {str(key): str(value) for key, value in keys.items() if value is not None}
    return _checked(credentials_from_mapping(data, source=f"The credentials file {path}"))


async def credentials_from_secret(namespace: str, name: str) -> Credentials:
    """Read credentials from a Kubernetes Secret, with the KUBECONFIG or in-cluster account."""
    try:
        load_configuration()
    except Exception as error:  # kubernetes raises its ConfigException, OSError and others.
        raise errors.CredentialsConfigError(
            f"Cannot load a Kubernetes configuration to read Secret {namespace}/{name}: "
            f"{str(error).rstrip('.')}. Set KUBECONFIG, or pass --secret-file."
        ) from None
    try:
        data = await KubeApi(threads=1).read_secret(namespace, name)
    except errors.SecretNotFoundError:
        raise errors.CredentialsConfigError(
            f"Secret {namespace}/{name} does not exist: check the namespace and the name."
        ) from None
    return _checked(credentials_from_mapping(data, source=f"Secret {namespace}/{name}"))


def credentials_from_settings(settings: OperatorSettings) -> Credentials:
    """Return the credentials of the `OVH_*` environment variables, as the operator reads them."""
    keys = settings.default_credential_keys()
    if not keys:
        raise errors.CredentialsConfigError(
            "No OVH credentials given: pass --secret-file or --secret, or set OVH_ENDPOINT "
            "with OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and OVH_CONSUMER_KEY (or "
            "OVH_CLIENT_ID and OVH_CLIENT_SECRET)."
        )
    return _checked(credentials_from_mapping(keys, source="The environment"))


def build_api(credentials: Credentials, settings: OperatorSettings) -> OvhApi:
    """Return an OVH client with the operator's rate limit and timeout."""
    bucket = TokenBucket(settings.rate_limit_per_second, settings.rate_limit_burst)
    return OvhApi(credentials, bucket=bucket, timeout=settings.request_timeout_seconds)


async def fetch_cluster(api: OvhApi, project_id: str, kube_id: str) -> ClusterInventory:
    """Return one cluster and its pools; raise the taxonomy's error when either read fails."""
    cluster = await api.get_cluster(project_id, kube_id)
    pools = await api.list_pools(project_id, kube_id)
    return ClusterInventory(project_id, kube_id, cluster, tuple(pools))


async def collect_inventory(api: OvhApi) -> list[ProjectInventory]:
    """Return every project, cluster and pool the credentials reach.

    Credential errors and a failed project listing are raised. A project or cluster that fails
    to read is kept with its error, so one unreachable cluster hides nothing else.
    """
    project_ids = await api.list_projects()
    return list(await asyncio.gather(*(_project(api, pid) for pid in project_ids)))


async def _project(api: OvhApi, project_id: str) -> ProjectInventory:
    try:
        kube_ids = await api.list_clusters(project_id)
    except CREDENTIAL_ERRORS:
        raise
    except errors.OperatorError as error:
        return ProjectInventory(project_id, (), error)

    clusters = await asyncio.gather(*(_cluster(api, project_id, kid) for kid in kube_ids))
    return ProjectInventory(project_id, tuple(clusters))


async def _cluster(api: OvhApi, project_id: str, kube_id: str) -> ClusterInventory:
    try:
        return await fetch_cluster(api, project_id, kube_id)
    except CREDENTIAL_ERRORS:
        raise
    except errors.OperatorError as error:
        return ClusterInventory(project_id, kube_id, None, (), error)


def _secret_keys(secret: Mapping[str, Any], path: Path) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            keys[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise errors.CredentialsConfigError(
                f"The Secret in {path} has a data.{key} that is not base64 of UTF-8 text."
            ) from None
    keys.update(secret.get("stringData") or {})
    return keys


def _checked(credentials: Credentials) -> Credentials:
    validate_endpoint(credentials.endpoint)
    return credentials
