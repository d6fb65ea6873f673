"""OVH credentials, read from a Secret or from the operator's environment."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from ovh_nodepool_operator.domain.errors import CredentialsConfigError

SIGNED_KEYS = ("applicationKey", "applicationSecret", "consumerKey")
OAUTH2_KEYS = ("clientId", "clientSecret")


@dataclass(frozen=True)
class Credentials:
    """One OVH identity: signed application keys, or an OAuth2 service account.

    Secret values stay in `SecretStr`, whose `repr` and `str` hide them.
    """

    endpoint: str
    application_key: str | None = None
    application_secret: SecretStr | None = None
    consumer_key: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None

    @property
    def identity(self) -> str:
        """Return a public name of the identity, safe to log: key or client id, and endpoint."""
        return f"{self.application_key or self.client_id}@{self.endpoint}"

    @property
    def fingerprint(self) -> str:
        """Return a digest of every value, so a changed secret makes a new client."""
        parts = [
            self.endpoint,
            self.application_key or "",
            _reveal(self.application_secret),
            _reveal(self.consumer_key),
            self.client_id or "",
            _reveal(self.client_secret),
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _reveal(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def credentials_from_mapping(data: Mapping[str, str], *, source: str) -> Credentials:
    """Build credentials from the keys of a Secret (or the same keys read from the environment).

    `source` names where the keys came from, for the error message. It never contains a value.
    """
    # A value of only whitespace, as `echo` leaves in a Secret, counts as missing.
    present = {key for key, value in data.items() if value and value.strip()}
    if "endpoint" not in present:
        raise CredentialsConfigError(
            f"{source} has no 'endpoint' key: set it to an OVH endpoint name "
            "(ovh-eu, ovh-ca, ovh-us) or an API base URL."
        )

    signed = [key for key in SIGNED_KEYS if key in present]
    oauth2 = [key for key in OAUTH2_KEYS if key in present]
    if signed and oauth2:
        raise CredentialsConfigError(
            f"{source} mixes application keys and OAuth2 keys: keep either "
            f"{', '.join(SIGNED_KEYS)} or {', '.join(OAUTH2_KEYS)}."
        )
    if oauth2:
        return _oauth2_credentials(data, present, source)
    if signed:
        return _signed_credentials(data, present, source)

    raise CredentialsConfigError(
        f"{source} has no OVH keys: set {', '.join(SIGNED_KEYS)}, or {', '.join(OAUTH2_KEYS)} "
        "for an OAuth2 service account."
    )


def _signed_credentials(data: Mapping[str, str], present: set[str], source: str) -> Credentials:
    missing = [key for key in SIGNED_KEYS if key not in present]
    if missing:
        raise CredentialsConfigError(f"{source} is missing the key(s) {', '.join(missing)}.")

    return Credentials(
        endpoint=data["endpoint"].strip(),
        application_key=data["applicationKey"].strip(),
        application_secret=SecretStr(data["applicationSecret"].strip()),
        consumer_key=SecretStr(data["consumerKey"].strip()),
    )


def _oauth2_credentials(data: Mapping[str, str], present: set[str], source: str) -> Credentials:
    missing = [key for key in OAUTH2_KEYS if key not in present]
    if missing:
        raise CredentialsConfigError(f"{source} is missing the key(s) {', '.join(missing)}.")

    return Credentials(
        endpoint=data["endpoint"].strip(),
        client_id=data["clientId"].strip(),
        client_secret=SecretStr(data["clientSecret"].strip()),
    )
