"""Build python-ovh clients, for a named OVH endpoint or for an API base URL.

python-ovh 1.2.0 only accepts endpoint names (`ovh-eu`, `ovh-ca`, …). The operator also accepts
an absolute base URL such as `https://eu.api.ovh.com/1.0`, or a plain-HTTP URL on a loopback
address for the OVH API simulator. This module is the one place that points a client at a URL.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

import ovh
import ovh.config
import ovh.exceptions
from oauthlib.oauth2 import BackendApplicationClient  # type: ignore[import-untyped]
from ovh.oauth2 import OAuth2, RefreshOAuth2Session

from ovh_nodepool_operator.clients.credentials import Credentials
from ovh_nodepool_operator.domain.errors import CredentialsConfigError

# python-ovh also lists Kimsufi and So you Start endpoints, which serve no Public Cloud API.
PUBLIC_CLOUD_ENDPOINTS = ("ovh-eu", "ovh-ca", "ovh-us")
OAUTH2_TOKEN_PATH = "/auth/oauth2/token"  # noqa: S105 - a URL path, not a password
LIBRARY_VARIABLES = (
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
)


def detach_library_configuration() -> None:
    """Stop python-ovh from reading credentials on its own.

    python-ovh fills every key it is given as None from `OVH_*` variables and from `ovh.conf`
    files. The operator reads its own credentials into its settings first; without this, a
    client built for an object's Secret would mix in the operator's keys. Call it once at
    start-up, before any thread runs.
    """
    for name in LIBRARY_VARIABLES:
        os.environ.pop(name, None)
    ovh.config.CONFIG_PATH.clear()


def is_base_url(endpoint: str) -> bool:
    """Tell whether the endpoint is a URL rather than a python-ovh endpoint name."""
    return endpoint.startswith(("https://", "http://"))


def validate_endpoint(endpoint: str) -> None:
    """Reject an endpoint that is neither a known name nor a usable base URL."""
    if not is_base_url(endpoint):
        if endpoint not in PUBLIC_CLOUD_ENDPOINTS:
            names = ", ".join(PUBLIC_CLOUD_ENDPOINTS)
            raise CredentialsConfigError(
                f"Unknown OVH endpoint {endpoint!r}: use one of {names}, or a base URL."
            )
        return

    parts = urlsplit(endpoint)
    if not parts.hostname:
        raise CredentialsConfigError(f"The OVH endpoint URL {endpoint!r} has no host.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise CredentialsConfigError(
            f"The OVH endpoint URL {endpoint!r} uses plain HTTP on a non-loopback host: "
            "use https, because the OVH API only serves HTTPS."
        )


def build_client(credentials: Credentials, *, timeout: float) -> ovh.Client:
    """Return a python-ovh client for the credentials, with a timeout on every call."""
    validate_endpoint(credentials.endpoint)
    name = "ovh-eu" if is_base_url(credentials.endpoint) else credentials.endpoint

    try:
        client = ovh.Client(
            endpoint=name,
            application_key=credentials.application_key,
            application_secret=_reveal(credentials.application_secret),
            consumer_key=_reveal(credentials.consumer_key),
            client_id=credentials.client_id,
            client_secret=_reveal(credentials.client_secret),
            timeout=timeout,
        )
    except (ovh.exceptions.InvalidConfiguration, ovh.exceptions.InvalidRegion) as error:
        raise CredentialsConfigError(f"Invalid OVH credentials configuration: {error}") from None
    if is_base_url(credentials.endpoint):
        _point_at_base_url(client, credentials)
    if credentials.client_id is not None:
        client._oauth2 = _TimedOAuth2(
            client_id=credentials.client_id,
            client_secret=_reveal(credentials.client_secret),
            token_url=client._oauth2.token_url,
            timeout=timeout,
        )
    return client


class _TimedOAuth2(OAuth2):  # type: ignore[misc]
    """python-ovh 1.2.0's OAuth2 helper with a timeout on the token request, which has none."""

    _token: Any = None

    def __init__(
        self, *, client_id: str, client_secret: str | None, token_url: str, timeout: float
    ) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, token_url=token_url)
        self.timeout = timeout

    @property
    def token(self) -> Any:
        if self._token is None:
            session = RefreshOAuth2Session(
                token_url=self.token_url,
                client=BackendApplicationClient(client_id=self.client_id, scope=["all"]),
            )
            self._token = session.fetch_token(
                token_url=self.token_url,
                client_id=self.client_id,
                client_secret=self.client_secret,
                timeout=self.timeout,
            )
        return self._token


def _point_at_base_url(client: ovh.Client, credentials: Credentials) -> None:
    # NOTE: python-ovh 1.2.0 keeps the base URL in `_endpoint` and the OAuth2 token URL in
    # `_oauth2`. Both are read on every call, so replacing them here is enough.
    base = credentials.endpoint.rstrip("/")
    client._endpoint = base

    if credentials.client_id is None:
        return
    parts = urlsplit(base)
    if parts.scheme == "http":
        # oauthlib refuses plain-HTTP token URLs; validate_endpoint allows them on loopback only.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    client._oauth2 = OAuth2(
        client_id=credentials.client_id,
        client_secret=_reveal(credentials.client_secret),
        token_url=f"{parts.scheme}://{parts.netloc}{OAUTH2_TOKEN_PATH}",
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reveal(value: object) -> str | None:
    if value is None:
        return None
    return str(value.get_secret_value()) if hasattr(value, "get_secret_value") else str(value)
