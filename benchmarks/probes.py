"""Readings taken during a run: the audit log, the simulator's request log, /proc of a process."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class AuditEvent:
    """The fields of one kube-apiserver audit event that the benchmark reads."""

    time: float  # stageTimestamp as Unix time
    user: str
    verb: str
    stage: str
    resource: str
    subresource: str
    namespace: str
    name: str
    code: int


class AuditLog:
    """Read a kube-apiserver JSON audit log from a byte offset on, line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[AuditEvent] = []

    def read(self) -> list[AuditEvent]:
        """Parse the lines written since the last call, keep them, and return them."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            log.seek(self.offset)
            data = log.read()
        complete = data.rfind(b"\n") + 1
        self.offset += complete
        new = [parse_audit_line(line) for line in data[:complete].splitlines() if line.strip()]
        self.events.extend(new)
        return new

    def between(self, start: float, end: float, user: str | None = None) -> list[AuditEvent]:
        """Return the kept events with a stage time in [start, end), optionally of one user."""
        self.read()
        return [
            event
            for event in self.events
            if start <= event.time < end and (user is None or event.user == user)
        ]


def parse_audit_line(line: bytes) -> AuditEvent:
    """Parse one JSON line of the audit log."""
    raw: dict[str, Any] = json.loads(line)
    ref = raw.get("objectRef") or {}
    status = raw.get("responseStatus") or {}
    return AuditEvent(
        time=parse_rfc3339(raw["stageTimestamp"]),
        user=str(raw.get("user", {}).get("username", "")),
        verb=str(raw.get("verb", "")),
        stage=str(raw.get("stage", "")),
        resource=str(ref.get("resource", "")),
        subresource=str(ref.get("subresource", "")),
        namespace=str(ref.get("namespace", "")),
        name=str(ref.get("name", "")),
        code=int(status.get("code") or 0),
    )


def parse_rfc3339(stamp: str) -> float:
    """Return the Unix time of an RFC 3339 timestamp with a Z suffix and microseconds."""
    return datetime.fromisoformat(stamp).timestamp()


def count_requests(events: Iterable[AuditEvent]) -> Counter[str]:
    """Count API requests by verb and resource, e.g. `patch ovhnodepools/status`.

    A finished request is counted at ResponseComplete. A watch is counted once when its stream
    opens (ResponseStarted), because its ResponseComplete comes only when the stream ends.
    """
    counts: Counter[str] = Counter()
    for event in events:
        counted_stage = "ResponseStarted" if event.verb == "watch" else "ResponseComplete"
        if event.stage != counted_stage:
            continue
        resource = event.resource + (f"/{event.subresource}" if event.subresource else "")
        counts[f"{event.verb} {resource}"] += 1
    return counts


def count_ovh_requests(entries: Iterable[dict[str, Any]]) -> Counter[str]:
    """Count simulator request log entries by method and route template."""
    return Counter(f"{entry['method']} {entry['route']}" for entry in entries)


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU seconds of a process (/proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    # After the command name: field 14 (utime) and 15 (stime) of proc(5) are at 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int, key: str) -> int:
    """Return one memory line of /proc/PID/status in KiB, e.g. VmRSS or VmHWM."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(f"{key} is missing from /proc/{pid}/status")


class ResourceSampler:
    """Sample a process's RSS in a thread, to get the peak of each phase.

    VmHWM is the peak of the whole process life. The sampler's peak since `mark()` is the peak of
    one phase, with the sampling interval as its resolution.
    """

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self._peak_kib = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = memory_kib(self.pid, "VmRSS")
            except (OSError, KeyError):
                return
            with self._lock:
                self._peak_kib = max(self._peak_kib, rss)
            self._stop.wait(self.interval)

    def mark(self) -> tuple[float, int]:
        """Start a new phase; return the CPU seconds so far and the previous phase's peak RSS."""
        with self._lock:
            peak = self._peak_kib
            self._peak_kib = memory_kib(self.pid, "VmRSS")
        return cpu_seconds(self.pid), peak

    def close(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class PhaseMeter:
    """CPU seconds and peak RSS of the operator over one phase of the run.

    When the phase is `profile_phase`, py-spy samples the operator during it, and the phase's
    readings include the profile summary. Sampling slows the operator, so such a run's timings
    are not comparable with a run without profiling.
    """

    sampler: ResourceSampler
    profile_phase: str | None = None
    profile_dir: Path | None = None
    cpu_start: float = 0.0
    started: float = 0.0
    profiler: Profiler | None = None

    def begin(self, phase: str) -> None:
        """Start measuring a phase."""
        if phase == self.profile_phase and self.profile_dir is not None:
            output = self.profile_dir / f"profile-{phase}.txt"
            self.profiler = Profiler(self.sampler.pid, output)
        self.cpu_start, _ = self.sampler.mark()
        self.started = time.monotonic()

    def end(self) -> dict[str, Any]:
        """Finish the phase; return its wall and CPU seconds, CPU share and peak RSS in MiB."""
        cpu_end, peak_kib = self.sampler.mark()
        wall = time.monotonic() - self.started
        cpu = cpu_end - self.cpu_start
        readings: dict[str, Any] = {
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "cpu_percent": round(100.0 * cpu / wall, 2) if wall > 0 else 0.0,
            "peak_rss_mib": round(peak_kib / 1024, 1),
        }
        if self.profiler is not None:
            readings["profile"] = self.profiler.stop()
            self.profiler = None
        return readings


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values` (fraction 0.5 is the median)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def load_average() -> float:
    """Return the 1-minute load average of the machine."""
    return os.getloadavg()[0]


class Profiler:
    """py-spy sampling a running process into a collapsed-stack ("raw") file.

    py-spy writes the file when it gets SIGINT. Idle threads are left out, so the samples show
    where the process spends CPU, not where it waits.
    """

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        self.output = output
        py_spy = Path(sys.executable).parent / "py-spy"
        command = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--nolineno"]
        command += ["--rate", str(rate), "--nonblocking", "--output", str(output)]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> dict[str, Any]:
        """Stop sampling; return the top functions by own and by total samples."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if not self.output.exists():
            return {"error": f"py-spy wrote no {self.output.name}"}
        return summarize_stacks(self.output.read_text().splitlines())


def summarize_stacks(lines: Iterable[str], top: int = 15) -> dict[str, Any]:
    """Summarize collapsed stacks ("frame;frame;frame COUNT") by function.

    `self` counts the samples in which a function was the innermost frame, `total` those in
    which it was anywhere on the stack.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return {
        "samples": samples,
        "self": [[frame, n] for frame, n in own.most_common(top)],
        "total": [[frame, n] for frame, n in total.most_common(top)],
    }
