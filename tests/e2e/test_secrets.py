"""No secret reaches the operator's log, an Event or a status, even at DEBUG level."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from kube_control_plane.controlplane import ControlPlane
from ovh_api_simulator.testing import SimulatorServer
from tests.e2e.support import (
    E2E_SECRET_VALUES,
    OperatorProcess,
    apply,
    get_object,
    is_ready,
    node_pool,
    wait_for,
    wait_ready,
)

pytestmark = pytest.mark.e2e

OAUTH2_CLIENT = {"clientId": "e2e-oauth2-client", "clientSecret": "e2e-oauth2-secret-5d2c"}


@pytest.fixture
def debug_operator(
    operator: OperatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """Replace the session operator by one that logs at DEBUG; restore it afterwards."""
    operator.stop()
    log_path = tmp_path_factory.mktemp("debug") / "operator.log"
    env = {"OVHNP_LOG_LEVEL": "DEBUG"}
    debug = OperatorProcess(operator.kubeconfig, log_path, env=env).start()
    yield debug
    debug.stop()
    operator.start()


def test_debug_log_holds_no_secret(
    control_plane: ControlPlane,
    debug_operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    e2e_simulator.control.seed({"credentials": [{**OAUTH2_CLIENT, "projects": ["*"]}]})
    oauth2_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "oauth2", "namespace": workspace},
        "stringData": {"endpoint": e2e_simulator.base_url, **OAUTH2_CLIENT},
    }
    apply(control_plane, oauth2_secret)
    apply(
        control_plane,
        [
            node_pool(workspace, "signed", project_id, kube_id, desiredNodes=1),
            node_pool(
                workspace, "oauth", project_id, kube_id, credentialsSecretRef={"name": "oauth2"}
            ),
        ],
    )
    for name in ("signed", "oauth"):
        wait_ready(control_plane, workspace, name)
    control_plane.kubectl("scale", "onp/oauth", "-n", workspace, "--replicas=2")
    control_plane.kubectl("delete", "onp", "--all", "-n", workspace, "--timeout=60s")

    outputs = {
        "operator log": debug_operator.logs(),
        "events": control_plane.kubectl("get", "events", "-n", workspace, "-o", "json").stdout,
    }
    assert "DEBUG" in outputs["operator log"]
    for value in secret_forms():
        for where, text in outputs.items():
            assert value not in text, f"a secret value appears in the {where}"


def secret_forms() -> list[str]:
    """Return every secret value, the OAuth2 pair as HTTP Basic sends it, and token markers."""
    basic = f"{OAUTH2_CLIENT['clientId']}:{OAUTH2_CLIENT['clientSecret']}"
    encoded = base64.b64encode(basic.encode()).decode()
    # An OAuth2 token's value is unknown to the test, but its JSON key and header are not.
    return [*E2E_SECRET_VALUES, OAUTH2_CLIENT["clientSecret"], encoded, "access_token", "Bearer "]


def test_status_holds_no_secret(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    e2e_simulator: SimulatorServer,
    workspace: str,
    cluster: tuple[str, str],
) -> None:
    project_id, kube_id = cluster
    apply(control_plane, node_pool(workspace, "plain", project_id, kube_id, desiredNodes=1))

    obj = wait_for(
        lambda: (o := get_object(control_plane, workspace, "plain")) and is_ready(o) and o,
        what="plain to be Ready",
    )

    text = json.dumps(obj)
    for value in E2E_SECRET_VALUES:
        assert value not in text
