"""Measure the operator's RSS quickly: create N objects, wait until all are Ready, restart.

A shorter companion of run.py for comparing operator versions by memory alone. It raises the
rate limit (50 calls per second and a burst of 500 by default), so 1000 objects converge in
about a minute instead of seven, and it skips the reaction, steady-state and traffic phases.
Peaks are lower than in run.py, where the rate limit keeps more work waiting at once.

    .venv/bin/python benchmarks/memory.py --objects 1000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):
    # Run as a script: make the repository root importable, as `python -m` would.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.environment import (
    AUDIT_POLICY,
    OperatorProcess,
    SimulatorProcess,
    Topology,
    prepare_control_plane,
)
from benchmarks.phases import RESUMED_LINE, Bench, RateLimit, wait_for_log_lines
from benchmarks.probes import AuditLog, memory_kib
from kube_control_plane.controlplane import ControlPlane


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000, help="OVHNodePool objects")
    parser.add_argument("--clusters", type=int, default=10, help="MKS clusters (default: 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="OVH calls per second")
    parser.add_argument("--burst", type=int, default=500, help="OVH token bucket burst")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds before each reading")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one measurement and print its readings as JSON."""
    args = parse_args(argv)
    settings = {
        "OVHNP_RATE_LIMIT_PER_SECOND": f"{args.rate:g}",
        "OVHNP_RATE_LIMIT_BURST": str(args.burst),
    }
    workdir = Path(tempfile.mkdtemp(prefix="ovhnp-memory-"))
    topology = Topology.build(args.clusters, 3)
    plane = ControlPlane(workdir / "control-plane", audit_policy=AUDIT_POLICY)
    simulator = SimulatorProcess(workdir, topology.seed())
    operator: OperatorProcess | None = None
    readings: dict[str, Any] = {"objects": args.objects, "settings": settings}
    try:
        plane.start()
        control = simulator.start()
        kubeconfig = prepare_control_plane(plane, topology, simulator.url)
        operator = OperatorProcess(kubeconfig, workdir / "operator.log", settings)
        operator.start()
        readings["idle_rss_mib"] = rss_mib(operator.pid, "VmRSS")

        assert plane.audit_log_path is not None
        bench = Bench(
            objects=args.objects,
            topology=topology,
            plane=plane,
            simulator=control,
            operator=operator,
            audit=AuditLog(plane.audit_log_path),
            workdir=workdir,
            observe_interval=60.0,
            busy_interval=15.0,
            tick=5.0,
            rate_limit=RateLimit(args.rate, args.burst),
        )
        bench.connect()
        started = time.monotonic()
        manifests = [topology.object_manifest(index) for index in range(args.objects)]
        plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests))
        bench.wait_all_ready(timeout=1800.0)
        readings["converged_seconds"] = round(time.monotonic() - started, 1)
        time.sleep(args.settle)
        readings["first_process_peak_rss_mib"] = rss_mib(operator.pid, "VmHWM")

        operator.stop()
        operator.start()
        wait_for_log_lines(bench, RESUMED_LINE, args.objects, timeout=300.0)
        time.sleep(args.settle)
        readings["restarted_peak_rss_mib"] = rss_mib(operator.pid, "VmHWM")
    finally:
        if operator is not None:
            operator.stop()
        simulator.stop()
        plane.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(readings, indent=1))
    return 0


def rss_mib(pid: int, key: str) -> float:
    """Return a memory reading of /proc/PID/status in MiB."""
    return round(memory_kib(pid, key) / 1024, 1)


if __name__ == "__main__":
    sys.exit(main())
