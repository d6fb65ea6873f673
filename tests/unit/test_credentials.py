"""Tests of reading OVH credentials from the keys of a Secret."""

import pytest

from ovh_nodepool_operator.clients.credentials import Credentials, credentials_from_mapping
from ovh_nodepool_operator.domain.errors import CredentialsConfigError

SOURCE = "Secret team-a/ovh-credentials"

SIGNED = {
    "endpoint": "ovh-eu",
    "applicationKey": "app-key-1",
    "applicationSecret": "app-secret-value-1",
    "consumerKey": "consumer-key-value-1",
}
OAUTH2 = {
    "endpoint": "ovh-ca",
    "clientId": "client-id-1",
    "clientSecret": "client-secret-value-1",
}
SECRET_VALUES = ("app-secret-value-1", "consumer-key-value-1", "client-secret-value-1")


def read(data: dict[str, str]) -> Credentials:
    return credentials_from_mapping(data, source=SOURCE)


def rejection(data: dict[str, str]) -> str:
    with pytest.raises(CredentialsConfigError) as caught:
        read(data)
    return caught.value.message


def test_signed_keys_are_read() -> None:
    credentials = read(SIGNED)

    assert credentials.endpoint == "ovh-eu"
    assert credentials.application_key == "app-key-1"
    assert credentials.application_secret is not None
    assert credentials.application_secret.get_secret_value() == "app-secret-value-1"
    assert credentials.consumer_key is not None
    assert credentials.consumer_key.get_secret_value() == "consumer-key-value-1"
    assert credentials.client_id is None
    assert credentials.client_secret is None


def test_oauth2_keys_are_read() -> None:
    credentials = read(OAUTH2)

    assert credentials.endpoint == "ovh-ca"
    assert credentials.client_id == "client-id-1"
    assert credentials.client_secret is not None
    assert credentials.client_secret.get_secret_value() == "client-secret-value-1"
    assert credentials.application_key is None


def test_values_are_stripped() -> None:
    credentials = read({key: value + "\n" for key, value in SIGNED.items()})

    assert credentials.endpoint == "ovh-eu"
    assert credentials.application_key == "app-key-1"
    assert credentials.consumer_key is not None
    assert credentials.consumer_key.get_secret_value() == "consumer-key-value-1"


@pytest.mark.parametrize("missing", ["applicationKey", "applicationSecret", "consumerKey"])
def test_missing_signed_key_is_named(missing: str) -> None:
    data = {key: value for key, value in SIGNED.items() if key != missing}

    message = rejection(data)

    assert missing in message
    assert SOURCE in message


@pytest.mark.parametrize("missing", ["clientId", "clientSecret"])
def test_missing_oauth2_key_is_named(missing: str) -> None:
    data = {key: value for key, value in OAUTH2.items() if key != missing}

    message = rejection(data)

    assert missing in message
    assert SOURCE in message


def test_all_missing_signed_keys_named() -> None:
    message = rejection({"endpoint": "ovh-eu", "applicationKey": "app-key-1"})

    assert "applicationSecret" in message
    assert "consumerKey" in message


def test_empty_value_counts_as_missing() -> None:
    message = rejection({**SIGNED, "consumerKey": ""})

    assert "consumerKey" in message


def test_blank_value_counts_as_missing() -> None:
    # A Secret written with `echo` may contain only a newline, which must not become an empty key.
    message = rejection({**SIGNED, "applicationSecret": "\n"})

    assert "applicationSecret" in message


def test_mixed_key_types_rejected() -> None:
    message = rejection({**SIGNED, "clientId": "client-id-1"})

    assert "mixes" in message


def test_mixed_message_hides_values() -> None:
    message = rejection({**SIGNED, **OAUTH2})

    for value in SECRET_VALUES:
        assert value not in message


def test_missing_endpoint_rejected() -> None:
    data = {key: value for key, value in SIGNED.items() if key != "endpoint"}

    message = rejection(data)

    assert "endpoint" in message


def test_no_keys_rejected() -> None:
    message = rejection({"endpoint": "ovh-eu"})

    assert "applicationKey" in message
    assert "clientId" in message


@pytest.mark.parametrize("data", [SIGNED, OAUTH2], ids=["signed", "oauth2"])
def test_repr_hides_secret_values(data: dict[str, str]) -> None:
    credentials = read(data)

    for value in SECRET_VALUES:
        assert value not in repr(credentials)
        assert value not in str(credentials)


@pytest.mark.parametrize("data", [SIGNED, OAUTH2], ids=["signed", "oauth2"])
def test_identity_hides_secret_values(data: dict[str, str]) -> None:
    identity = read(data).identity

    for value in SECRET_VALUES:
        assert value not in identity


def test_identity_names_public_key() -> None:
    assert read(SIGNED).identity == "app-key-1@ovh-eu"
    assert read(OAUTH2).identity == "client-id-1@ovh-ca"


def test_identity_ignores_secret_change() -> None:
    changed = read({**SIGNED, "applicationSecret": "app-secret-value-2"})

    assert changed.identity == read(SIGNED).identity


@pytest.mark.parametrize("key", ["applicationSecret", "consumerKey"])
def test_fingerprint_follows_signed_secret(key: str) -> None:
    changed = read({**SIGNED, key: "rotated-value"})

    assert changed.fingerprint != read(SIGNED).fingerprint


def test_fingerprint_follows_oauth2_secret() -> None:
    changed = read({**OAUTH2, "clientSecret": "rotated-value"})

    assert changed.fingerprint != read(OAUTH2).fingerprint


def test_fingerprint_is_stable() -> None:
    assert read(SIGNED).fingerprint == read(dict(SIGNED)).fingerprint


def test_fingerprint_hides_secret_values() -> None:
    fingerprint = read(SIGNED).fingerprint

    for value in SECRET_VALUES:
        assert value not in fingerprint
