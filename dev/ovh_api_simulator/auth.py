"""Request authentication: OVH application-key signatures and OAuth2 client-credentials tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from ovh_api_simulator.errors import ApiError, auth_error, product_error
from ovh_api_simulator.model import Account, Credential, Token
from ovh_api_simulator.settings import Settings


@dataclass
class Identity:
    """The credential that sent a request, and the public name to log for it."""

    credential: Credential
    application_key: str | None = None
    client_id: str | None = None


def compute_signature(
    *, application_secret: str, consumer_key: str, method: str, url: str, body: str, timestamp: str
) -> str:
    """Return the X-Ovh-Signature value: "$1$" and the SHA-1 hex digest of the joined fields."""
    payload = "+".join([application_secret, consumer_key, method.upper(), url, body, timestamp])
    return "$1$" + hashlib.sha1(payload.encode("utf-8"), usedforsecurity=False).hexdigest()


def authenticate(
    headers: dict[str, str],
    method: str,
    url: str,
    body: str,
    *,
    account: Account,
    settings: Settings,
) -> Identity:
    """Check a request's signature headers or bearer token; return who sent it."""
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return _check_bearer(authorization[7:].strip(), account)
    return _check_signature(headers, method, url, body, account=account, settings=settings)


def issue_token(form_body: str, authorization: str, account: Account, settings: Settings) -> Token:
    """Check an OAuth2 client-credentials token request; store and return a new token."""
    form = {key: values[0] for key, values in parse_qs(form_body).items()}
    if form.get("grant_type") != "client_credentials":
        raise _oauth_error(
            400, "unsupported_grant_type", "only grant_type=client_credentials is supported"
        )

    client_id, client_secret = _basic_credentials(authorization)
    used_basic = client_id is not None
    if client_id is None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")

    credential = _find_client(account, client_id)
    if (
        credential is None
        or credential.revoked
        or not _same(credential.client_secret, client_secret)
    ):
        raise _oauth_error(
            401 if used_basic else 400, "invalid_client", "invalid client_id or client_secret"
        )

    token = Token(
        value=secrets.token_urlsafe(32),
        client_id=str(client_id),
        expires_at=time.time() + settings.token_lifetime_seconds,
    )
    account.tokens[token.value] = token
    return token


def _check_bearer(value: str, account: Account) -> Identity:
    token = account.tokens.get(value)
    if token is None or token.expires_at <= time.time():
        raise product_error(
            401, "The access token is invalid or expired", "Client::Unauthorized::InvalidAuthToken"
        )

    credential = _find_client(account, token.client_id)
    if credential is None or credential.revoked:
        raise product_error(
            401, "The access token is invalid or expired", "Client::Unauthorized::InvalidAuthToken"
        )
    return Identity(credential=credential, client_id=token.client_id)


def _check_signature(
    headers: dict[str, str],
    method: str,
    url: str,
    body: str,
    *,
    account: Account,
    settings: Settings,
) -> Identity:
    application_key = headers.get("x-ovh-application")
    if not application_key:
        raise auth_error(401, "NOT_AUTHENTICATED", "You must login first")
    keyed = [cred for cred in account.credentials if cred.application_key == application_key]
    if not keyed:
        raise auth_error(403, "INVALID_KEY", "This application key is invalid")

    consumer_key = headers.get("x-ovh-consumer")
    if not consumer_key:
        raise auth_error(401, "NOT_AUTHENTICATED", "You must login first")
    credential = next((cred for cred in keyed if cred.consumer_key == consumer_key), None)
    if credential is None or credential.revoked:
        raise auth_error(403, "INVALID_CREDENTIAL", "This credential is not valid")

    timestamp = headers.get("x-ovh-timestamp", "")
    if not timestamp.isdigit():
        raise auth_error(400, "INVALID_SIGNATURE", "Invalid signature")
    if abs(int(timestamp) - time.time()) > settings.clock_skew_seconds:
        raise auth_error(400, "QUERY_TIME_OUT", "Query out of time")

    expected = compute_signature(
        application_secret=credential.application_secret or "",
        consumer_key=consumer_key,
        method=method,
        url=url,
        body=body,
        timestamp=timestamp,
    )
    if not _same(expected, headers.get("x-ovh-signature")):
        raise auth_error(400, "INVALID_SIGNATURE", "Invalid signature")
    return Identity(credential=credential, application_key=application_key)


def _basic_credentials(authorization: str) -> tuple[str | None, str | None]:
    if not authorization.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return unquote(client_id), unquote(client_secret)


def _find_client(account: Account, client_id: str | None) -> Credential | None:
    if not client_id:
        return None
    return next((cred for cred in account.credentials if cred.client_id == client_id), None)


def _same(expected: str | None, received: str | None) -> bool:
    if expected is None or received is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, {"error": error, "error_description": description})
