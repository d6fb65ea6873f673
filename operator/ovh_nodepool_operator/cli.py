"""The `ovh-nodepool-operator` command."""

from __future__ import annotations

import argparse
import sys

from ovh_nodepool_operator import __version__
from ovh_nodepool_operator.settings import OperatorSettings

HANDLERS_MODULE = "ovh_nodepool_operator.handlers.operator"


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
    return parser


def kopf_arguments() -> list[str]:
    """Return the `kopf run` arguments that the settings imply."""
    settings = OperatorSettings()
    arguments = ["run", "-m", HANDLERS_MODULE, f"--log-format={settings.log_format}"]
    if settings.namespaces:
        arguments += [f"--namespace={namespace}" for namespace in settings.namespaces]
    else:
        arguments.append("--all-namespaces")
    if settings.peering:
        arguments.append(f"--peering={settings.peering}")
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
    return 2


if __name__ == "__main__":
    sys.exit(main())
