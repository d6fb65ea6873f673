"""The local control plane serves the version, CRD features and RBAC the operator relies on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from kube_control_plane import K8S_VERSION, ControlPlane

pytestmark = pytest.mark.e2e

CEL_MESSAGE = "minReplicas must not exceed maxReplicas"

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.test"},
    "spec": {
        "group": "example.test",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "listKind": "WidgetList",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                    },
                },
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["minReplicas", "maxReplicas"],
                                "properties": {
                                    "minReplicas": {"type": "integer", "minimum": 0},
                                    "maxReplicas": {"type": "integer", "minimum": 0},
                                    "replicas": {"type": "integer", "minimum": 0},
                                },
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.minReplicas <= self.maxReplicas",
                                        "message": CEL_MESSAGE,
                                    }
                                ],
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "replicas": {"type": "integer"},
                                    "phase": {"type": "string"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


def widget(name: str, namespace: str, *, min_replicas: int, max_replicas: int) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "example.test/v1",
            "kind": "Widget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
                "replicas": min_replicas,
            },
        }
    )


def get_json(control_plane: ControlPlane, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(control_plane.kubectl("get", *args, "-o", "json").stdout)
    return result


@pytest.fixture(scope="module")
def widget_crd(control_plane: ControlPlane) -> Iterator[str]:
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(WIDGET_CRD))
    control_plane.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/widgets.example.test"
    )
    yield "widgets.example.test"
    control_plane.kubectl("delete", "crd", "widgets.example.test", "--wait=false", check=False)


def test_server_version(control_plane: ControlPlane) -> None:
    versions = json.loads(control_plane.kubectl("version", "-o", "json").stdout)
    assert versions["serverVersion"]["gitVersion"] == K8S_VERSION
    assert versions["clientVersion"]["gitVersion"] == K8S_VERSION


def test_cel_rule_rejects_invalid_object(
    control_plane: ControlPlane, widget_crd: str, namespace: str
) -> None:
    result = control_plane.kubectl(
        "apply",
        "-f",
        "-",
        input=widget("bad", namespace, min_replicas=5, max_replicas=2),
        check=False,
    )
    assert result.returncode != 0
    assert CEL_MESSAGE in result.stderr
    missing = control_plane.kubectl("get", "widget", "bad", "-n", namespace, check=False)
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr


def test_valid_object_status_and_scale(
    control_plane: ControlPlane, widget_crd: str, namespace: str
) -> None:
    control_plane.kubectl(
        "apply", "-f", "-", input=widget("good", namespace, min_replicas=1, max_replicas=5)
    )
    created = get_json(control_plane, "widget", "good", "-n", namespace)
    assert created["spec"] == {"minReplicas": 1, "maxReplicas": 5, "replicas": 1}
    generation = created["metadata"]["generation"]

    # status subresource: status changes through /status only, and do not bump the generation
    control_plane.kubectl(
        "patch", "widget", "good", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"replicas": 1, "phase": "Ready"}}),
    )  # fmt: skip
    control_plane.kubectl(
        "patch", "widget", "good", "-n", namespace, "--type=merge",
        "-p", json.dumps({"status": {"phase": "Ignored"}}),
    )  # fmt: skip
    patched = get_json(control_plane, "widget", "good", "-n", namespace)
    assert patched["status"] == {"replicas": 1, "phase": "Ready"}
    assert patched["metadata"]["generation"] == generation

    # scale subresource: kubectl scale writes .spec.replicas
    control_plane.kubectl("scale", "widget/good", "-n", namespace, "--replicas=3")
    scaled = get_json(control_plane, "widget", "good", "-n", namespace)
    assert scaled["spec"]["replicas"] == 3
    assert scaled["metadata"]["generation"] == generation + 1
    scale = get_json(control_plane, "widget", "good", "-n", namespace, "--subresource=scale")
    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 3
    assert scale["status"]["replicas"] == 1

    # the CEL rule also guards updates
    result = control_plane.kubectl(
        "patch", "widget", "good", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"minReplicas": 9}}), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert CEL_MESSAGE in result.stderr


def test_service_account_token_gets_real_rbac(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl("create", "serviceaccount", "reader", "-n", namespace)
    control_plane.kubectl(
        "create",
        "role",
        "configmap-reader",
        "-n",
        namespace,
        "--verb=get,list",
        "--resource=configmaps",
    )
    control_plane.kubectl(
        "create", "rolebinding", "reader", "-n", namespace,
        "--role=configmap-reader", f"--serviceaccount={namespace}:reader",
    )  # fmt: skip
    kubeconfig = control_plane.service_account_kubeconfig(namespace, "reader")

    whoami = control_plane.kubectl("auth", "whoami", "-o", "json", kubeconfig=kubeconfig)
    username = json.loads(whoami.stdout)["status"]["userInfo"]["username"]
    assert username == f"system:serviceaccount:{namespace}:reader"

    listed = control_plane.kubectl("get", "configmaps", "-n", namespace, kubeconfig=kubeconfig)
    assert listed.returncode == 0

    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "nope"},
        "data": {"a": "b"},
    }
    denied = control_plane.kubectl(
        "create",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(configmap),
        kubeconfig=kubeconfig,
        check=False,
    )
    assert denied.returncode != 0
    assert "Error from server (Forbidden)" in denied.stderr  # HTTP 403

    other = control_plane.kubectl(
        "get", "configmaps", "-n", "default", kubeconfig=kubeconfig, check=False
    )
    assert other.returncode != 0
    assert "Error from server (Forbidden)" in other.stderr
