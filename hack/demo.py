"""The demo: the operator managing node pools of two OVH clusters, all on this machine.

Everything listens on 127.0.0.1: the control plane (kube-apiserver and etcd), the OVH API
simulator and the operator. State lives in .demo/ of the working copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / ".demo"
BIN = Path(sys.executable).parent
PLANE_DIR = DEMO / "control-plane"
KUBECONFIG = PLANE_DIR / "admin.kubeconfig"
OPERATOR_NAMESPACE = "ovh-nodepool-operator"
KUBECTL_VERSION = "v1.36.3"
USAGE = "usage: hack/demo.sh [stop]"

# Demo pace: nodes take a few seconds at OVH and the operator looks every second or two.
OPERATOR_ENV = {
    "OVHNP_TICK_SECONDS": "1",
    "OVHNP_OBSERVE_INTERVAL_SECONDS": "5",
    "OVHNP_BUSY_INTERVAL_SECONDS": "1",
    "OVHNP_EVENT_FRESHNESS_SECONDS": "1",
    "OVHNP_HEALTH_PORT": "0",
    "OVHNP_METRICS_PORT": "0",
}


def say(text: str) -> None:
    """Print a step of the demo."""
    print(f"\n==> {text}", flush=True)


def run(*command: str, input_text: str | None = None, check: bool = True) -> str:
    """Run a command and return its output; fail with its error output."""
    result = subprocess.run(command, input=input_text, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"demo: {' '.join(command[:3])} failed:\n{result.stderr}")
    return result.stdout


def kubectl(*args: str, input_text: str | None = None, check: bool = True) -> str:
    """Run the control plane's kubectl as the admin."""
    kubectl_path = (PLANE_DIR / "kubectl-path").read_text().strip()
    return run(
        kubectl_path, f"--kubeconfig={KUBECONFIG}", *args, input_text=input_text, check=check
    )


def start_detached(name: str, command: list[str], env: dict[str, str] | None = None) -> int:
    """Start a background process that outlives the demo; record its pid in .demo/."""
    log = (DEMO / f"{name}.log").open("ab")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    (DEMO / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def wait(probe: Callable[[], bool], what: str, timeout: float = 180) -> None:
    """Wait until `probe` is true, or stop the demo with a message after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(1)
    raise SystemExit(f"demo: timed out after {timeout:.0f} s waiting for {what}")


def start_control_plane() -> None:
    """Start kube-apiserver and etcd and install the CRD and the operator's RBAC."""
    say("Starting kube-apiserver v1.36.3 and etcd on 127.0.0.1")
    print(run(str(BIN / "kube-control-plane"), "up", "--dir", str(PLANE_DIR)).strip())
    from kube_control_plane.binaries import ensure_binaries  # noqa: PLC0415

    (PLANE_DIR / "kubectl-path").write_text(str(ensure_binaries().kubectl))

    kubectl("apply", "-f", str(REPO / "crds" / "ovhnodepools.yaml"))
    crd = "crd/ovhnodepools.ovh.nodepool-operator.io"
    kubectl("wait", "--for=condition=Established", "--timeout=60s", crd)
    kubectl("create", "namespace", OPERATOR_NAMESPACE, check=False)
    kubectl("apply", "-f", str(REPO / "deploy" / "kustomize" / "base" / "rbac.yaml"))


def start_simulator() -> str:
    """Start the OVH API simulator with the demo seed; return its base URL."""
    say("Starting the OVH API simulator (two projects, two clusters)")
    port_file = DEMO / "simulator.port"
    port_file.unlink(missing_ok=True)
    command = [
        str(BIN / "ovh-api-simulator"),
        "--port=0",
        f"--port-file={port_file}",
        f"--seed={REPO / 'dev' / 'seeds' / 'demo.yaml'}",
        "--node-seconds=3",
    ]
    start_detached("simulator", command)
    wait(lambda: port_file.exists() and bool(port_file.read_text().strip()), "the simulator")
    url = f"http://127.0.0.1:{port_file.read_text().strip()}/1.0"
    print(f"OVH API simulator at {url}")
    return url


def start_operator() -> None:
    """Start the operator with a token of its own ServiceAccount."""
    say("Starting the operator with its ServiceAccount's token (RBAC as in a cluster)")
    token = kubectl(
        "create", "token", "ovh-nodepool-operator", "-n", OPERATOR_NAMESPACE, "--duration=24h"
    ).strip()
    config = json.loads(kubectl("config", "view", "--raw", "-o", "json"))
    cluster = config["clusters"][0]["cluster"]
    kubeconfig = DEMO / "operator.kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "demo", "cluster": cluster}],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [{"name": "demo", "context": {"cluster": "demo", "user": "operator"}}],
                "current-context": "demo",
            }
        )
    )
    kubeconfig.chmod(0o600)

    env = {key: value for key, value in os.environ.items() if not key.startswith("OVH")}
    env.update(OPERATOR_ENV)
    env["KUBECONFIG"] = str(kubeconfig)
    start_detached("operator", [str(BIN / "ovh-nodepool-operator"), "run"], env)


def all_ready(names: list[str]) -> bool:
    """Tell whether every named object is Ready for its current generation."""
    items = json.loads(kubectl("get", "onp", "-n", "demo", "-o", "json"))["items"]
    ready = {
        item["metadata"]["name"]
        for item in items
        if item.get("status", {}).get("observedGeneration") == item["metadata"]["generation"]
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in item.get("status", {}).get("conditions", [])
        )
    }
    return set(names) <= ready


def show() -> None:
    """Print the real `kubectl get onp` table."""
    print(kubectl("get", "onp", "-n", "demo", "-o", "wide").rstrip())


def field(name: str, path: str) -> str:
    """Return one field of an object, read with a JSONPath."""
    return kubectl("get", "onp", name, "-n", "demo", "-o", f"jsonpath={{{path}}}")


def simulator_control(base_url: str, path: str, body: dict[str, object]) -> None:
    """Call the simulator's control API, which plays OVH's own autoscaler here."""
    url = base_url.removesuffix("/1.0") + "/_sim" + path
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback
        pass


def walk_through(base_url: str) -> None:
    """Apply the example pools and change them as a user would."""
    say("Creating namespace demo, a credentials Secret and three OVHNodePool objects")
    kubectl("create", "namespace", "demo", check=False)
    secret = kubectl(
        "create",
        "secret",
        "generic",
        "ovh-credentials",
        "-n",
        "demo",
        f"--from-literal=endpoint={base_url}",
        "--from-literal=applicationKey=demo-ak",
        "--from-literal=applicationSecret=demo-as",
        "--from-literal=consumerKey=demo-ck",
        "--dry-run=client",
        "-o",
        "yaml",
    )
    kubectl("apply", "-f", "-", input_text=secret)
    print(kubectl("apply", "-f", str(REPO / "examples" / "demo" / "pools.yaml")).rstrip())

    say("Waiting until OVH has built the pools (the simulator builds a node in 3 s)")
    wait(lambda: all_ready(["web", "batch", "gpu"]), "web, batch and gpu to be Ready")
    show()

    say("kubectl scale onp/web --replicas=4")
    kubectl("scale", "onp/web", "-n", "demo", "--replicas=4")
    wait(lambda: field("web", ".status.currentNodes") == "4" and all_ready(["web"]), "web at 4")
    show()

    say("OVH's autoscaler grows batch to 5 nodes: the operator reports it and never reverts it")
    pool_id = field("batch", ".status.nodePoolId")
    simulator_control(base_url, f"/pools/{pool_id}/autoscale", {"desiredNodes": 5})
    wait(lambda: field("batch", ".status.currentNodes") == "5" and all_ready(["batch"]), "batch")
    show()
    print(
        f"batch: spec.desiredNodes={field('batch', '.spec.desiredNodes')}, "
        f"status.desiredNodesOwner={field('batch', '.status.desiredNodesOwner')}"
    )

    say("Lowering batch's maxNodes to 3: the size moves into the new bounds in the same update")
    patch = json.dumps({"spec": {"maxNodes": 3}})
    kubectl("patch", "onp", "batch", "-n", "demo", "--type=merge", "-p", patch)
    wait(lambda: field("batch", ".status.currentNodes") == "3" and all_ready(["batch"]), "batch")
    show()

    say("Deleting gpu: the operator deletes the OVH pool, then releases the object")
    kubectl("delete", "onp", "gpu", "-n", "demo", "--timeout=180s")
    show()


def stop() -> bool:
    """Stop the operator, the simulator and the control plane of a demo; tell if one ran."""
    running = any((DEMO / f"{name}.pid").exists() for name in ("operator", "simulator"))
    for name in ("operator", "simulator"):
        pid_file = DEMO / f"{name}.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            pid_file.unlink()
    if PLANE_DIR.exists():
        run(str(BIN / "kube-control-plane"), "down", "--dir", str(PLANE_DIR), check=False)
    return running


def main() -> int:
    """Run the demo, or stop it with `stop`."""
    arguments = sys.argv[1:]
    if arguments == ["stop"]:
        stopped = stop()
        print("demo: stopped." if stopped else "demo: nothing was running.")
        return 0
    if arguments:
        print(USAGE, file=sys.stderr)
        return 2

    # Start clean: a previous demo's etcd data would hold objects of pools that no longer exist.
    if stop():
        print(f"demo: stopped the previous demo and deleted its state in {DEMO}.")
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    started = time.monotonic()
    start_control_plane()
    base_url = start_simulator()
    start_operator()
    walk_through(base_url)

    say(f"Done in {time.monotonic() - started:.0f} s. Everything is still running; play on:")
    kubectl_folder = Path((PLANE_DIR / "kubectl-path").read_text().strip()).parent
    print(f"  export PATH={kubectl_folder}:$PATH   # kubectl {KUBECTL_VERSION}, as the server")
    print(f"  export KUBECONFIG={KUBECONFIG}")
    print("  kubectl get onp -A -w")
    print("  kubectl edit onp web -n demo        # change desiredNodes, bounds, template")
    print(f"  tail -f {DEMO / 'operator.log'}")
    print("  hack/demo.sh stop                   # stop everything")
    return 0


if __name__ == "__main__":
    sys.exit(main())
