"""The image's install steps, run here without Docker: build the wheels, install them into a
fresh virtual environment, and run that environment's operator through a pool's lifecycle."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    OperatorProcess,
    apply,
    get_object,
    is_ready,
    node_pool,
    pools_of,
    wait_for,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# Kopf's log of a request that RBAC denied, and of an observation it gave up for lack of RBAC.
# A 403 for another cause, such as an Event in a namespace being deleted, does not match.
RBAC_DENIAL = re.compile(r'forbidden: User "system:serviceaccount:[^"]+" cannot')
KOPF_PERMISSION_WARNING = "Not enough permissions"


def pip(python: Path, *args: str) -> None:
    """Run pip of an interpreter; fail with its output when it exits non-zero."""
    result = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def installed_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install the wheels as the Dockerfile does; return the installed command."""
    work = tmp_path_factory.mktemp("wheel-install")
    wheels = work / "wheels"
    python = Path(sys.executable)

    # Stage "wheels": the project's wheel alone, then the wheels of its dependencies.
    pip(python, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(REPO))
    [project_wheel] = wheels.glob("ovh_nodepool_operator-*.whl")
    pip(python, "wheel", "--wheel-dir", str(wheels), str(project_wheel))

    # Stage "venv": a fresh environment that installs only those wheels, with no index.
    environment = work / "venv"
    venv.create(environment, with_pip=True)
    pip(
        environment / "bin" / "python",
        "install",
        "--no-index",
        f"--find-links={wheels}",
        str(project_wheel),
    )
    command = environment / "bin" / "ovh-nodepool-operator"
    assert command.exists()
    return command


def running_operators() -> list[OperatorProcess]:
    """Return the operators that other fixtures of this pytest session started and that run."""
    return [
        item
        for item in gc.get_objects()
        if isinstance(item, OperatorProcess)
        and item.process is not None
        and item.process.poll() is None
    ]


@pytest.fixture
def wheel_operator(
    operator_kubeconfig: Path, installed_command: Path, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """Run the installed operator alone; stop the session's others and restart them afterwards.

    Two operators serving the same objects would both write to OVH, so the end-to-end tests'
    operator, when an earlier test started it, pauses during this test.
    """
    others = running_operators()
    for other in others:
        other.stop()
    process = OperatorProcess(
        operator_kubeconfig, tmp_path / "operator.log", command=[str(installed_command), "run"]
    )
    try:
        yield process.start()
    finally:
        process.stop()
        for other in others:
            other.start()


def test_installed_wheel_imports_outside_repository(installed_command: Path) -> None:
    python = installed_command.parent / "python"
    result = subprocess.run(
        [str(python), "-c", "import ovh_nodepool_operator; print(ovh_nodepool_operator.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
        check=True,
    )

    assert str(installed_command.parents[1]) in result.stdout
    assert str(REPO / "operator") not in result.stdout


def test_installed_operator_lifecycle(
    control_plane: ControlPlane,
    wheel_operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "wheel", project_id, kube_id, desiredNodes=2))

    wait_for(
        lambda: is_ready(get_object(control_plane, workspace, "wheel")),
        timeout=90,
        what="the pool to be Ready",
    )
    control_plane.kubectl("scale", "onp/wheel", "-n", workspace, "--replicas=3")
    wait_for(
        lambda: [pool for pool in pools_of(e2e_simulator, kube_id) if pool["desiredNodes"] == 3],
        timeout=90,
        what="OVH to receive 3 desired nodes",
    )
    wait_for(
        lambda: is_ready(get_object(control_plane, workspace, "wheel")),
        timeout=90,
        what="the scaled pool to be Ready",
    )
    control_plane.kubectl("delete", "onp/wheel", "-n", workspace, "--timeout=90s")
    wait_for(
        lambda: not pools_of(e2e_simulator, kube_id),
        timeout=90,
        what="OVH to delete the pool",
    )

    logs = wheel_operator.logs()
    assert "Initial authentication has finished" in logs
    assert not RBAC_DENIAL.search(logs), logs[-3000:]
    assert KOPF_PERMISSION_WARNING not in logs, logs[-3000:]
