"""The `ovh-nodepool-operator` command: the operator itself and two day-one helpers.

`check` lists what a set of OVH credentials reaches, and `export` prints OVHNodePool manifests
that adopt the existing pools of a cluster. Both only read from OVH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from ovh_nodepool_operator import __version__
from ovh_nodepool_operator.clients.credentials import Credentials
from ovh_nodepool_operator.clients.endpoint import detach_library_configuration
from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.export import ExportOptions, render_manifests
from ovh_nodepool_operator.handlers.inventory import (
    CREDENTIAL_ERRORS,
    ClusterInventory,
    ProjectInventory,
    build_api,
    collect_inventory,
    credentials_from_file,
    credentials_from_secret,
    credentials_from_settings,
    fetch_cluster,
)
from ovh_nodepool_operator.settings import OperatorSettings

HANDLERS_MODULE = "ovh_nodepool_operator.handlers.operator"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID_CREDENTIALS = 2

CHECK_COLUMNS = (
    "PROJECT",
    "CLUSTER ID",
    "CLUSTER NAME",
    "REGION",
    "POOL",
    "FLAVOR",
    "DESIRED/CURRENT",
    "STATUS",
    "AUTOSCALE",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="ovh-nodepool-operator",
        description="Manage OVHcloud Managed Kubernetes node pools as OVHNodePool objects.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="run the operator (settings come from OVHNP_* environment variables)",
    )
    run.add_argument("--verbose", action="store_true", help="log at DEBUG level")

    check = commands.add_parser(
        "check",
        help="check OVH credentials and list the clusters and node pools they reach",
        description="Check OVH credentials and list every project, cluster and node pool they "
        "reach. Exit status: 0 when everything was read, 1 when an OVH call failed, 2 when "
        "the credentials are invalid or incomplete.",
    )
    _add_credential_options(check)
    check.add_argument(
        "--output",
        choices=("table", "json"),
        default="table",
        help="output format (default: table)",
    )

    export = commands.add_parser(
        "export",
        help="print OVHNodePool manifests that adopt the existing node pools of a cluster",
        description="Print one OVHNodePool manifest per node pool of a cluster, as YAML "
        "documents. Each carries the adopt annotation with the pool id and a spec equal to the "
        "live pool, so applying them adopts the pools without any write to OVH.",
    )
    _add_credential_options(export)
    export.add_argument("--project", required=True, help="Public Cloud project id (serviceName)")
    export.add_argument("--kube", required=True, help="Managed Kubernetes cluster id")
    export.add_argument("--namespace", help="metadata.namespace of the objects (default: unset)")
    export.add_argument(
        "--secret-name",
        help="set spec.credentialsSecretRef to this Secret (default: the operator's credentials)",
    )
    export.add_argument(
        "--name-prefix", default="", help="prefix of the object names, before the pool name"
    )
    export.add_argument(
        "--deletion-policy",
        choices=("Delete", "Orphan"),
        help="set spec.deletionPolicy (default: unset, which the API server makes Delete)",
    )
    return parser


def _add_credential_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--secret-file",
        type=Path,
        metavar="FILE",
        help="YAML or JSON file with the keys of a credentials Secret, or a Secret manifest",
    )
    source.add_argument(
        "--secret",
        metavar="NAMESPACE/NAME",
        type=_secret_reference,
        help="read the credentials from this Kubernetes Secret, using KUBECONFIG",
    )
    parser.epilog = (
        "Without --secret-file or --secret, the credentials come from OVH_ENDPOINT, "
        "OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and OVH_CONSUMER_KEY (or OVH_CLIENT_ID "
        "and OVH_CLIENT_SECRET), as for the operator."
    )


def _secret_reference(value: str) -> tuple[str, str]:
    namespace, _, name = value.partition("/")
    if not namespace or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"expected NAMESPACE/NAME, got {value!r}")
    return namespace, name


def kopf_arguments() -> list[str]:
    """Return the `kopf run` arguments that the settings imply."""
    settings = OperatorSettings()
    arguments = ["run", "-m", HANDLERS_MODULE, f"--log-format={settings.log_format}"]
    if settings.namespaces:
        arguments += [f"--namespace={namespace}" for namespace in settings.namespaces]
    else:
        arguments.append("--all-namespaces")
    if settings.peering:
        # Kopf pauses every operator of a peering when two share a priority, so replicas that
        # start with the same settings each draw their own priority unless one is set.
        priority = settings.peering_priority or secrets.randbelow(1_000_000) + 1
        arguments += [f"--peering={settings.peering}", f"--priority={priority}"]
    else:
        arguments.append("--standalone")
    if settings.health_port:
        arguments.append(f"--liveness=http://0.0.0.0:{settings.health_port}/healthz")
    if settings.log_level == "DEBUG":
        arguments.append("--debug")
    elif settings.log_level in ("WARNING", "ERROR"):
        arguments.append("--quiet")
    return arguments


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        import kopf.cli  # noqa: PLC0415 - Kopf loads only for the operator itself.

        arguments = kopf_arguments()
        if args.verbose:
            arguments.append("--verbose")
        return int(kopf.cli.main(args=arguments, standalone_mode=False) or 0)

    # Read the OVH_* variables before python-ovh is cut off from them.
    settings = OperatorSettings()
    detach_library_configuration()
    if args.command == "check":
        return asyncio.run(check(args, settings, sys.stdout))
    if args.command == "export":
        return asyncio.run(export(args, settings, sys.stdout))
    return EXIT_FAILED


async def check(args: argparse.Namespace, settings: OperatorSettings, out: TextIO) -> int:
    """List what the credentials reach; return the exit status."""
    try:
        credentials = await _credentials(args, settings)
        projects = await collect_inventory(build_api(credentials, settings))
    except errors.OperatorError as error:
        return _fail(error, args.output == "json", out)

    if args.output == "json":
        document = {
            "identity": credentials.identity,
            "projects": [_project_json(project) for project in projects],
        }
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        _write_check_table(credentials, projects, out)

    failures = _inventory_errors(projects)
    for where, failure in failures:
        _warn(f"{where}: {failure.describe()}")
    return EXIT_FAILED if failures else EXIT_OK


async def export(args: argparse.Namespace, settings: OperatorSettings, out: TextIO) -> int:
    """Print adopting manifests for every pool of one cluster; return the exit status."""
    try:
        credentials = await _credentials(args, settings)
        cluster = await fetch_cluster(build_api(credentials, settings), args.project, args.kube)
    except errors.OperatorError as error:
        return _fail(error, False, out)

    options = ExportOptions(
        project_id=args.project,
        kube_id=args.kube,
        namespace=args.namespace,
        secret_name=args.secret_name,
        name_prefix=args.name_prefix,
        deletion_policy=args.deletion_policy,
    )
    manifests = render_manifests(cluster.pools, options)
    if not manifests:
        _warn(f"Cluster {args.kube} of project {args.project} has no node pools.")
        return EXIT_OK

    name = cluster.cluster.name if cluster.cluster is not None else args.kube
    out.write(
        f"# {len(manifests)} node pool(s) of cluster {name} ({args.kube}), project "
        f"{args.project}.\n# Applying these objects adopts each pool by the id in its adopt "
        "annotation, with no write to OVH.\n"
    )
    out.write(yaml.safe_dump_all(manifests, sort_keys=False, explicit_start=True))
    return EXIT_OK


async def _credentials(args: argparse.Namespace, settings: OperatorSettings) -> Credentials:
    if args.secret_file is not None:
        return credentials_from_file(args.secret_file)
    if args.secret is not None:
        namespace, name = args.secret
        return await credentials_from_secret(namespace, name)
    return credentials_from_settings(settings)


def _fail(error: errors.OperatorError, as_json: bool, out: TextIO) -> int:
    if as_json:
        document = {"error": {"reason": error.reason, "message": error.describe()}}
        out.write(json.dumps(document, indent=2) + "\n")
    _warn(f"{error.reason}: {error.describe()}")
    if isinstance(error, CREDENTIAL_ERRORS):
        return EXIT_INVALID_CREDENTIALS
    return EXIT_FAILED


def _warn(message: str) -> None:
    print(f"ovh-nodepool-operator: {message}", file=sys.stderr)


def _inventory_errors(
    projects: Sequence[ProjectInventory],
) -> list[tuple[str, errors.OperatorError]]:
    found = []
    for project in projects:
        if project.error is not None:
            found.append((f"project {project.project_id}", project.error))
        for cluster in project.clusters:
            if cluster.error is not None:
                where = f"cluster {cluster.kube_id} of project {cluster.project_id}"
                found.append((where, cluster.error))
    return found


def _write_check_table(
    credentials: Credentials, projects: Sequence[ProjectInventory], out: TextIO
) -> None:
    clusters = [cluster for project in projects for cluster in project.clusters]
    pool_count = sum(len(cluster.pools) for cluster in clusters)
    out.write(
        f"Credentials {credentials.identity} are valid and reach {len(projects)} project(s), "
        f"{len(clusters)} cluster(s) and {pool_count} node pool(s).\n"
    )
    rows = [row for project in projects for row in _check_rows(project)]
    if rows:
        out.write("\n" + format_table(CHECK_COLUMNS, rows))


def _check_rows(project: ProjectInventory) -> list[tuple[str, ...]]:
    blank = ("-",) * 6
    if project.error is not None:
        return [(project.project_id, *blank, f"error: {project.error.reason}", "-")]
    if not project.clusters:
        return [(project.project_id, *blank, "no clusters", "-")]

    rows = []
    for cluster in project.clusters:
        rows.extend(_cluster_rows(cluster))
    return rows


def _cluster_rows(cluster: ClusterInventory) -> list[tuple[str, ...]]:
    info = cluster.cluster
    head = (
        cluster.project_id,
        cluster.kube_id,
        info.name if info is not None else "-",
        info.region if info is not None else "-",
    )
    if cluster.error is not None:
        return [(*head, "-", "-", "-", f"error: {cluster.error.reason}", "-")]
    if not cluster.pools:
        return [(*head, "-", "-", "-", "no node pools", "-")]

    return [
        (
            *head,
            pool.name,
            pool.flavor,
            f"{pool.desired_nodes}/{pool.current_nodes}",
            pool.status,
            f"{pool.min_nodes}-{pool.max_nodes}" if pool.autoscale else "off",
        )
        for pool in sorted(cluster.pools, key=lambda item: item.name)
    ]


def format_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Format rows as left-aligned columns separated by two spaces, with a header line."""
    widths = [len(column) for column in columns]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    lines = []
    for row in [tuple(columns), *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _project_json(project: ProjectInventory) -> dict[str, Any]:
    return {
        "id": project.project_id,
        "error": _error_json(project.error),
        "clusters": [_cluster_json(cluster) for cluster in project.clusters],
    }


def _cluster_json(cluster: ClusterInventory) -> dict[str, Any]:
    info = cluster.cluster
    return {
        "id": cluster.kube_id,
        "name": info.name if info is not None else None,
        "region": info.region if info is not None else None,
        "version": info.version if info is not None else None,
        "status": info.status if info is not None else None,
        "error": _error_json(cluster.error),
        "pools": [
            {
                "id": pool.id,
                "name": pool.name,
                "flavor": pool.flavor,
                "status": pool.status,
                "desiredNodes": pool.desired_nodes,
                "currentNodes": pool.current_nodes,
                "availableNodes": pool.available_nodes,
                "minNodes": pool.min_nodes,
                "maxNodes": pool.max_nodes,
                "autoscale": pool.autoscale,
            }
            for pool in sorted(cluster.pools, key=lambda item: item.name)
        ],
    }


def _error_json(error: errors.OperatorError | None) -> dict[str, str] | None:
    if error is None:
        return None
    return {"reason": error.reason, "message": error.describe()}


if __name__ == "__main__":
    sys.exit(main())
