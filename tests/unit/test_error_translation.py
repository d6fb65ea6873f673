"""Tests of the translation of python-ovh exceptions into the operator's errors.

The exceptions come from python-ovh's own `Client.call`, fed a hand-built `requests.Response`
in place of a network call, so each test gets the exception class and arguments that python-ovh
1.2.0 raises for that response.
"""

import json
from typing import Any

import ovh
import ovh.exceptions
import pytest
import requests
from requests.structures import CaseInsensitiveDict

from ovh_nodepool_operator.clients.ovh_api import translate_error
from ovh_nodepool_operator.domain import errors

QUERY_ID = "EU.test"
APPLICATION_SECRET = "application-secret-do-not-show"
CONSUMER_KEY = "consumer-key-do-not-show"
SIGNATURE = "$1$signature-do-not-show"
BEARER_TOKEN = "bearer-token-do-not-show"
SECRETS = (APPLICATION_SECRET, CONSUMER_KEY, SIGNATURE, BEARER_TOKEN)
POOL_URL = "http://127.0.0.1:9/1.0/cloud/project/p1/kube/k1/nodepool/pool-1"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep python-ovh from reading OAuth2 keys from the environment."""
    for name in ("OVH_CLIENT_ID", "OVH_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


def build_response(
    status: int, body: Any, *, headers: dict[str, str] | None = None
) -> requests.Response:
    """Build the response OVH would send, with a signed request that carries secrets."""
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict({"X-Ovh-Queryid": QUERY_ID, **(headers or {})})
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.url = POOL_URL
    response.request = requests.Request(
        "PUT",
        POOL_URL,
        headers={
            "X-Ovh-Application": "app-key-1",
            "X-Ovh-Consumer": CONSUMER_KEY,
            "X-Ovh-Signature": SIGNATURE,
            "Authorization": f"Bearer {BEARER_TOKEN}",
        },
        json={"desiredNodes": 3},
    ).prepare()
    return response


def raised_for(response: requests.Response) -> ovh.exceptions.APIError:
    """Return the exception python-ovh's `Client.call` raises for the response."""
    client = ovh.Client(
        endpoint="ovh-eu",
        application_key="app-key-1",
        application_secret=APPLICATION_SECRET,
        consumer_key=CONSUMER_KEY,
    )

    def return_response(**_: Any) -> requests.Response:
        return response

    client.raw_call = return_response
    with pytest.raises(ovh.exceptions.APIError) as caught:
        client.call("PUT", "/cloud/project/p1/kube/k1/nodepool/pool-1", {"desiredNodes": 3})
    return caught.value


def translated(
    status: int, body: Any, *, headers: dict[str, str] | None = None
) -> errors.OperatorError:
    return translate_error(raised_for(build_response(status, body, headers=headers)))


def assert_no_secret(error: errors.OperatorError) -> None:
    for text in (error.message, error.describe(), str(error)):
        for secret in SECRETS:
            assert secret not in text


def test_integrity_error_is_busy() -> None:
    error = translated(
        400,
        {
            "message": "IntegrityError: the node pool is being resized",
            "class": "Client::BadRequest",
        },
    )

    assert isinstance(error, errors.PoolBusyError)
    assert error.stalled is False
    assert error.query_id == QUERY_ID


def test_bad_request_is_rejected() -> None:
    error = translated(400, {"message": "Invalid flavor b3-999", "class": "Client::BadRequest"})

    assert isinstance(error, errors.RejectedError)
    assert "Invalid flavor b3-999" in error.message
    assert error.query_id == QUERY_ID
    assert QUERY_ID in error.describe()


def test_conflict_is_rejected() -> None:
    error = translated(409, {"message": "A node pool named workers already exists"})

    assert isinstance(error, errors.RejectedError)
    assert "already exists" in error.message


def test_not_found_is_pool_not_found() -> None:
    error = translated(404, {"message": "This node pool does not exist"})

    assert isinstance(error, errors.PoolNotFoundError)
    assert error.message == "This node pool does not exist"
    assert error.query_id == QUERY_ID


@pytest.mark.parametrize("code", ["INVALID_CREDENTIAL", "INVALID_KEY", "NOT_CREDENTIAL"])
def test_rejected_key_is_invalid_credentials(code: str) -> None:
    error = translated(403, {"errorCode": code, "message": "This credential is not valid"})

    assert isinstance(error, errors.InvalidCredentialsError)
    assert error.stalled is True
    assert "This credential is not valid" in error.message
    assert error.query_id == QUERY_ID


def test_bad_signature_is_invalid_credentials() -> None:
    error = translated(400, {"errorCode": "INVALID_SIGNATURE", "message": "Invalid signature"})

    assert isinstance(error, errors.InvalidCredentialsError)


def test_unauthorized_is_invalid_credentials() -> None:
    error = translated(401, {"message": "You must login first"})

    assert isinstance(error, errors.InvalidCredentialsError)


@pytest.mark.parametrize("code", ["NOT_GRANTED_CALL", "FORBIDDEN"])
def test_forbidden_call_is_access_denied(code: str) -> None:
    error = translated(403, {"errorCode": code, "message": "This call has not been granted"})

    assert isinstance(error, errors.AccessDeniedError)
    assert "This call has not been granted" in error.message


def test_class_style_forbidden_is_access_denied() -> None:
    error = translated(403, {"class": "Client::Forbidden", "message": "Access denied"})

    assert isinstance(error, errors.AccessDeniedError)
    assert error.query_id == QUERY_ID


def test_too_many_requests_honours_retry_after() -> None:
    error = translated(429, {"message": "Too many requests"}, headers={"Retry-After": "7"})

    assert isinstance(error, errors.TransientError)
    assert error.retry_after == 7
    assert error.stalled is False


def test_too_many_requests_without_retry_after() -> None:
    error = translated(429, {"message": "Too many requests"})

    assert isinstance(error, errors.TransientError)
    assert error.retry_after is None


def test_unreadable_retry_after_ignored() -> None:
    error = translated(
        429,
        {"message": "Too many requests"},
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )

    assert isinstance(error, errors.TransientError)
    assert error.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_is_transient(status: int) -> None:
    error = translated(status, {"message": "Service unavailable"})

    assert isinstance(error, errors.TransientError)
    assert str(status) in error.message
    assert error.query_id == QUERY_ID


def test_network_failure_is_transient() -> None:
    client = ovh.Client(
        endpoint="ovh-eu",
        application_key="app-key-1",
        application_secret=APPLICATION_SECRET,
        consumer_key=CONSUMER_KEY,
    )

    def fail(**_: Any) -> requests.Response:
        raise requests.ConnectionError(f"refused, consumer {CONSUMER_KEY}")

    client.raw_call = fail
    with pytest.raises(ovh.exceptions.HTTPError) as caught:
        client.call("GET", "/cloud/project")

    error = translate_error(caught.value)

    assert isinstance(error, errors.TransientError)
    assert "ConnectionError" in error.message
    assert_no_secret(error)


def test_non_json_body_is_transient() -> None:
    error = translated(502, b"<html>Bad gateway</html>")

    assert isinstance(error, errors.TransientError)


def test_oauth2_failure_is_invalid_credentials() -> None:
    raised = ovh.exceptions.OAuth2FailureError(
        "OAuth2 failure: (invalid_client) Client authentication failed"
    )

    error = translate_error(raised)

    assert isinstance(error, errors.InvalidCredentialsError)
    assert "clientSecret" in error.message


def test_oauth2_unavailable_is_transient() -> None:
    raised = ovh.exceptions.OAuth2FailureError(
        "OAuth2 failure: Token creation failed with status_code=503, body=busy"
    )

    error = translate_error(raised)

    assert isinstance(error, errors.TransientError)
    assert "HTTP 503" in error.message


def test_local_key_check_is_invalid_credentials() -> None:
    # python-ovh raises this itself, with no response, when the consumer key is empty.
    raised = ovh.exceptions.InvalidKey("Invalid ConsumerKey ''")

    error = translate_error(raised)

    assert isinstance(error, errors.InvalidCredentialsError)


def test_missing_message_uses_class_name() -> None:
    error = translated(400, {"class": "Client::BadRequest"})

    assert isinstance(error, errors.RejectedError)
    assert "BadParametersError" in error.message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"message": "Invalid flavor"}),
        (400, {"message": "IntegrityError"}),
        (400, {"errorCode": "INVALID_SIGNATURE", "message": "Invalid signature"}),
        (403, {"errorCode": "INVALID_CREDENTIAL", "message": "Invalid credential"}),
        (403, {"errorCode": "NOT_GRANTED_CALL", "message": "Not granted"}),
        (404, {"message": "Not found"}),
        (409, {"message": "Conflict"}),
        (429, {"message": "Slow down"}),
        (503, {"message": "Unavailable"}),
        (502, b"not json"),
    ],
)
def test_messages_never_show_secrets(status: int, body: Any) -> None:
    error = translated(status, body, headers={"Retry-After": "1"})

    assert_no_secret(error)
