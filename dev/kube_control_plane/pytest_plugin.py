"""pytest fixtures for the local control plane.

Register with `pytest_plugins = ["kube_control_plane.pytest_plugin"]` in the top-level conftest.py.

* control_plane (session): one ControlPlane per test session. Missing binaries are built before
  the first test runs (outside per-test timeouts); a build failure fails the tests that need it,
  it skips nothing.
* namespace (function): a fresh namespace, deleted with --wait=false afterwards. Without
  kube-controller-manager deleted namespaces stay Terminating; that is expected.
* At session finish, any control plane still running is stopped and reported as an error.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from kube_control_plane.binaries import BuildError, ensure_binaries
from kube_control_plane.controlplane import ControlPlane, live_control_planes, processes_using

_build_error = pytest.StashKey[BuildError | None]()
_started = pytest.StashKey[list[ControlPlane]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_started] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build missing binaries once, before any test (and its timeout) starts, if any selected test
    uses the control_plane fixture or carries the e2e marker."""
    if session.config.option.collectonly:
        return
    if not any(
        "control_plane" in getattr(item, "fixturenames", ()) or item.get_closest_marker("e2e")
        for item in session.items
    ):
        return
    capman = session.config.pluginmanager.getplugin("capturemanager")
    try:
        if capman is not None:
            with capman.global_and_fixture_disabled():
                ensure_binaries()
        else:
            ensure_binaries()
    except BuildError as exc:
        session.config.stash[_build_error] = exc


@pytest.fixture(scope="session")
def control_plane(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    error = request.config.stash.get(_build_error, None)
    if error is not None:
        pytest.fail(f"control-plane binaries could not be built:\n{error}", pytrace=False)
    plane = ControlPlane(tmp_path_factory.mktemp("control-plane"))
    request.config.stash[_started].append(plane)
    with plane:
        yield plane


def unique_name(prefix: str, hint: str = "", max_length: int = 63) -> str:
    """A DNS-1123 label: prefix, a slug of hint, and a random suffix."""
    suffix = uuid.uuid4().hex[:6]
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")
    room = max_length - len(prefix) - len(suffix) - 2
    slug = slug[:room].strip("-")
    return "-".join(part for part in (prefix, slug, suffix) if part)


@pytest.fixture
def namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_name("t", request.node.name)
    control_plane.kubectl("create", "namespace", name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No etcd or kube-apiserver of this session may outlive it."""
    leftovers: list[str] = []
    planes: list[ControlPlane] = [*session.config.stash.get(_started, []), *live_control_planes()]
    for plane in dict.fromkeys(planes):
        pids = processes_using(plane.workdir)
        if plane.running or pids:
            leftovers.append(f"{plane.workdir}: pids {pids}")
            try:
                plane.stop()
            except Exception as exc:
                leftovers.append(f"{plane.workdir}: stop failed: {exc}")
    if leftovers:
        reporter = session.config.pluginmanager.getplugin("terminalreporter")
        message = (
            "control-plane processes left running at session end (now stopped):\n  "
            + "\n  ".join(leftovers)
        )
        if reporter is not None:
            reporter.write_line(message, red=True)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for plane in terminalreporter.config.stash.get(_started, []):
        if plane.startup_seconds is not None:
            terminalreporter.write_line(
                f"control plane {plane.server} started in {plane.startup_seconds:.1f} s "
                f"(work folder {plane.workdir})"
            )
