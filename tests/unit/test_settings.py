"""Tests of reading the operator settings from environment variables."""

import os

import pytest
from pydantic import ValidationError

from ovh_nodepool_operator.settings import OperatorSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test from an environment with no operator or OVH variables."""
    for name in list(os.environ):
        if name.startswith(("OVHNP_", "OVH_")):
            monkeypatch.delenv(name)


def rejection(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        OperatorSettings()
    return str(caught.value)


def test_defaults_without_environment() -> None:
    settings = OperatorSettings()

    assert settings.namespaces == []
    assert settings.rate_limit_per_second == 1.0
    assert settings.rate_limit_burst == 20
    assert settings.log_level == "INFO"
    assert settings.peering is None
    assert settings.default_credential_keys() == {}


def test_namespaces_split_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVHNP_NAMESPACES", "team-a, team-b,,team-c ")

    assert OperatorSettings().namespaces == ["team-a", "team-b", "team-c"]


def test_single_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVHNP_NAMESPACES", "team-a")

    assert OperatorSettings().namespaces == ["team-a"]


def test_empty_namespaces_watch_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVHNP_NAMESPACES", "")

    assert OperatorSettings().namespaces == []


def test_numbers_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVHNP_RATE_LIMIT_PER_SECOND", "2.5")
    monkeypatch.setenv("OVHNP_RATE_LIMIT_BURST", "40")
    monkeypatch.setenv("OVHNP_OBSERVE_INTERVAL_SECONDS", "120")
    monkeypatch.setenv("OVHNP_METRICS_PORT", "0")

    settings = OperatorSettings()

    assert settings.rate_limit_per_second == 2.5
    assert settings.rate_limit_burst == 40
    assert settings.observe_interval_seconds == 120.0
    assert settings.metrics_port == 0


def test_signed_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVH_ENDPOINT", "ovh-eu")
    monkeypatch.setenv("OVH_APPLICATION_KEY", "app-key-1")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "app-secret-1")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "consumer-key-1")

    keys = OperatorSettings().default_credential_keys()

    assert keys == {
        "endpoint": "ovh-eu",
        "applicationKey": "app-key-1",
        "applicationSecret": "app-secret-1",
        "consumerKey": "consumer-key-1",
    }


def test_oauth2_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVH_ENDPOINT", "ovh-ca")
    monkeypatch.setenv("OVH_CLIENT_ID", "client-id-1")
    monkeypatch.setenv("OVH_CLIENT_SECRET", "client-secret-1")

    keys = OperatorSettings().default_credential_keys()

    assert keys == {
        "endpoint": "ovh-ca",
        "clientId": "client-id-1",
        "clientSecret": "client-secret-1",
    }


def test_empty_credential_variables_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVH_ENDPOINT", "ovh-eu")
    monkeypatch.setenv("OVH_CLIENT_ID", "")

    assert OperatorSettings().default_credential_keys() == {"endpoint": "ovh-eu"}


def test_repr_hides_credential_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "app-secret-1")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "consumer-key-1")
    monkeypatch.setenv("OVH_CLIENT_SECRET", "client-secret-1")

    text = repr(OperatorSettings())

    assert "app-secret-1" not in text
    assert "consumer-key-1" not in text
    assert "client-secret-1" not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OVHNP_RATE_LIMIT_PER_SECOND", "0"),
        ("OVHNP_RATE_LIMIT_PER_SECOND", "fast"),
        ("OVHNP_RATE_LIMIT_BURST", "0"),
        ("OVHNP_OBSERVE_INTERVAL_SECONDS", "-5"),
        ("OVHNP_REQUEST_TIMEOUT_SECONDS", "0"),
        ("OVHNP_METRICS_PORT", "70000"),
        ("OVHNP_HEALTH_PORT", "-1"),
        ("OVHNP_LOG_LEVEL", "VERBOSE"),
        ("OVHNP_LOG_FORMAT", "xml"),
    ],
)
def test_bad_value_names_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    message = rejection(monkeypatch, name, value)

    # pydantic-settings names the field in the error: the variable name without its prefix.
    field = name.removeprefix("OVHNP_").lower()
    assert field in message
