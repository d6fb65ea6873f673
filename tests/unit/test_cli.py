"""Tests of the command line: argument parsing, manifest rendering, credentials, check, export.

The `check` and `export` runs use the in-process OVH API simulator seeded with the test seed.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from ovh_api_simulator.testing import SimulatorServer
from ovh_nodepool_operator import cli
from ovh_nodepool_operator.domain import errors
from ovh_nodepool_operator.domain.export import (
    ADOPT_ANNOTATION,
    ExportOptions,
    object_name,
    render_manifests,
)
from ovh_nodepool_operator.domain.models import NodePoolSpec, OvhPool
from ovh_nodepool_operator.domain.planner import NoChange, plan_update
from ovh_nodepool_operator.handlers import objects
from ovh_nodepool_operator.handlers.inventory import credentials_from_file

CRD_PATH = Path(__file__).resolve().parents[2] / "crds" / "ovhnodepools.yaml"
PROJECT = "0123456789abcdef0123456789abcdef"
KUBE = "6f1c2a4e-7d3b-4c5a-9e8f-0a1b2c3d4e5f"
SEEDED_POOL_ID = "11111111-2222-4333-8444-555555555555"
OPTIONS = ExportOptions(project_id=PROJECT, kube_id=KUBE)
SIGNED_KEYS = {
    "endpoint": "ovh-eu",
    "applicationKey": "file-app-key",
    "applicationSecret": "file-app-secret-91c2",
    "consumerKey": "file-consumer-key-4d7e",
}
FILE_SECRETS = (SIGNED_KEYS["applicationSecret"], SIGNED_KEYS["consumerKey"])
OVH_VARIABLES = (
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
)


def live_pool(**fields: Any) -> OvhPool:
    """Return a READY pool as OVH lists it, with the given fields changed."""
    data: dict[str, Any] = {
        "id": "0f7e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
        "name": "web",
        "flavor": "b3-8",
        "status": "READY",
        "desiredNodes": 3,
        "minNodes": 1,
        "maxNodes": 10,
        "currentNodes": 3,
        "availableNodes": 3,
        "upToDateNodes": 3,
        "autoscaling": {
            "scaleDownUtilizationThreshold": 0.5,
            "scaleDownUnneededTimeSeconds": 600,
            "scaleDownUnreadyTimeSeconds": 1200,
        },
        "attachFloatingIps": {"enabled": False},
        "template": {
            "metadata": {"labels": {}, "annotations": {}, "finalizers": []},
            "spec": {"unschedulable": False, "taints": []},
        },
    }
    data.update(fields)
    return OvhPool.model_validate(data)


LIVE_POOLS = {
    "plain": live_pool(),
    "template": live_pool(
        template={
            "metadata": {
                "labels": {"team": "web", "tier": "front"},
                "annotations": {"example.com/owner": "platform"},
                "finalizers": ["example.com/drain"],
            },
            "spec": {
                "unschedulable": True,
                "taints": [
                    {"key": "dedicated", "value": "web", "effect": "NoSchedule"},
                    {"key": "spot", "effect": "PreferNoSchedule"},
                ],
            },
        }
    ),
    "autoscaled": live_pool(autoscale=True, desiredNodes=7, currentNodes=7),
    "zone": live_pool(availabilityZones=["eu-west-par-a"], attachFloatingIps={"enabled": True}),
    "anti-affinity": live_pool(
        antiAffinity=True, monthlyBilled=True, minNodes=0, maxNodes=5, desiredNodes=2
    ),
    "bare": live_pool(autoscaling=None, attachFloatingIps=None, template=None),
}


def crd_spec_properties() -> set[str]:
    crd = yaml.safe_load(CRD_PATH.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return set(schema["properties"]["spec"]["properties"])


def clear_ovh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OVH_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def use_simulator(
    monkeypatch: pytest.MonkeyPatch, sim: SimulatorServer, consumer_key: str = "demo-ck"
) -> None:
    clear_ovh_environment(monkeypatch)
    monkeypatch.setenv("OVH_ENDPOINT", sim.base_url)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "demo-ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "demo-as")
    monkeypatch.setenv("OVH_CONSUMER_KEY", consumer_key)


# Argument parsing


def test_check_defaults() -> None:
    args = cli.build_parser().parse_args(["check"])

    assert args.command == "check"
    assert args.output == "table"
    assert args.secret_file is None
    assert args.secret is None


def test_check_secret_reference_split() -> None:
    args = cli.build_parser().parse_args(["check", "--secret", "platform/ovh-credentials"])

    assert args.secret == ("platform", "ovh-credentials")


@pytest.mark.parametrize("value", ["ovh", "/ovh", "platform/", "a/b/c"])
def test_check_bad_secret_reference_rejected(value: str) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.build_parser().parse_args(["check", "--secret", value])

    assert caught.value.code == 2


def test_secret_sources_exclusive() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["check", "--secret", "a/b", "--secret-file", "f.yaml"])


def test_export_requires_project_and_kube() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["export", "--project", PROJECT])


def test_export_options_parsed() -> None:
    args = cli.build_parser().parse_args(
        [
            "export",
            "--project",
            PROJECT,
            "--kube",
            KUBE,
            "--namespace",
            "platform",
            "--secret-name",
            "ovh",
            "--name-prefix",
            "prod-",
            "--deletion-policy",
            "Orphan",
        ]
    )

    assert (args.project, args.kube, args.namespace) == (PROJECT, KUBE, "platform")
    assert (args.secret_name, args.name_prefix, args.deletion_policy) == ("ovh", "prod-", "Orphan")


def test_run_arguments_unchanged() -> None:
    args = cli.build_parser().parse_args(["run", "--verbose"])

    assert args.command == "run"
    assert args.verbose is True


# Object names


@pytest.mark.parametrize(
    ("pool_name", "prefix", "expected"),
    [
        ("web", "", "web"),
        ("web", "prod-", "prod-web"),
        ("GPU_Pool.v2", "", "gpu-pool-v2"),
        ("--edge--", "", "edge"),
        ("", "", "pool"),
        ("___", "", "pool"),
    ],
)
def test_object_name_is_dns_label(pool_name: str, prefix: str, expected: str) -> None:
    assert object_name(pool_name, prefix) == expected


def test_object_name_truncated_to_63() -> None:
    name = object_name("a" * 50, prefix="x" * 12 + "-")

    assert len(name) == 63
    assert not name.endswith("-")


def test_colliding_names_get_id_suffix() -> None:
    pools = [
        live_pool(name="web", id="aaaaaaaa-1111-4111-8111-111111111111"),
        live_pool(name="WEB", id="bbbbbbbb-2222-4222-8222-222222222222"),
    ]

    names = [manifest["metadata"]["name"] for manifest in render_manifests(pools, OPTIONS)]

    assert names == ["web", "web-aaaaaaaa"]


# Manifests


@pytest.mark.parametrize("case", sorted(LIVE_POOLS))
def test_manifest_spec_plans_no_change(case: str) -> None:
    pool = LIVE_POOLS[case]

    (manifest,) = render_manifests([pool], OPTIONS)
    spec = NodePoolSpec.model_validate(manifest["spec"])

    assert plan_update(spec, pool) == NoChange()
    assert spec.pool_name(manifest["metadata"]["name"]) == pool.name


@pytest.mark.parametrize("case", sorted(LIVE_POOLS))
def test_manifest_fields_in_crd(case: str) -> None:
    (manifest,) = render_manifests([LIVE_POOLS[case]], OPTIONS)

    assert set(manifest["spec"]) <= crd_spec_properties()


def test_manifest_survives_yaml() -> None:
    manifests = render_manifests(LIVE_POOLS.values(), OPTIONS)

    text = yaml.safe_dump_all(manifests, sort_keys=False)

    assert list(yaml.safe_load_all(text)) == manifests


def test_manifest_adopts_by_pool_id() -> None:
    pool = LIVE_POOLS["template"]
    options = ExportOptions(
        project_id=PROJECT,
        kube_id=KUBE,
        namespace="platform",
        secret_name="ovh-credentials",
        deletion_policy="Orphan",
    )

    (manifest,) = render_manifests([pool], options)

    assert manifest["apiVersion"] == "ovh.nodepool-operator.io/v1alpha1"
    assert manifest["kind"] == "OVHNodePool"
    assert manifest["metadata"]["namespace"] == "platform"
    assert manifest["metadata"]["annotations"] == {ADOPT_ANNOTATION: pool.id}
    assert manifest["spec"]["credentialsSecretRef"] == {"name": "ovh-credentials"}
    assert manifest["spec"]["deletionPolicy"] == "Orphan"
    assert manifest["spec"]["template"]["spec"]["taints"][1] == {
        "key": "spot",
        "value": "",
        "effect": "PreferNoSchedule",
    }


def test_manifest_omits_unset_options() -> None:
    (manifest,) = render_manifests([LIVE_POOLS["bare"]], OPTIONS)

    assert "namespace" not in manifest["metadata"]
    for field in ("credentialsSecretRef", "deletionPolicy", "autoscaling", "attachFloatingIps"):
        assert field not in manifest["spec"]
    assert manifest["spec"]["template"]["spec"] == {"unschedulable": False, "taints": []}


def test_autoscaled_manifest_keeps_live_size() -> None:
    (manifest,) = render_manifests([LIVE_POOLS["autoscaled"]], OPTIONS)

    assert manifest["spec"]["autoscale"] is True
    assert manifest["spec"]["desiredNodes"] == 7


def test_adopt_annotation_matches_handlers() -> None:
    assert ADOPT_ANNOTATION == objects.ADOPT_ANNOTATION


# Credentials files


def test_credentials_file_with_keys(tmp_path: Path) -> None:
    path = tmp_path / "ovh.yaml"
    path.write_text(yaml.safe_dump(SIGNED_KEYS))

    credentials = credentials_from_file(path)

    assert credentials.identity == "file-app-key@ovh-eu"
    assert credentials.consumer_key is not None
    assert credentials.consumer_key.get_secret_value() == SIGNED_KEYS["consumerKey"]


def test_credentials_file_with_secret_manifest(tmp_path: Path) -> None:
    data = {key: base64.b64encode(value.encode()).decode() for key, value in SIGNED_KEYS.items()}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ovh"},
        "data": data,
        "stringData": {"applicationKey": "overriding-key"},
    }
    path = tmp_path / "secret.json"
    path.write_text(json.dumps(secret))

    credentials = credentials_from_file(path)

    assert credentials.application_key == "overriding-key"
    assert credentials.application_secret is not None
    assert credentials.application_secret.get_secret_value() == SIGNED_KEYS["applicationSecret"]


def test_invalid_yaml_message_hides_values(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(f"endpoint: ovh-eu\napplicationSecret: {FILE_SECRETS[0]}: [\n")

    with pytest.raises(errors.CredentialsConfigError) as caught:
        credentials_from_file(path)

    assert "line 2" in caught.value.message
    for secret in FILE_SECRETS:
        assert secret not in caught.value.message


def test_bad_base64_names_key_only(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(yaml.safe_dump({"kind": "Secret", "data": {"consumerKey": "not base64!"}}))

    with pytest.raises(errors.CredentialsConfigError) as caught:
        credentials_from_file(path)

    assert "data.consumerKey" in caught.value.message
    assert "not base64!" not in caught.value.message


def test_missing_credentials_file(tmp_path: Path) -> None:
    with pytest.raises(errors.CredentialsConfigError) as caught:
        credentials_from_file(tmp_path / "absent.yaml")

    assert "absent.yaml" in caught.value.message


# check and export against the simulator


def test_check_lists_clusters_and_pools(
    ovh_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_simulator(monkeypatch, ovh_sim)

    status = cli.main(["check"])

    out = capsys.readouterr().out
    assert status == 0
    assert "reach 2 project(s), 2 cluster(s) and 1 node pool(s)" in out
    header, *rows = out.split("\n\n", 1)[1].splitlines()
    assert header.split("  ")[0] == "PROJECT"
    assert "DESIRED/CURRENT" in header
    first = rows[0].split()
    assert first == [PROJECT, KUBE, "test-a", "GRA11", "system", "b3-8", "2/2", "READY", "off"]
    assert "no node pools" in rows[1]


def test_check_json_output(
    ovh_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_simulator(monkeypatch, ovh_sim)

    status = cli.main(["check", "--output", "json"])

    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert document["identity"] == f"demo-ak@{ovh_sim.base_url}"
    project = next(item for item in document["projects"] if item["id"] == PROJECT)
    (cluster,) = project["clusters"]
    assert (cluster["id"], cluster["name"], cluster["region"]) == (KUBE, "test-a", "GRA11")
    (pool,) = cluster["pools"]
    assert pool["id"] == SEEDED_POOL_ID
    assert (pool["desiredNodes"], pool["currentNodes"], pool["autoscale"]) == (2, 2, False)


def test_check_revoked_key_exits_2(
    ovh_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_simulator(monkeypatch, ovh_sim, consumer_key="demo-ck-revoked")

    status = cli.main(["check"])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "InvalidCredentials: OVH rejected the credentials" in captured.err
    assert "demo-as" not in captured.err
    assert "demo-ck-revoked" not in captured.err


def test_check_without_credentials_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clear_ovh_environment(monkeypatch)

    status = cli.main(["check", "--output", "json"])

    captured = capsys.readouterr()
    assert status == 2
    assert json.loads(captured.out)["error"]["reason"] == "InvalidCredentials"
    assert "No OVH credentials given" in captured.err


def test_check_unreachable_project_exits_1(
    ovh_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_simulator(monkeypatch, ovh_sim)
    route = "/cloud/project/{serviceName}/kube"
    ovh_sim.control.inject_fault(method="GET", route=route, kind="status", status=503, count=1)

    status = cli.main(["check"])

    captured = capsys.readouterr()
    assert status == 1
    assert "error: TransientError" in captured.out
    assert "HTTP 503" in captured.err


def test_export_prints_adopting_manifests(
    ovh_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_simulator(monkeypatch, ovh_sim)

    status = cli.main(["export", "--project", PROJECT, "--kube", KUBE, "--secret-name", "ovh"])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("# 1 node pool(s) of cluster test-a")
    (manifest,) = yaml.safe_load_all(out)
    assert manifest["metadata"] == {
        "name": "system",
        "annotations": {ADOPT_ANNOTATION: SEEDED_POOL_ID},
    }
    pool = OvhPool.model_validate(ovh_sim.control.pool(SEEDED_POOL_ID))
    assert plan_update(NodePoolSpec.model_validate(manifest["spec"]), pool) == NoChange()


def test_export_unknown_cluster_exits_1(
    ovh_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_simulator(monkeypatch, ovh_sim)

    status = cli.main(["export", "--project", PROJECT, "--kube", "no-such-cluster"])

    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert "ClusterNotFound" in captured.err


def test_ovh_variables_removed_after_reading(
    ovh_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_simulator(monkeypatch, ovh_sim)

    status = cli.main(["check", "--output", "json"])

    capsys.readouterr()
    assert status == 0
    for name in OVH_VARIABLES:
        assert name not in os.environ
