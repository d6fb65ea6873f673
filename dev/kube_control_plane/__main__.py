"""kube-control-plane: build, start (detached) and stop the local control plane.

kube-control-plane build              ensure the binaries exist (runs hack/build-control-plane.sh)
kube-control-plane up --dir DIR       start etcd + kube-apiserver detached; state and pids in DIR
kube-control-plane down --dir DIR     stop the processes recorded in DIR (removes only pid files)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kube_control_plane.binaries import BuildError, cache_dir, ensure_binaries
from kube_control_plane.controlplane import STATE_FILE, ControlPlane, ControlPlaneError


def _build(_: argparse.Namespace) -> int:
    binaries = ensure_binaries()
    print(f"binaries in {cache_dir()}:")
    for path in (binaries.etcd, binaries.kube_apiserver, binaries.kubectl, binaries.helm):
        print(f"  {path}")
    return 0


def _up(args: argparse.Namespace) -> int:
    workdir = Path(args.dir).resolve()
    running = ControlPlane.running_pids(workdir)
    if running:
        state = json.loads((workdir / STATE_FILE).read_text())
        print(f"already running in {workdir} (pids {sorted(running.values())})", file=sys.stderr)
        _print_state(state)
        return 0
    plane = ControlPlane(workdir, detach=True, start_timeout=args.timeout)
    plane.start()
    _print_state(plane.describe())
    print(f"started in {plane.startup_seconds:.1f} s", file=sys.stderr)
    return 0


def _print_state(state: dict[str, object]) -> None:
    print(f"KUBECONFIG={state['admin_kubeconfig']}")
    print(f"SERVER={state['server']}")
    print(f"KUBECTL={state['kubectl']}")
    print(f"HELM={state['helm']}")


def _down(args: argparse.Namespace) -> int:
    workdir = Path(args.dir).resolve()
    stopped = ControlPlane.down(workdir)
    if stopped:
        print(f"stopped pids {stopped}", file=sys.stderr)
    else:
        print(f"nothing running in {workdir}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kube-control-plane", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="ensure the binaries exist").set_defaults(func=_build)
    up = commands.add_parser("up", help="start a detached control plane")
    up.add_argument("--dir", required=True, help="work folder (certs, etcd data, logs, pids)")
    up.add_argument("--timeout", type=float, default=90.0, help="start timeout in seconds")
    up.set_defaults(func=_up)
    down = commands.add_parser("down", help="stop the control plane started in --dir")
    down.add_argument("--dir", required=True)
    down.set_defaults(func=_down)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (BuildError, ControlPlaneError) as exc:
        print(f"kube-control-plane: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
