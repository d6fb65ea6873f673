"""Run etcd and kube-apiserver on free loopback ports, as a context manager or detached (CLI)."""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, Self

import yaml

from kube_control_plane import certs as certs_module
from kube_control_plane.binaries import Binaries, ensure_binaries

START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
PORT_ATTEMPTS = 5
ADDRESS_IN_USE = "address already in use"
KEEP_ENV = "OVHNP_CONTROL_PLANE_KEEP"

PID_FILES = {"kube-apiserver": "kube-apiserver.pid", "etcd": "etcd.pid"}
STATE_FILE = "state.json"
AUDIT_POLICY_FILE = "audit-policy.yaml"
AUDIT_LOG_FILE = "audit.log"


class ControlPlaneError(RuntimeError):
    """The control plane failed to start or to answer."""


class KubectlError(subprocess.CalledProcessError):
    """kubectl exited non-zero; str() includes its stderr."""

    def __str__(self) -> str:
        args = self.cmd[1:] if isinstance(self.cmd, list) else self.cmd
        stderr = (self.stderr or "").strip()
        return f"kubectl {' '.join(map(str, args))} exited with {self.returncode}: {stderr}"


class _PortInUseError(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# process helpers (also used for detached processes that are not our children)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def pid_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def terminate_pid(
    pid: int, *, timeout: float = STOP_TIMEOUT, proc: subprocess.Popen[Any] | None = None
) -> None:
    """SIGTERM pid, wait up to timeout, then SIGKILL. Reaps it if proc (our child) is given."""

    def gone() -> bool:
        if proc is not None:
            return proc.poll() is not None
        return not pid_alive(pid)

    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        if gone():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if gone():
                return
            time.sleep(0.05)
    if not gone():
        raise ControlPlaneError(f"process {pid} survived SIGKILL")


def _kill_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL when the thread that started it dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)


# --------------------------------------------------------------------------------------------------
# stopping every in-process control plane at exit and on SIGTERM/SIGINT

_LIVE: dict[int, ControlPlane] = {}
_handlers_installed = False


def _stop_all() -> None:
    for plane in list(_LIVE.values()):
        with contextlib.suppress(Exception):
            plane.stop()


def _on_signal(signum: int, frame: FrameType | None, previous: Any) -> None:
    _stop_all()
    if callable(previous):
        previous(signum, frame)
    else:  # SIG_DFL (or None: set outside Python): die the default way
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _handlers_installed  # noqa: PLW0603
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if previous == signal.SIG_IGN:  # e.g. SIGINT in a background job: keep ignoring it
            continue

        def handler(sig: int, frame: FrameType | None, previous: Any = previous) -> None:
            _on_signal(sig, frame, previous)

        signal.signal(signum, handler)


def live_control_planes() -> list[ControlPlane]:
    return list(_LIVE.values())


# --------------------------------------------------------------------------------------------------


class ControlPlane:
    """etcd + kube-apiserver on loopback, with an admin kubeconfig.

    >>> with ControlPlane() as cp:
    ...     cp.kubectl("get", "namespaces")

    With detach=True the processes outlive this Python process (used by `kube-control-plane up`);
    their pids are written into the work folder and `ControlPlane.down(folder)` stops them.
    """

    def __init__(
        self,
        workdir: Path | str | None = None,
        *,
        binaries: Binaries | None = None,
        detach: bool = False,
        start_timeout: float = START_TIMEOUT,
        stop_timeout: float = STOP_TIMEOUT,
        keep_workdir: bool | None = None,
        extra_apiserver_args: Sequence[str] = (),
        audit_policy: Mapping[str, Any] | None = None,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="kube-control-plane-"))
            if workdir is None
            else Path(workdir)
        ).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if keep_workdir is None:
            keep_workdir = bool(os.environ.get(KEEP_ENV)) or not self._own_workdir
        self.keep_workdir = keep_workdir
        self.binaries = binaries or ensure_binaries()
        self.kubectl_path = self.binaries.kubectl
        self.helm_path = self.binaries.helm
        self.detach = detach
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.extra_apiserver_args = list(extra_apiserver_args)

        self.pki = certs_module.CertificateSet.in_folder(self.workdir / "pki")
        self.ca_path = self.pki.ca_cert
        self.admin_kubeconfig = self.workdir / "admin.kubeconfig"
        self.logs_dir = self.workdir / "logs"
        self.etcd_data_dir = self.workdir / "etcd-data"
        # Off by default. With a policy (an audit.k8s.io/v1 Policy document), kube-apiserver
        # writes one JSON audit event per line to `audit_log_path`, without rotation.
        self.audit_policy = dict(audit_policy) if audit_policy is not None else None
        self.audit_log_path = self.logs_dir / AUDIT_LOG_FILE if audit_policy is not None else None

        self.etcd_client_port = 0
        self.etcd_peer_port = 0
        self.apiserver_port = 0
        self.etcd_proc: subprocess.Popen[bytes] | None = None
        self.apiserver_proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        self._log_files: list[IO[bytes]] = []

    # ---------------------------------------------------------------------------------- properties

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_client_port}"

    @property
    def etcd_pid(self) -> int | None:
        return self.etcd_proc.pid if self.etcd_proc else None

    @property
    def apiserver_pid(self) -> int | None:
        return self.apiserver_proc.pid if self.apiserver_proc else None

    @property
    def running(self) -> bool:
        return any(
            p is not None and p.poll() is None for p in (self.etcd_proc, self.apiserver_proc)
        )

    # ---------------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        if self.running:
            raise ControlPlaneError("already started")
        started = time.monotonic()
        if not self.detach:
            _install_handlers()
            _LIVE[id(self)] = self
        try:
            self.logs_dir.mkdir(exist_ok=True)
            if not self.pki.exists():
                certs_module.generate(self.pki.ca_cert.parent)
            self._write_audit_policy()
            self._start_etcd()
            self._start_apiserver()
            self._write_admin_kubeconfig()
            self._wait_for_default_namespace(started + self.start_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        if self.detach:
            self._write_state()
        return self

    def stop(self) -> None:
        """Terminate kube-apiserver, then etcd (SIGTERM, SIGKILL after stop_timeout). Idempotent."""
        _LIVE.pop(id(self), None)
        errors: list[BaseException] = []
        for attr in ("apiserver_proc", "etcd_proc"):
            proc: subprocess.Popen[bytes] | None = getattr(self, attr)
            if proc is None:
                continue
            try:
                terminate_pid(proc.pid, timeout=self.stop_timeout, proc=proc)
            except BaseException as exc:
                errors.append(exc)
        for log_file in self._log_files:
            log_file.close()
        self._log_files.clear()
        if self.detach:
            for name in PID_FILES.values():
                (self.workdir / name).unlink(missing_ok=True)
        if self._own_workdir and not self.keep_workdir and not errors:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise errors[0]

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port against the same etcd."""
        if self.apiserver_proc is None:
            raise ControlPlaneError("kube-apiserver is not running")
        terminate_pid(self.apiserver_proc.pid, timeout=self.stop_timeout, proc=self.apiserver_proc)
        self.apiserver_proc = None
        self._start_apiserver(same_port=True)
        if self.detach:
            self._write_state()

    # ---------------------------------------------------------------------------------- processes

    def _spawn(self, name: str, args: Sequence[str]) -> tuple[subprocess.Popen[bytes], Path, int]:
        log_path = self.logs_dir / f"{name}.log"
        log_file = log_path.open("ab")
        offset = log_file.tell()
        kill_with_parent = not self.detach and threading.current_thread() is threading.main_thread()
        proc = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop them in order
            preexec_fn=_kill_with_parent if kill_with_parent else None,  # noqa: PLW1509
        )
        if self.detach:
            log_file.close()
        else:
            self._log_files.append(log_file)
        return proc, log_path, offset

    @staticmethod
    def _log_since(log_path: Path, offset: int) -> str:
        with log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")

    def _wait(
        self,
        name: str,
        *,
        proc: subprocess.Popen[bytes],
        log_path: Path,
        offset: int,
        ready: Callable[[], bool],
        deadline: float,
    ) -> None:
        while True:
            if proc.poll() is not None:
                output = self._log_since(log_path, offset)
                if ADDRESS_IN_USE in output:
                    raise _PortInUseError(output)
                tail = "\n".join(output.splitlines()[-30:])
                raise ControlPlaneError(
                    f"{name} exited with {proc.returncode}; log {log_path}:\n{tail}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                tail = "\n".join(self._log_since(log_path, offset).splitlines()[-30:])
                raise ControlPlaneError(f"{name} not ready in time; log {log_path}:\n{tail}")
            time.sleep(0.1)

    def _start_etcd(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last: _PortInUseError | None = None
        for _ in range(PORT_ATTEMPTS):
            client, peer = free_port(), free_port()
            fresh = not self.etcd_data_dir.exists()
            args = [
                str(self.binaries.etcd),
                "--name=control-plane",
                f"--data-dir={self.etcd_data_dir}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=control-plane=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ]
            proc, log_path, offset = self._spawn("etcd", args)
            self.etcd_proc = proc
            try:
                self._wait(
                    "etcd",
                    proc=proc,
                    log_path=log_path,
                    offset=offset,
                    ready=functools.partial(_etcd_healthy, client),
                    deadline=deadline,
                )
            except _PortInUseError as exc:
                last = exc
                proc.wait()
                self.etcd_proc = None
                if fresh:
                    shutil.rmtree(self.etcd_data_dir, ignore_errors=True)
                continue
            self.etcd_client_port, self.etcd_peer_port = client, peer
            return
        raise ControlPlaneError(f"etcd: no free port after {PORT_ATTEMPTS} attempts: {last}")

    def apiserver_args(self, port: int) -> list[str]:
        return [
            str(self.binaries.kube_apiserver),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.pki.ca_cert.parent}",
            f"--tls-cert-file={self.pki.serving_cert}",
            f"--tls-private-key-file={self.pki.serving_key}",
            f"--client-ca-file={self.pki.ca_cert}",
            f"--service-account-issuer=https://127.0.0.1:{port}",
            f"--service-account-signing-key-file={self.pki.service_account_key}",
            f"--service-account-key-file={self.pki.service_account_public_key}",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            "--profiling=false",
            *self._audit_args(),
            *self.extra_apiserver_args,
        ]

    def _audit_args(self) -> list[str]:
        if self.audit_log_path is None:
            return []
        return [
            f"--audit-policy-file={self.workdir / AUDIT_POLICY_FILE}",
            f"--audit-log-path={self.audit_log_path}",
            "--audit-log-format=json",
        ]

    def _write_audit_policy(self) -> None:
        if self.audit_policy is not None:
            text = yaml.safe_dump(self.audit_policy, sort_keys=False)
            (self.workdir / AUDIT_POLICY_FILE).write_text(text)

    def _start_apiserver(self, *, same_port: bool = False) -> None:
        deadline = time.monotonic() + self.start_timeout
        last: _PortInUseError | None = None
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        for _ in range(PORT_ATTEMPTS):
            port = self.apiserver_port if same_port else free_port()
            proc, log_path, offset = self._spawn("kube-apiserver", self.apiserver_args(port))
            self.apiserver_proc = proc
            try:
                self._wait(
                    "kube-apiserver",
                    proc=proc,
                    log_path=log_path,
                    offset=offset,
                    ready=functools.partial(_https_ok, f"https://127.0.0.1:{port}/readyz", context),
                    deadline=deadline,
                )
            except _PortInUseError as exc:
                last = exc
                proc.wait()
                self.apiserver_proc = None
                if same_port:
                    time.sleep(1.0)
                continue
            self.apiserver_port = port
            return
        raise ControlPlaneError(
            f"kube-apiserver: port in use after {PORT_ATTEMPTS} attempts: {last}"
        )

    def _wait_for_default_namespace(self, deadline: float) -> None:
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        url = f"{self.server}/api/v1/namespaces/default"
        while not _https_ok(url, context):
            if time.monotonic() > deadline:
                raise ControlPlaneError("namespace 'default' did not appear in time")
            time.sleep(0.1)

    # ---------------------------------------------------------------------------------- kubeconfig

    def _write_kubeconfig(self, path: Path, user_name: str, user: dict[str, str]) -> Path:
        ca_data = base64.b64encode(self.pki.ca_cert.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {"server": self.server, "certificate-authority-data": ca_data},
                }
            ],
            "users": [{"name": user_name, "user": user}],
            "contexts": [{"name": user_name, "context": {"cluster": "local", "user": user_name}}],
            "current-context": user_name,
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def _write_admin_kubeconfig(self) -> None:
        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        self._write_kubeconfig(
            self.admin_kubeconfig,
            "admin",
            {
                "client-certificate-data": b64(self.pki.admin_cert),
                "client-key-data": b64(self.pki.admin_key),
            },
        )

    def service_account_kubeconfig(
        self, namespace: str, name: str, path: Path | str | None = None, duration: str = "2h"
    ) -> Path:
        """Write a kubeconfig holding a TokenRequest token of ServiceAccount namespace/name."""
        token = self.kubectl(
            "create", "token", name, "-n", namespace, f"--duration={duration}"
        ).stdout.strip()
        target = (
            Path(path) if path else self.workdir / "kubeconfigs" / f"{namespace}.{name}.kubeconfig"
        )
        return self._write_kubeconfig(
            target, f"system:serviceaccount:{namespace}:{name}", {"token": token}
        )

    # ---------------------------------------------------------------------------------- kubectl

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | str | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.kubectl_path), f"--kubeconfig={kubeconfig or self.admin_kubeconfig}", *args]
        result = subprocess.run(
            cmd, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, cmd, result.stdout, result.stderr)
        return result

    # ---------------------------------------------------------------------------------- detached

    def _write_state(self) -> None:
        for name, proc in (("etcd", self.etcd_proc), ("kube-apiserver", self.apiserver_proc)):
            if proc is not None:
                (self.workdir / PID_FILES[name]).write_text(f"{proc.pid}\n")
        (self.workdir / STATE_FILE).write_text(json.dumps(self.describe(), indent=2) + "\n")

    def describe(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "admin_kubeconfig": str(self.admin_kubeconfig),
            "ca_path": str(self.ca_path),
            "etcd_url": self.etcd_url,
            "etcd_pid": self.etcd_pid,
            "apiserver_pid": self.apiserver_pid,
            "kubectl": str(self.kubectl_path),
            "helm": str(self.helm_path),
            "workdir": str(self.workdir),
            "logs": str(self.logs_dir),
            "audit_log": str(self.audit_log_path) if self.audit_log_path else None,
            "startup_seconds": self.startup_seconds,
        }

    @staticmethod
    def running_pids(workdir: Path | str) -> dict[str, int]:
        """The pids recorded in workdir that still run the expected binary with this workdir."""
        workdir = Path(workdir).resolve()
        found: dict[str, int] = {}
        for name, filename in PID_FILES.items():
            try:
                pid = int((workdir / filename).read_text().strip())
            except (FileNotFoundError, ValueError):
                continue
            cmdline = pid_cmdline(pid)
            if (
                cmdline
                and Path(cmdline[0]).name == name
                and any(str(workdir) in arg for arg in cmdline)
                and pid_alive(pid)
            ):
                found[name] = pid
        return found

    @classmethod
    def down(cls, workdir: Path | str, *, timeout: float = STOP_TIMEOUT) -> list[int]:
        """Stop the detached processes recorded in workdir (apiserver first); remove pid files."""
        workdir = Path(workdir).resolve()
        pids = cls.running_pids(workdir)
        stopped = []
        for name in PID_FILES:  # kube-apiserver, then etcd
            if name in pids:
                terminate_pid(pids[name], timeout=timeout)
                stopped.append(pids[name])
        for filename in PID_FILES.values():
            (workdir / filename).unlink(missing_ok=True)
        return stopped


def _etcd_healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return bool(json.loads(resp.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def _https_ok(url: str, context: ssl.SSLContext) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:  # noqa: S310
            return bool(resp.status == 200)
    except (OSError, urllib.error.HTTPError, ValueError):
        return False


def processes_using(
    workdir: Path | str, names: Iterable[str] = ("etcd", "kube-apiserver")
) -> list[int]:
    """Live pids of etcd / kube-apiserver whose command line mentions workdir (for leak checks)."""
    workdir = str(Path(workdir).resolve())
    wanted = set(names)
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        cmdline = pid_cmdline(int(entry.name))
        if (
            cmdline
            and Path(cmdline[0]).name in wanted
            and any(workdir in a for a in cmdline[1:])
            and pid_alive(int(entry.name))
        ):
            pids.append(int(entry.name))
    return pids
