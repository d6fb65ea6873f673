"""The Helm chart and the kustomize base: lint, schema, rendering, RBAC and installation."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kube_control_plane.binaries import ensure_binaries
from kube_control_plane.controlplane import ControlPlane

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "chart" / "ovh-nodepool-operator"
KUSTOMIZE_BASE = REPO / "deploy" / "kustomize" / "base"
ALL_OPTIONS = Path(__file__).with_name("values-all-options.yaml")
CRD = REPO / "crds" / "ovhnodepools.yaml"
CRD_COPIES = [CHART / "crds" / "ovhnodepools.yaml", KUSTOMIZE_BASE / "crds" / "ovhnodepools.yaml"]
RBAC_KINDS = ("ClusterRole", "Role")

Grant = tuple[str, str, str]

# Every (apiGroup, resource, verb) the operator needs, from its code and Kopf 1.45's:
# - Kopf lists and watches CRDs (kopf/_core/reactor/observation.py, resource_observer);
# - Kopf lists and watches OVHNodePools, and patches them for finalizers and annotations;
# - clients/kube.py reads one OVHNodePool (get_namespaced_custom_object), merge-patches
#   ovhnodepools/status and reads Secrets one by one (read_namespaced_secret);
# - Kopf posts core/v1 Events (kopf/_cogs/clients/events.py).
OBJECT_GRANTS: set[Grant] = {
    ("ovh.nodepool-operator.io", "ovhnodepools", "get"),
    ("ovh.nodepool-operator.io", "ovhnodepools", "list"),
    ("ovh.nodepool-operator.io", "ovhnodepools", "watch"),
    ("ovh.nodepool-operator.io", "ovhnodepools", "patch"),
    ("ovh.nodepool-operator.io", "ovhnodepools/status", "patch"),
    ("", "events", "create"),
    ("", "secrets", "get"),
}
CRD_GRANTS: set[Grant] = {
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
}
# With --namespace, Kopf lists and watches namespaces (observation.py, namespace_observer).
NAMESPACE_GRANTS: set[Grant] = {("", "namespaces", "list"), ("", "namespaces", "watch")}
# With a peering name, Kopf watches its peering kind and patches its keep-alive into one object.
CLUSTER_PEERING_GRANTS: set[Grant] = {
    ("kopf.dev", "clusterkopfpeerings", "list"),
    ("kopf.dev", "clusterkopfpeerings", "watch"),
    ("kopf.dev", "clusterkopfpeerings", "patch"),
}
NAMESPACED_PEERING_GRANTS: set[Grant] = {
    ("kopf.dev", "kopfpeerings", "list"),
    ("kopf.dev", "kopfpeerings", "watch"),
    ("kopf.dev", "kopfpeerings", "patch"),
}

SCHEMA_ERRORS = [
    ("replicas", ["--set", "replicaCount=2"], "/replicaCount"),
    ("log-format", ["--set", "logFormat=xml"], "/logFormat"),
    ("log-level", ["--set", "logLevel=TRACE"], "/logLevel"),
    ("negative-interval", ["--set", "settings.tickSeconds=-1"], "/settings/tickSeconds"),
    ("zero-burst", ["--set", "settings.rateLimitBurst=0"], "/settings/rateLimitBurst"),
    ("burst-type", ["--set", "settings.rateLimitBurst=many"], "/settings/rateLimitBurst"),
    ("port-range", ["--set", "metrics.port=70000"], "/metrics/port"),
    ("namespace-name", ["--set", "watchNamespaces={Team_A}"], "/watchNamespaces/0"),
    ("pull-policy", ["--set", "image.pullPolicy=Sometimes"], "/image/pullPolicy"),
    ("unknown-key", ["--set", "replicas=1"], "'replicas' not allowed"),
    ("misspelled-setting", ["--set", "settings.tickInterval=5"], "'tickInterval' not allowed"),
    ("peering-name", ["--set", "peering.name=Not_Valid"], "/peering/name"),
]


@pytest.fixture(scope="module")
def helm() -> Path:
    """Return the helm binary of the local control plane's cache."""
    return ensure_binaries(build=False).helm


def run_helm(helm: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run helm; fail with its output when `check` is set and it exits non-zero."""
    result = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def render(helm: Path, *options: str, namespace: str = "ovh-nodepool-operator") -> str:
    """Render the chart as `helm template` does, with release name ovh-nodepool-operator."""
    return run_helm(
        helm, "template", "ovh-nodepool-operator", str(CHART), f"--namespace={namespace}", *options
    ).stdout


def documents(text: str) -> list[dict[str, Any]]:
    """Parse a multi-document YAML stream, dropping empty documents."""
    return [item for item in yaml.safe_load_all(text) if item]


def only(items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """Return the single object of a kind, failing when there are none or several."""
    found = [item for item in items if item["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def grants(rules: list[dict[str, Any]]) -> set[Grant]:
    """Expand RBAC rules into (apiGroup, resource, verb) triples."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def role_grants(items: list[dict[str, Any]], kind: str) -> dict[str, set[Grant]]:
    """Return the grants of each Role or ClusterRole, keyed by namespace (or "" for cluster)."""
    return {
        item["metadata"].get("namespace", ""): grants(item["rules"])
        for item in items
        if item["kind"] == kind
    }


# ------------------------------------------------------------------------ files and static checks


@pytest.mark.parametrize("copy", CRD_COPIES, ids=["chart", "kustomize"])
def test_crd_copy_identical(copy: Path) -> None:
    assert copy.read_bytes() == CRD.read_bytes(), f"copy {CRD} to {copy}"
    assert not copy.is_symlink()


def test_kustomize_rbac_matches_chart_default() -> None:
    kustomize = documents((KUSTOMIZE_BASE / "rbac.yaml").read_text())

    assert grants(only(kustomize, "ClusterRole")["rules"]) == CRD_GRANTS | OBJECT_GRANTS


# -------------------------------------------------------------------------------- helm lint


@pytest.mark.e2e
def test_helm_lint_default(helm: Path) -> None:
    result = run_helm(helm, "lint", "--strict", str(CHART))

    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


@pytest.mark.e2e
def test_helm_lint_all_options(helm: Path) -> None:
    result = run_helm(helm, "lint", "--strict", str(CHART), "-f", str(ALL_OPTIONS))

    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


# ------------------------------------------------------------------------------ values schema


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("options", "expected"),
    [case[1:] for case in SCHEMA_ERRORS],
    ids=[case[0] for case in SCHEMA_ERRORS],
)
def test_values_schema_rejects(helm: Path, options: list[str], expected: str) -> None:
    result = run_helm(helm, "template", "r", str(CHART), *options, check=False)

    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert expected in result.stderr


@pytest.mark.e2e
def test_service_monitor_needs_metrics(helm: Path) -> None:
    options = ["--set", "metrics.enabled=false", "--set", "metrics.serviceMonitor.enabled=true"]

    result = run_helm(helm, "template", "r", str(CHART), *options, check=False)

    assert result.returncode != 0
    assert "metrics.serviceMonitor.enabled needs metrics.enabled: true" in result.stderr


@pytest.mark.e2e
def test_same_health_and_metrics_port_rejected(helm: Path) -> None:
    result = run_helm(helm, "template", "r", str(CHART), "--set", "metrics.port=8080", check=False)

    assert result.returncode != 0
    assert "metrics.port and health.port are both 8080" in result.stderr


# ---------------------------------------------------------------------------------- rendering


@pytest.mark.e2e
def test_render_default_deployment(helm: Path) -> None:
    deployment = only(documents(render(helm)), "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item for item in container["env"]}

    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["args"] == ["run"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert container["resources"]["limits"]["memory"] == "320Mi"
    assert env["OVHNP_HEALTH_PORT"]["value"] == "8080"
    assert env["OVHNP_METRICS_PORT"]["value"] == "9090"
    assert "OVHNP_NAMESPACES" not in env
    assert "OVHNP_PEERING" not in env
    assert not any(name.startswith("OVH_") for name in env)


@pytest.mark.e2e
def test_render_all_options(helm: Path) -> None:
    items = documents(render(helm, "-f", str(ALL_OPTIONS)))
    pod = only(items, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item for item in container["env"]}
    ports = {item["name"]: item["containerPort"] for item in container["ports"]}

    assert container["image"] == "registry.example.test/platform/ovh-nodepool-operator:0.1.0-test"
    assert env["OVHNP_NAMESPACES"]["value"] == "team-a,team-b"
    assert env["OVHNP_TICK_SECONDS"]["value"] == "2.5"
    assert env["OVHNP_RATE_LIMIT_PER_SECOND"]["value"] == "0.5"
    assert env["OVHNP_LOG_FORMAT"]["value"] == "json"
    assert env["OVHNP_PEERING"]["value"] == "onp-peering"
    assert env["OVH_CONSUMER_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "operator-ovh-credentials",
        "key": "ovh-consumer-key",
        "optional": True,
    }
    assert env["HTTPS_PROXY"]["value"] == "http://127.0.0.1:3128"
    assert ports == {"health": 8081, "metrics": 9091}
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["serviceAccountName"] == "onp-operator-sa"
    assert pod["tolerations"][0]["key"] == "dedicated"
    assert sorted(item["metadata"]["namespace"] for item in items if item["kind"] == "Role") == [
        "team-a",
        "team-b",
    ]


@pytest.mark.e2e
def test_render_every_setting_as_environment(helm: Path) -> None:
    container = only(documents(render(helm)), "Deployment")["spec"]["template"]["spec"]
    names = {item["name"] for item in container["containers"][0]["env"]}
    settings = yaml.safe_load((CHART / "values.yaml").read_text())["settings"]

    for key in settings:
        snake = "".join(f"_{char.lower()}" if char.isupper() else char for char in key)
        assert f"OVHNP_{snake.upper()}" in names, key


@pytest.mark.e2e
def test_render_service_monitor(helm: Path) -> None:
    items = documents(render(helm, "--set", "metrics.serviceMonitor.enabled=true"))
    monitor = only(items, "ServiceMonitor")
    service = only(items, "Service")

    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert service["spec"]["ports"][0] == {
        "name": "metrics",
        "port": 9090,
        "targetPort": "metrics",
        "protocol": "TCP",
    }
    for key, value in monitor["spec"]["selector"]["matchLabels"].items():
        assert service["metadata"]["labels"][key] == value


@pytest.mark.e2e
def test_render_without_metrics(helm: Path) -> None:
    items = documents(render(helm, "--set", "metrics.enabled=false"))
    container = only(items, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item for item in container["env"]}

    assert not [item for item in items if item["kind"] in ("Service", "ServiceMonitor")]
    assert env["OVHNP_METRICS_PORT"]["value"] == "0"


# ---------------------------------------------------------------------------------------- RBAC


@pytest.mark.e2e
def test_rbac_cluster_wide_is_minimal(helm: Path) -> None:
    items = documents(render(helm))

    assert role_grants(items, "ClusterRole") == {"": CRD_GRANTS | OBJECT_GRANTS}
    assert role_grants(items, "Role") == {}


@pytest.mark.e2e
def test_rbac_namespaced_is_minimal(helm: Path) -> None:
    items = documents(render(helm, "--set", "watchNamespaces={team-a,team-b}"))

    assert role_grants(items, "ClusterRole") == {"": CRD_GRANTS | NAMESPACE_GRANTS}
    assert role_grants(items, "Role") == {"team-a": OBJECT_GRANTS, "team-b": OBJECT_GRANTS}
    assert {item["metadata"]["namespace"] for item in items if item["kind"] == "RoleBinding"} == {
        "team-a",
        "team-b",
    }


@pytest.mark.e2e
def test_rbac_peering_cluster_wide(helm: Path) -> None:
    items = documents(render(helm, "--set", "peering.enabled=true"))
    peering_patch = [
        rule
        for rule in only(items, "ClusterRole")["rules"]
        if "patch" in rule["verbs"] and rule["apiGroups"] == ["kopf.dev"]
    ]

    assert role_grants(items, "ClusterRole") == {
        "": CRD_GRANTS | OBJECT_GRANTS | CLUSTER_PEERING_GRANTS
    }
    assert [rule["resourceNames"] for rule in peering_patch] == [["ovh-nodepool-operator"]]
    assert only(items, "ClusterKopfPeering")["metadata"]["name"] == "ovh-nodepool-operator"


@pytest.mark.e2e
def test_rbac_peering_namespaced(helm: Path) -> None:
    items = documents(render(helm, "--set", "peering.enabled=true", "--set", "watchNamespaces={a}"))

    assert role_grants(items, "ClusterRole") == {"": CRD_GRANTS | NAMESPACE_GRANTS}
    assert role_grants(items, "Role") == {"a": OBJECT_GRANTS | NAMESPACED_PEERING_GRANTS}
    assert only(items, "KopfPeering")["metadata"]["namespace"] == "a"


@pytest.mark.e2e
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["-f", str(ALL_OPTIONS)],
        ["--set", "rbac.create=false", "--set", "serviceAccount.name=x"],
    ],
    ids=["default", "all-options", "no-rbac"],
)
def test_rbac_grants_no_wildcard_or_secret_listing(helm: Path, options: list[str]) -> None:
    items = documents(render(helm, *options))
    rules = [rule for item in items if item["kind"] in RBAC_KINDS for rule in item["rules"]]

    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
    for group, resource, verb in grants(rules):
        if resource == "secrets":
            assert verb == "get", (group, resource, verb)


# ------------------------------------------------------------------ against the control plane


@pytest.fixture
def release_namespace(control_plane: ControlPlane) -> Iterator[str]:
    """Create a namespace for a release; delete it afterwards without waiting."""
    name = f"chart-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


def install_kopf_peering_crds(plane: ControlPlane) -> None:
    """Apply the chart's Kopf peering CRDs and wait until the API server serves them."""
    plane.kubectl("apply", "-f", str(CHART / "crds" / "kopf-peerings.yaml"))
    for name in ("clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"):
        plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{name}")


@pytest.mark.e2e
@pytest.mark.parametrize("variant", ["default", "namespaced", "peering-namespaced"], ids=str)
def test_template_server_dry_run(
    control_plane: ControlPlane, helm: Path, release_namespace: str, variant: str
) -> None:
    options: list[str] = []
    if variant != "default":
        options += ["--set", f"watchNamespaces={{{release_namespace}}}"]
    if variant.startswith("peering"):
        install_kopf_peering_crds(control_plane)
        options += ["--set", "peering.enabled=true"]
    manifest = render(helm, *options, namespace=release_namespace)

    result = control_plane.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=manifest, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "deployment.apps/ovh-nodepool-operator created (server dry run)" in result.stdout


@pytest.mark.e2e
def test_helm_install_creates_objects(
    control_plane: ControlPlane, helm: Path, release_namespace: str
) -> None:
    kubeconfig = f"--kubeconfig={control_plane.admin_kubeconfig}"
    release = f"onp-{release_namespace[-8:]}"
    run_helm(
        helm,
        "install",
        release,
        str(CHART),
        kubeconfig,
        f"--namespace={release_namespace}",
        "--set",
        f"watchNamespaces={{{release_namespace}}}",
        "--set",
        "peering.enabled=true",
        "--set",
        "credentials.existingSecret=ovh-operator",
    )
    try:
        listing = control_plane.kubectl(
            "get", "deployment,serviceaccount,role,rolebinding,service,kopfpeering",
            "-n", release_namespace, "-o", "json",
        )  # fmt: skip
        items = json.loads(listing.stdout)["items"]
        deployment = only(items, "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        role_name = f"{release}-ovh-nodepool-operator"
        cluster_role = json.loads(
            control_plane.kubectl("get", "clusterrole", role_name, "-o", "json").stdout
        )

        assert deployment["spec"]["strategy"]["type"] == "Recreate"
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert only(items, "ServiceAccount")["metadata"]["name"] == deployment["metadata"]["name"]
        assert grants(only(items, "Role")["rules"]) == OBJECT_GRANTS | NAMESPACED_PEERING_GRANTS
        assert only(items, "Service")["spec"]["ports"][0]["name"] == "metrics"
        assert only(items, "KopfPeering")["metadata"]["name"] == "ovh-nodepool-operator"
        assert grants(cluster_role["rules"]) == CRD_GRANTS | NAMESPACE_GRANTS
    finally:
        run_helm(helm, "uninstall", release, kubeconfig, f"--namespace={release_namespace}")


@pytest.mark.e2e
def test_helm_install_rejects_invalid_values(
    control_plane: ControlPlane, helm: Path, release_namespace: str
) -> None:
    kubeconfig = f"--kubeconfig={control_plane.admin_kubeconfig}"

    result = run_helm(
        helm, "install", "invalid", str(CHART), kubeconfig, f"--namespace={release_namespace}",
        "--set", "logFormat=xml", check=False,
    )  # fmt: skip
    releases = run_helm(helm, "list", kubeconfig, f"--namespace={release_namespace}", "-q")

    assert result.returncode != 0
    assert "/logFormat" in result.stderr
    assert releases.stdout.strip() == ""


@pytest.mark.e2e
def test_kustomize_base_applies(control_plane: ControlPlane) -> None:
    # A server-side dry run creates nothing, so the objects in the base's namespace need the
    # namespace to exist already.
    control_plane.kubectl("apply", "-f", str(KUSTOMIZE_BASE / "namespace.yaml"))
    dry_run = control_plane.kubectl(
        "apply", "-k", str(KUSTOMIZE_BASE), "--dry-run=server", check=False
    )
    assert dry_run.returncode == 0, dry_run.stderr

    control_plane.kubectl("apply", "-k", str(KUSTOMIZE_BASE))
    listing = control_plane.kubectl(
        "get", "deployment/ovh-nodepool-operator", "-n", "ovh-nodepool-operator", "-o", "json"
    )
    deployment = json.loads(listing.stdout)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]

    assert container["image"] == "ghcr.io/your-org/ovh-nodepool-operator:0.1.0"
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
