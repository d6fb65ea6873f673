"""Starting, restarting and stopping a control plane leaves no process behind.

These tests use their own ControlPlane instances, not the session one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube_control_plane import ControlPlane
from kube_control_plane.controlplane import pid_alive, processes_using

pytestmark = pytest.mark.e2e


def assert_gone(pid: int) -> None:
    assert not pid_alive(pid), f"process {pid} still alive"
    assert not Path(f"/proc/{pid}").exists() or not pid_alive(pid)


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    plane = ControlPlane(tmp_path / "cp")
    with plane:
        etcd_pid, apiserver_pid = plane.etcd_pid, plane.apiserver_pid
        assert etcd_pid is not None
        assert apiserver_pid is not None
        assert sorted(processes_using(plane.workdir)) == sorted([etcd_pid, apiserver_pid])
        plane.kubectl("create", "configmap", "survivor", "--from-literal=k=v")

        plane.restart_apiserver()
        assert plane.apiserver_pid not in (None, apiserver_pid)
        assert_gone(apiserver_pid)
        assert plane.etcd_pid == etcd_pid
        data = json.loads(plane.kubectl("get", "configmap", "survivor", "-o", "json").stdout)[
            "data"
        ]
        assert data == {"k": "v"}
        restarted_pid = plane.apiserver_pid
        assert restarted_pid is not None

    assert not plane.running
    for pid in (etcd_pid, restarted_pid):
        assert_gone(pid)
    assert processes_using(plane.workdir) == []
    plane.stop()  # idempotent


def test_cli_up_down(tmp_path: Path) -> None:
    workdir = tmp_path / "cli"
    cli = [sys.executable, "-m", "kube_control_plane"]
    up = subprocess.run(
        [*cli, "up", "--dir", str(workdir)],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        assert up.returncode == 0, up.stderr
        values = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        assert values["KUBECONFIG"] == str(workdir.resolve() / "admin.kubeconfig")
        assert values["SERVER"].startswith("https://127.0.0.1:")
        pids = [int((workdir / f).read_text()) for f in ("etcd.pid", "kube-apiserver.pid")]
        assert all(pid_alive(pid) for pid in pids)
        # the processes outlive the `up` command
        ns = subprocess.run(
            [values["KUBECTL"], "get", "namespace", "default", "-o", "name"],
            capture_output=True, text=True, timeout=60, check=True,
            env={**os.environ, "KUBECONFIG": values["KUBECONFIG"]},
        )  # fmt: skip
        assert ns.stdout.strip() == "namespace/default"
    finally:
        down = subprocess.run(
            [*cli, "down", "--dir", str(workdir)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert down.returncode == 0, down.stderr
    for pid in pids:
        assert_gone(pid)
    assert processes_using(workdir) == []
    assert (workdir / "admin.kubeconfig").exists()  # down removes nothing but the pid files
    assert not (workdir / "etcd.pid").exists()
