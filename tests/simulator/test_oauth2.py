"""OAuth2 client-credentials flow through python-ovh 1.2.0 and its error cases."""

from __future__ import annotations

import base64
import time

import ovh
import pytest
import requests
from ovh.exceptions import OAuth2FailureError

from ovh_api_simulator.testing import SimulatorServer, make_client


def test_oauth2_client_calls_api(ovh_sim: SimulatorServer) -> None:
    client = make_client(ovh_sim, "oauth2")
    assert client.get("/cloud/project")
    token_calls = [e for e in ovh_sim.control.requests() if e["route"] == "/auth/oauth2/token"]
    assert len(token_calls) == 1
    assert token_calls[0]["clientId"] == "demo-client"


def test_oauth2_bad_secret(ovh_sim: SimulatorServer) -> None:
    client = make_client(ovh_sim, "oauth2", client_secret="wrong")
    with pytest.raises(OAuth2FailureError, match="invalid_client"):
        client.get("/cloud/project")


def test_token_response_shape(ovh_sim: SimulatorServer) -> None:
    response = requests.post(
        ovh_sim.url + "/auth/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "scope": "all",
        },
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "all"
    assert body["access_token"]


def test_token_errors(ovh_sim: SimulatorServer) -> None:
    url = ovh_sim.url + "/auth/oauth2/token"
    wrong_grant = requests.post(url, data={"grant_type": "password"}, timeout=5)
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"

    form = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "x"}
    assert requests.post(url, data=form, timeout=5).status_code == 400

    basic = base64.b64encode(b"demo-client:x").decode()
    response = requests.post(
        url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_bearer_token(ovh_sim: SimulatorServer) -> None:
    response = requests.get(
        ovh_sim.base_url + "/cloud/project", headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert response.status_code == 401
    assert response.json()["class"] == "Client::Unauthorized::InvalidAuthToken"


def test_token_expiry_refetched_by_client(ovh_sim: SimulatorServer) -> None:
    ovh_sim.control.settings(tokenLifetimeSeconds=1)
    client = make_client(ovh_sim, "oauth2")
    assert client.get("/cloud/project")
    # oauthlib stores the expiry time in whole seconds, so it may treat the token as valid
    # for up to 0.5 s after the simulator has expired it.
    time.sleep(1.7)
    assert client.get("/cloud/project")
    token_calls = [e for e in ovh_sim.control.requests() if e["route"] == "/auth/oauth2/token"]
    assert len(token_calls) == 2


def test_expired_token_rejected(ovh_sim: SimulatorServer) -> None:
    ovh_sim.control.settings(tokenLifetimeSeconds=1)
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    token = requests.post(ovh_sim.url + "/auth/oauth2/token", data=form, timeout=5).json()[
        "access_token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        requests.get(ovh_sim.base_url + "/cloud/project", headers=headers, timeout=5).status_code
        == 200
    )
    time.sleep(1.1)
    expired = requests.get(ovh_sim.base_url + "/cloud/project", headers=headers, timeout=5)
    assert expired.status_code == 401


def test_oauth2_client_is_api_error_on_401(ovh_sim: SimulatorServer) -> None:
    client = make_client(ovh_sim, "oauth2")
    client.get("/cloud/project")
    ovh_sim.control.reset()
    with pytest.raises(ovh.APIError) as caught:
        client.get("/cloud/project")
    assert caught.value.response.status_code == 401
