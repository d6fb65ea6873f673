"""Authentication errors of the signed mode, with their bodies and python-ovh exceptions."""

from __future__ import annotations

from typing import Any

import ovh
import pytest
import requests

from ovh_api_simulator.testing import SimulatorServer, make_client, signed_request


def test_unknown_application_key(ovh_sim: SimulatorServer) -> None:
    client = make_client(ovh_sim, application_key="unknown-ak")
    with pytest.raises(ovh.InvalidKey) as caught:
        client.get("/cloud/project")
    assert caught.value.response.status_code == 403
    assert caught.value.response.json() == {
        "errorCode": "INVALID_KEY",
        "httpCode": "403 Forbidden",
        "message": "This application key is invalid",
    }


@pytest.mark.parametrize("consumer_key", ["unknown-ck", "demo-ck-revoked"])
def test_unknown_or_revoked_consumer_key(ovh_sim: SimulatorServer, consumer_key: str) -> None:
    client = make_client(ovh_sim, consumer_key=consumer_key)
    with pytest.raises(ovh.InvalidCredential) as caught:
        client.get("/cloud/project")
    assert caught.value.response.json() == {
        "errorCode": "INVALID_CREDENTIAL",
        "httpCode": "403 Forbidden",
        "message": "This credential is not valid",
    }


def test_wrong_secret_is_invalid_signature(ovh_sim: SimulatorServer) -> None:
    client = make_client(ovh_sim, application_secret="wrong")
    with pytest.raises(ovh.BadParametersError, match="Invalid signature") as caught:
        client.get("/cloud/project")
    assert caught.value.response.json()["errorCode"] == "INVALID_SIGNATURE"
    assert caught.value.response.json()["httpCode"] == "400 Bad Request"


def test_clock_skew_rejected(ovh_sim: SimulatorServer) -> None:
    ovh_sim.control.settings(clockSkewSeconds=30)
    client = make_client(ovh_sim)
    client._time_delta = 31
    with pytest.raises(ovh.BadParametersError, match="Query out of time") as caught:
        client.get("/cloud/project")
    assert caught.value.response.json()["errorCode"] == "QUERY_TIME_OUT"

    client._time_delta = 29
    assert client.get("/cloud/project")


def test_python_ovh_uses_server_time_delta(ovh_sim: SimulatorServer) -> None:
    client = make_client(ovh_sim)
    client.get("/cloud/project")
    assert abs(client._time_delta) <= 1


def test_missing_headers(ovh_sim: SimulatorServer) -> None:
    response = requests.get(ovh_sim.base_url + "/cloud/project", timeout=5)
    assert response.status_code == 401
    assert response.json()["message"] == "You must login first"

    response = requests.get(
        ovh_sim.base_url + "/cloud/project", headers={"X-Ovh-Application": "demo-ak"}, timeout=5
    )
    assert response.status_code == 401


def test_missing_signature(ovh_sim: SimulatorServer) -> None:
    headers = {"X-Ovh-Application": "demo-ak", "X-Ovh-Consumer": "demo-ck", "X-Ovh-Timestamp": "1"}
    response = requests.get(ovh_sim.base_url + "/cloud/project", headers=headers, timeout=5)
    assert response.status_code == 400


def test_signature_covers_query_string(ovh_sim: SimulatorServer, client: Any) -> None:
    assert client.get("/cloud/project", iamTags="x") is not None
    response = signed_request(ovh_sim, "GET", "/cloud/project?iamTags=x")
    assert response.status_code == 200


def test_signature_uses_host_header(ovh_sim: SimulatorServer) -> None:
    url = ovh_sim.base_url.replace("127.0.0.1", "localhost")
    client = make_client(ovh_sim)
    client._endpoint = url
    assert client.get("/cloud/project")


def test_auth_time_needs_no_credentials(ovh_sim: SimulatorServer) -> None:
    response = requests.get(ovh_sim.base_url + "/auth/time", timeout=5)
    assert response.status_code == 200
    assert isinstance(response.json(), int)
