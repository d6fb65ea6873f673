"""Locate the cached control-plane binaries; build them (hack/build-control-plane.sh) if missing."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

K8S_VERSION = "v1.36.3"
BUILD_SCRIPT = Path("hack") / "build-control-plane.sh"
CACHE_ENV = "OVHNP_CONTROL_PLANE_CACHE"
BINARY_NAMES = ("etcd", "kube-apiserver", "kubectl", "helm")


class BuildError(RuntimeError):
    """The binaries are missing and could not be built."""


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kubectl: Path
    helm: Path


def cache_dir() -> Path:
    """The folder holding the binaries (OVHNP_CONTROL_PLANE_CACHE overrides it)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ovh-nodepool-operator" / "control-plane" / K8S_VERSION


def find_repo_root(start: Path | None = None) -> Path:
    """The repository root: the first parent folder that holds hack/build-control-plane.sh."""
    here = (start or Path(__file__)).resolve()
    for candidate in here.parents:
        if (candidate / BUILD_SCRIPT).is_file():
            return candidate
    raise BuildError(
        f"cannot find {BUILD_SCRIPT} in any parent folder of {here}; the control-plane "
        f"binaries can only be built from a checkout of the repository "
        f"(or put them into {cache_dir()})"
    )


def _binaries(folder: Path) -> Binaries:
    return Binaries(
        etcd=folder / "etcd",
        kube_apiserver=folder / "kube-apiserver",
        kubectl=folder / "kubectl",
        helm=folder / "helm",
    )


def missing_binaries(folder: Path | None = None) -> list[Path]:
    folder = folder or cache_dir()
    return [folder / name for name in BINARY_NAMES if not os.access(folder / name, os.X_OK)]


def ensure_binaries(*, build: bool = True, echo: bool = True) -> Binaries:
    """Return the binaries, running hack/build-control-plane.sh first when any of them is missing.

    With echo, the script's progress lines are copied to stderr while it runs. BuildError carries
    the tail of the script's output when it fails.
    """
    folder = cache_dir()
    missing = missing_binaries(folder)
    if not missing:
        return _binaries(folder)
    names = ", ".join(path.name for path in missing)
    if not build:
        raise BuildError(f"missing control-plane binaries in {folder}: {names}")
    script = find_repo_root() / BUILD_SCRIPT
    if echo:
        print(
            f"[kube-control-plane] missing {names}; running {script}", file=sys.stderr, flush=True
        )
    tail: collections.deque[str] = collections.deque(maxlen=60)
    with subprocess.Popen(
        ["bash", str(script), "all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, CACHE_ENV: str(folder)},
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)
            if echo:
                sys.stderr.write(line)
                sys.stderr.flush()
        returncode = proc.wait()
    if returncode != 0:
        raise BuildError(
            f"{script} failed with exit code {returncode}; last output:\n" + "".join(tail)
        )
    still_missing = missing_binaries(folder)
    if still_missing:
        raise BuildError(f"{script} succeeded but these are still missing: {still_missing}")
    return _binaries(folder)
