"""Benchmark the operator against a local control plane and the OVH API simulator.

    .venv/bin/python benchmarks/run.py --objects 1,10,100,1000 --clusters 10 \\
        --out benchmarks/results/NAME.json

For each object count the run starts a fresh control plane with an audit log, a simulator in
instant mode and the operator as a process, then measures convergence, reaction time, steady
state, and a restart. The results file is rewritten after each object count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: make the repository root importable, as `python -m` would.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.environment import (
    AUDIT_POLICY,
    REPO,
    OperatorProcess,
    SimulatorProcess,
    Topology,
    prepare_control_plane,
)
from benchmarks.phases import (
    Bench,
    RateLimit,
    measure_convergence,
    measure_reaction,
    measure_restart,
    measure_steady_state,
)
from benchmarks.probes import AuditLog, cpu_seconds, load_average, memory_kib
from kube_control_plane.controlplane import ControlPlane

# The operator's defaults (README settings table); the command line may override them.
DEFAULT_RATE = 1.0
DEFAULT_BURST = 20
DEFAULT_BUSY_INTERVAL = 15.0
DEFAULT_OBSERVE_INTERVAL = 60.0
DEFAULT_TICK = 5.0
PHASES = ("convergence", "reaction", "steady_state", "restart")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--objects", default="1,10,100,1000", help="comma-separated OVHNodePool counts"
    )
    parser.add_argument("--clusters", type=int, default=10, help="MKS clusters (default: 10)")
    parser.add_argument(
        "--projects", type=int, default=3, help="projects, one credential each (default: 3)"
    )
    parser.add_argument(
        "--observe-interval",
        type=float,
        help="OVHNP_OBSERVE_INTERVAL_SECONDS (default: the operator's, 60)",
    )
    parser.add_argument(
        "--rate", type=float, help="OVHNP_RATE_LIMIT_PER_SECOND (default: the operator's, 1.0)"
    )
    parser.add_argument(
        "--burst", type=int, help="OVHNP_RATE_LIMIT_BURST (default: the operator's, 20)"
    )
    parser.add_argument(
        "--sample", type=int, default=50, help="objects changed in the reaction phase"
    )
    parser.add_argument(
        "--gap", type=float, default=1.0, help="seconds between two one-at-a-time changes"
    )
    parser.add_argument(
        "--rest",
        type=float,
        help="seconds without changes before the reaction phase (default: the time the "
        "token buckets take to fill up again, burst / rate, plus 5)",
    )
    parser.add_argument(
        "--steady-seconds",
        type=float,
        default=300.0,
        help="steady-state window in seconds; 300 covers one status refresh (default: 300)",
    )
    parser.add_argument(
        "--max-load",
        type=float,
        default=1.0,
        help="wait before each object count until the 1-minute load average is below this",
    )
    parser.add_argument(
        "--load-wait",
        type=float,
        default=600.0,
        help="seconds to wait for a quiet machine before measuring anyway (default: 600)",
    )
    parser.add_argument(
        "--profile",
        choices=("convergence", "reaction", "steady", "restart"),
        help="sample the operator with py-spy during this phase; slows it, so timings of such "
        "a run are not comparable",
    )
    parser.add_argument("--out", type=Path, required=True, help="results JSON file")
    parser.add_argument(
        "--keep", action="store_true", help="keep each run's work folder (logs, audit log)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for every object count and write the results file."""
    args = parse_args(argv)
    counts = [int(item) for item in args.objects.split(",") if item.strip()]
    settings = operator_settings(args)
    document: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "operator_settings": settings,
        "clusters": args.clusters,
        "projects": args.projects,
        "profiled_phase": args.profile,
        "runs": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for count in counts:
        load = wait_for_quiet_machine(args.max_load, args.load_wait)
        print(f"[{time.strftime('%H:%M:%S')}] {count} object(s), load {load:.2f}", flush=True)
        result = run_once(args, count, settings)
        result["load_before"] = round(load, 2)
        result["quiet"] = load < args.max_load
        document["runs"].append(result)
        write_results(args.out, document)
        print(json.dumps(headline(result)), flush=True)
    return 0


def operator_settings(args: argparse.Namespace) -> dict[str, str]:
    """Return the OVHNP_* variables that the run sets; everything else keeps its default."""
    settings = {}
    if args.observe_interval is not None:
        settings["OVHNP_OBSERVE_INTERVAL_SECONDS"] = f"{args.observe_interval:g}"
    if args.rate is not None:
        settings["OVHNP_RATE_LIMIT_PER_SECOND"] = f"{args.rate:g}"
    if args.burst is not None:
        settings["OVHNP_RATE_LIMIT_BURST"] = str(args.burst)
    return settings


def run_once(args: argparse.Namespace, count: int, settings: dict[str, str]) -> dict[str, Any]:
    """Measure one object count on fresh processes; return its results."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ovhnp-bench-{count}-"))
    topology = Topology.build(args.clusters, args.projects)
    observe_interval = args.observe_interval or DEFAULT_OBSERVE_INTERVAL
    plane = ControlPlane(workdir / "control-plane", audit_policy=AUDIT_POLICY)
    simulator = SimulatorProcess(workdir, topology.seed())
    operator: OperatorProcess | None = None
    bench: Bench | None = None
    try:
        plane.start()
        control = simulator.start()
        kubeconfig = prepare_control_plane(plane, topology, simulator.url)
        operator = OperatorProcess(kubeconfig, workdir / "operator.log", settings)
        operator.start()
        assert plane.audit_log_path is not None
        bench = Bench(
            objects=count,
            topology=topology,
            plane=plane,
            simulator=control,
            operator=operator,
            audit=AuditLog(plane.audit_log_path),
            workdir=workdir,
            observe_interval=observe_interval,
            busy_interval=DEFAULT_BUSY_INTERVAL,
            tick=DEFAULT_TICK,
            rate_limit=RateLimit(
                args.rate if args.rate is not None else DEFAULT_RATE,
                args.burst if args.burst is not None else DEFAULT_BURST,
            ),
        )
        bench.profile_phase = args.profile
        bench.connect()
        bench.watch_operator()

        result: dict[str, Any] = {
            "objects": count,
            "operator_source": operator.source_digest,
            "workdir": str(workdir) if args.keep else None,
        }
        settle = observe_interval + 5.0
        rate_limit = bench.rate_limit
        rest = args.rest if args.rest is not None else rate_limit.burst / rate_limit.per_second + 5
        result["reaction_rest_seconds"] = rest
        phases: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("convergence", lambda: measure_convergence(bench)),
            ("reaction", lambda: measure_reaction(bench, args.sample, args.gap, rest)),
            ("steady_state", lambda: measure_steady_state(bench, settle, args.steady_seconds)),
            ("restart", lambda: measure_restart(bench, quiet_seconds=5.0)),
        ]
        for name, measure in phases:
            try:
                result[name] = measure()
            except (TimeoutError, OSError, RuntimeError) as error:
                # Keep what was measured so far; the later phases depend on this one.
                result[name] = {"error": f"{type(error).__name__}: {error}"}
                print(f"{name} failed: {error}", file=sys.stderr, flush=True)
                break

        result["restarted_operator_source"] = operator.source_digest
        if "error" not in result.get("restart", {"error": ""}):
            result["second_process"] = {
                "cpu_seconds": round(cpu_seconds(operator.pid), 2),
                "peak_rss_mib": round(memory_kib(operator.pid, "VmHWM") / 1024, 1),
            }
        return result
    finally:
        if bench is not None and bench.sampler is not None:
            bench.sampler.close()
        if operator is not None:
            operator.stop()
        simulator.stop()
        plane.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def wait_for_quiet_machine(max_load: float, wait: float) -> float:
    """Wait until the 1-minute load average is below `max_load`, at most `wait` seconds."""
    deadline = time.monotonic() + wait
    load = load_average()
    while load >= max_load and time.monotonic() < deadline:
        time.sleep(15)
        load = load_average()
    return load


def machine() -> dict[str, Any]:
    """Describe the machine and the software versions of the run."""
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kopf": metadata.version("kopf"),
        "kubernetes_client": metadata.version("kubernetes"),
        "python_ovh": metadata.version("ovh"),
        "kube_apiserver": "v1.36.3",
        "operator_commit": git_commit(),
    }


def git_commit() -> str:
    """Return the checked-out commit, with `+dirty` when operator/ has uncommitted changes."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "operator"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return head + ("+dirty" if dirty else "")


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """Return the main numbers of one object count, for the progress output."""
    if any("error" in result.get(phase, {"error": ""}) for phase in PHASES):
        return {"objects": result["objects"], "failed": True}
    return {
        "objects": result["objects"],
        "converged_s": result["convergence"]["all_ready_seconds"],
        "floor_s": result["convergence"]["floor_seconds"],
        "reaction_p99_s": result["reaction"]["sequential"]["p99_seconds"],
        "burst_p99_s": result["reaction"]["burst"]["p99_seconds"],
        "ovh_per_hour": result["steady_state"]["ovh_calls_per_hour"],
        "floor_per_hour": result["steady_state"]["floor_per_hour"],
        "restart_calls": result["restart"]["ovh_calls"],
        "kube_per_object_hour": result["steady_state"]["kube_requests_per_object_per_hour"],
        "peak_rss_mib": result["restart"]["first_process_peak_rss_mib"],
    }


def write_results(path: Path, document: dict[str, Any]) -> None:
    """Write the results atomically, so an interrupted run leaves the previous file."""
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=1) + "\n")
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main())
