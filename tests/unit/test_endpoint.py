"""Tests of endpoint validation and of pointing python-ovh clients at a base URL.

Nothing here opens a connection, because building a python-ovh client sends no request.
"""

import ovh.config
import pytest
from ovh.client import ENDPOINTS

from ovh_nodepool_operator.clients.credentials import Credentials, credentials_from_mapping
from ovh_nodepool_operator.clients.endpoint import (
    PUBLIC_CLOUD_ENDPOINTS,
    build_client,
    detach_library_configuration,
    validate_endpoint,
)
from ovh_nodepool_operator.domain.errors import CredentialsConfigError

# python-ovh reads these variables for every key that the caller passes as None.
OVH_VARIABLES = (
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove python-ovh's variables and restore OAUTHLIB_INSECURE_TRANSPORT afterwards."""
    for name in OVH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "")
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")


def signed(endpoint: str) -> Credentials:
    return credentials_from_mapping(
        {
            "endpoint": endpoint,
            "applicationKey": "app-key-1",
            "applicationSecret": "app-secret-1",
            "consumerKey": "consumer-key-1",
        },
        source="test",
    )


def oauth2(endpoint: str) -> Credentials:
    return credentials_from_mapping(
        {"endpoint": endpoint, "clientId": "client-id-1", "clientSecret": "client-secret-1"},
        source="test",
    )


def rejection(endpoint: str) -> str:
    with pytest.raises(CredentialsConfigError) as caught:
        validate_endpoint(endpoint)
    return caught.value.message


@pytest.mark.parametrize("name", ["ovh-eu", "ovh-ca", "ovh-us"])
def test_known_name_accepted(name: str) -> None:
    validate_endpoint(name)


def test_unknown_name_lists_valid_names() -> None:
    message = rejection("ovh-mars")

    assert "ovh-mars" in message
    for name in PUBLIC_CLOUD_ENDPOINTS:
        assert name in message


def test_endpoint_without_public_cloud_rejected() -> None:
    message = rejection("kimsufi-eu")

    assert "kimsufi-eu" in message


def test_other_scheme_rejected() -> None:
    message = rejection("ftp://eu.api.ovh.com/1.0")

    assert "ftp://eu.api.ovh.com/1.0" in message


@pytest.mark.parametrize(
    "url",
    ["https://eu.api.ovh.com/1.0", "https://api.example.test:8443/1.0", "https://10.0.0.5/1.0"],
)
def test_https_url_accepted(url: str) -> None:
    validate_endpoint(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/1.0",
        "http://127.0.0.2:8080",
        "http://localhost:8080/1.0",
        "http://[::1]:8080/1.0",
    ],
)
def test_http_loopback_accepted(url: str) -> None:
    validate_endpoint(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://eu.api.ovh.com/1.0",
        "http://10.0.0.5:8080/1.0",
        "http://localhost.example.com/1.0",
        "http://[2001:db8::1]/1.0",
    ],
)
def test_http_elsewhere_rejected(url: str) -> None:
    message = rejection(url)

    assert url in message
    assert "https" in message


def test_url_without_host_rejected() -> None:
    message = rejection("https:///1.0")

    assert "no host" in message


def test_named_endpoint_keeps_library_url() -> None:
    client = build_client(signed("ovh-ca"), timeout=5)

    assert client._endpoint == ENDPOINTS["ovh-ca"]


def test_base_url_sets_client_base() -> None:
    client = build_client(signed("https://api.example.test/1.0/"), timeout=5)

    assert client._endpoint == "https://api.example.test/1.0"


def test_loopback_base_url_sets_client_base() -> None:
    client = build_client(signed("http://127.0.0.1:18080/1.0"), timeout=5)

    assert client._endpoint == "http://127.0.0.1:18080/1.0"


def test_build_client_passes_timeout() -> None:
    client = build_client(signed("ovh-eu"), timeout=7.5)

    assert client._timeout == 7.5


def test_build_client_rejects_bad_endpoint() -> None:
    with pytest.raises(CredentialsConfigError):
        build_client(signed("http://10.0.0.5/1.0"), timeout=5)


def test_oauth2_token_url_follows_base() -> None:
    client = build_client(oauth2("https://api.example.test:8443/1.0"), timeout=5)

    assert client._endpoint == "https://api.example.test:8443/1.0"
    assert client._oauth2.token_url == "https://api.example.test:8443/auth/oauth2/token"


def test_oauth2_loopback_token_url() -> None:
    client = build_client(oauth2("http://127.0.0.1:18080/1.0"), timeout=5)

    assert client._oauth2.token_url == "http://127.0.0.1:18080/auth/oauth2/token"


def test_oauth2_keeps_client_id() -> None:
    client = build_client(oauth2("https://api.example.test/1.0"), timeout=5)

    assert client._oauth2.client_id == "client-id-1"


def test_oauth2_ignores_signed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The operator's own signed credentials are in these variables. A client built from an
    # object's OAuth2 Secret must still use only the Secret's keys.
    monkeypatch.setenv("OVH_APPLICATION_KEY", "operator-app-key")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "operator-app-secret")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "operator-consumer-key")
    monkeypatch.setattr(ovh.config, "CONFIG_PATH", list(ovh.config.CONFIG_PATH))

    detach_library_configuration()
    client = build_client(oauth2("ovh-eu"), timeout=5)

    assert client._application_key is None


def test_signed_ignores_oauth2_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVH_CLIENT_ID", "operator-client-id")
    monkeypatch.setenv("OVH_CLIENT_SECRET", "operator-client-secret")
    monkeypatch.setattr(ovh.config, "CONFIG_PATH", list(ovh.config.CONFIG_PATH))

    detach_library_configuration()
    client = build_client(signed("ovh-eu"), timeout=5)

    assert client._oauth2 is None
