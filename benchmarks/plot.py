"""Plot benchmark results against the object count, one PNG per figure.

    .venv/bin/python benchmarks/plot.py [RESULTS.json ...] [--out-dir docs/benchmarks]
    .venv/bin/python benchmarks/plot.py --series LABEL=A.json,B.json [--series ...]

Each results file is one series, labelled with its file name, so a run before a change and one
after it can share a figure. `--series` joins several files into one labelled series, e.g. the
small object counts and the 1000 run of one code version. Without arguments every file in
benchmarks/results/ is plotted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FIGURES = HERE.parent / "docs" / "benchmarks"

Run = dict[str, Any]
TARGET_RSS_MIB = 150e6 / 2**20  # the target is 150 MB; /proc reports KiB


@dataclass(frozen=True)
class Series:
    """The runs of one results file, ordered by object count."""

    label: str
    runs: list[Run]

    @property
    def objects(self) -> list[int]:
        """Return the object counts."""
        return [int(run["objects"]) for run in self.runs]

    def values(self, read: Callable[[Run], float]) -> list[float]:
        """Return one number per run."""
        return [float(read(run)) for run in self.runs]


def load(paths: Sequence[Path], merge: str | None = None) -> list[Series]:
    """Read results files into one series per file, or into one series named `merge`."""
    series = []
    for path in paths:
        document = json.loads(path.read_text())
        runs = [run for run in document["runs"] if complete(run)]
        series.append(Series(path.stem, sorted(runs, key=lambda run: int(run["objects"]))))
    if merge is None:
        return series
    runs = [run for item in series for run in item.runs]
    return [Series(merge, sorted(runs, key=lambda run: int(run["objects"])))]


def load_group(spec: str) -> list[Series]:
    """Read a `LABEL=FILE[,FILE...]` argument into one series."""
    label, separator, files = spec.partition("=")
    if not separator or not label or not files:
        raise SystemExit(f"--series {spec!r}: expected LABEL=FILE[,FILE...]")
    return load([Path(item) for item in files.split(",")], merge=label)


def complete(run: Run) -> bool:
    """Tell whether every phase of a run was measured."""
    phases = ("convergence", "reaction", "steady_state", "restart")
    return all(phase in run and "error" not in run[phase] for phase in phases)


def new_axes(title: str, ylabel: str) -> tuple[Any, Axes]:
    """Return a figure with one log-x axes titled `title`."""
    figure, axes = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    axes.set_xscale("log")
    axes.set_xlabel("OVHNodePool objects")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    return figure, axes


def save(
    figure: Any,
    axes: Axes,
    out_dir: Path,
    name: str,
    legend: Literal["best", "upper left"] = "best",
) -> Path:
    """Add the legend at `legend` and write the figure as PNG."""
    axes.legend(fontsize="small", loc=legend)
    path = out_dir / f"{name}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_convergence(series: Sequence[Series], out_dir: Path) -> Path:
    """Plot the time until every object is Ready, with the rate-limit floor."""
    figure, axes = new_axes("Convergence: create N objects until all are Ready", "seconds")
    for item in series:
        axes.plot(
            item.objects,
            item.values(lambda run: run["convergence"]["all_ready_seconds"]),
            marker="o",
            label=f"{item.label}: all Ready",
        )
    first = series[0]
    floor = [
        max(run["convergence"]["floor_seconds"], run["convergence"]["interval_floor_seconds"])
        for run in first.runs
    ]
    axes.plot(first.objects, floor, linestyle="--", color="gray", label="floor")
    return save(figure, axes, out_dir, "convergence")


def plot_reaction(series: Sequence[Series], out_dir: Path) -> Path:
    """Plot p50 and p99 reaction time, one change at a time and in a burst."""
    figure, axes = new_axes("Reaction: spec change to OVH PUT", "seconds")
    axes.set_yscale("log")
    for item in series:
        for mode, style in (("sequential", "-"), ("burst", ":")):
            for stat, marker in (("p50_seconds", "o"), ("p99_seconds", "^")):
                axes.plot(
                    item.objects,
                    item.values(reaction_reader(mode, stat)),
                    linestyle=style,
                    marker=marker,
                    label=f"{item.label}: {mode} {stat.split('_')[0]}",
                )
    axes.axhline(1.0, color="red", linestyle="--", label="target p99 at 1000: 1 s")
    return save(figure, axes, out_dir, "reaction")


def reaction_reader(mode: str, stat: str) -> Callable[[Run], float]:
    """Return a reader of one reaction statistic, e.g. ("burst", "p99_seconds")."""

    def read(run: Run) -> float:
        return float(run["reaction"][mode][stat])

    return read


def plot_steady_calls(series: Sequence[Series], out_dir: Path) -> Path:
    """Plot steady-state OVH calls per hour against the floor and per-object polling."""
    figure, axes = new_axes("Steady state: OVH calls per hour", "calls per hour")
    axes.set_yscale("log")
    for item in series:
        axes.plot(
            item.objects,
            item.values(lambda run: run["steady_state"]["ovh_calls_per_hour"]),
            marker="o",
            label=f"{item.label}: measured",
        )
    first = series[0]
    axes.plot(
        first.objects,
        first.values(lambda run: run["steady_state"]["floor_per_hour"]),
        linestyle="--",
        color="gray",
        label="floor: one listing per cluster per interval",
    )
    axes.plot(
        first.objects,
        first.values(lambda run: run["steady_state"]["per_object_polling_per_hour"]),
        linestyle=":",
        color="gray",
        label="one call per object per interval",
    )
    return save(figure, axes, out_dir, "steady-ovh-calls")


def plot_restart(series: Sequence[Series], out_dir: Path) -> Path:
    """Plot the OVH calls of a restart against one listing per cluster."""
    figure, axes = new_axes("Restart: OVH calls until every object resumed", "calls")
    for item in series:
        axes.plot(
            item.objects,
            item.values(lambda run: run["restart"]["ovh_calls"]),
            marker="o",
            label=f"{item.label}: all calls",
        )
        axes.plot(
            item.objects,
            item.values(lambda run: run["restart"]["ovh_calls_authenticated"]),
            marker="^",
            label=f"{item.label}: without GET /auth/time",
        )
    first = series[0]
    axes.plot(
        first.objects,
        first.values(lambda run: run["restart"]["target_calls"]),
        linestyle="--",
        color="gray",
        label="one listing per cluster",
    )
    return save(figure, axes, out_dir, "restart-ovh-calls")


def plot_kube_requests(series: Sequence[Series], out_dir: Path) -> Path:
    """Plot the operator's Kubernetes API requests per object per hour in steady state."""
    figure, axes = new_axes(
        "Steady state: Kubernetes API requests by the operator", "requests per object per hour"
    )
    axes.set_yscale("log")
    for item in series:
        axes.plot(
            item.objects,
            item.values(lambda run: run["steady_state"]["kube_requests_per_object_per_hour"]),
            marker="o",
            label=item.label,
        )
    return save(figure, axes, out_dir, "steady-kube-requests")


def plot_resources(series: Sequence[Series], out_dir: Path) -> Path:
    """Plot the operator's peak RSS and its steady-state CPU share."""
    figure, axes = new_axes("Operator process: peak RSS and steady-state CPU", "MiB")
    other = axes.twinx()
    other.set_ylabel("CPU % of one core (steady state)")
    for item in series:
        (line,) = axes.plot(
            item.objects,
            item.values(lambda run: run["restart"]["first_process_peak_rss_mib"]),
            marker="o",
            label=f"{item.label}: peak RSS (VmHWM)",
        )
        # The same color as the series' RSS line, so that each pair reads as one series.
        other.plot(
            item.objects,
            item.values(lambda run: run["steady_state"]["process"]["cpu_percent"]),
            marker="s",
            linestyle=":",
            color=line.get_color(),
            label=f"{item.label}: CPU % (right axis)",
        )
    axes.axhline(TARGET_RSS_MIB, color="red", linestyle="--", label="target at 1000: 150 MB")
    other.legend(fontsize="small", loc="lower right")
    return save(figure, axes, out_dir, "resources", legend="upper left")


FIGURES_TO_DRAW = (
    plot_convergence,
    plot_reaction,
    plot_steady_calls,
    plot_restart,
    plot_kube_requests,
    plot_resources,
)


def main(argv: list[str] | None = None) -> int:
    """Draw every figure from the given results files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="*", type=Path, help="results JSON files")
    parser.add_argument("--out-dir", type=Path, default=FIGURES, help="folder of the PNG files")
    parser.add_argument(
        "--merge", metavar="LABEL", help="draw all files as one series with this label"
    )
    parser.add_argument(
        "--series",
        action="append",
        metavar="LABEL=FILE[,FILE...]",
        help="draw these files as one series with this label; repeat for more series",
    )
    args = parser.parse_args(argv)

    if args.series:
        series = [group for spec in args.series for group in load_group(spec)]
    else:
        paths = args.results or sorted(RESULTS.glob("*.json"))
        if not paths:
            print(f"no results files given and none in {RESULTS}", file=sys.stderr)
            return 2
        series = load(paths, args.merge)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for draw in FIGURES_TO_DRAW:
        print(draw(series, args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
