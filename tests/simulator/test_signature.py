"""Signature checks against the test vectors of python-ovh 1.2.0 (tests/test_client.py)."""

from __future__ import annotations

import pytest

from ovh_api_simulator.auth import authenticate, compute_signature
from ovh_api_simulator.errors import ApiError
from ovh_api_simulator.model import Account, Credential
from ovh_api_simulator.settings import Settings

SECRET = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk"
CONSUMER_KEY = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY"
TIMESTAMP = "1457018875"
URL = "https://eu.api.ovh.com/1.0/auth"
BODY = '{"a":"b","c":"d"}'

VECTORS = [
    ("GET", "", "$1$e9556054b6309771395efa467c22e627407461ad"),
    ("POST", BODY, "$1$ec2fb5c7a81f64723c77d2e5b609ae6f58a84fc1"),
    ("PUT", BODY, "$1$8a75a9e7c8e7296c9dbeda6a2a735eb6bd58ec4b"),
    ("DELETE", "", "$1$a1eecd00b3b02b6cf5708b84b9ff42059a950d85"),
]


def _account() -> Account:
    credential = Credential(
        projects=["*"],
        application_key="test-ak",
        application_secret=SECRET,
        consumer_key=CONSUMER_KEY,
    )
    return Account(credentials=[credential])


def _headers(signature: str) -> dict[str, str]:
    return {
        "x-ovh-application": "test-ak",
        "x-ovh-consumer": CONSUMER_KEY,
        "x-ovh-timestamp": TIMESTAMP,
        "x-ovh-signature": signature,
    }


@pytest.mark.parametrize(("method", "body", "expected"), VECTORS)
def test_compute_signature_vectors(method: str, body: str, expected: str) -> None:
    signature = compute_signature(
        application_secret=SECRET,
        consumer_key=CONSUMER_KEY,
        method=method,
        url=URL,
        body=body,
        timestamp=TIMESTAMP,
    )
    assert signature == expected


@pytest.mark.parametrize(("method", "body", "expected"), VECTORS)
def test_verifier_accepts_vectors(method: str, body: str, expected: str) -> None:
    settings = Settings(clock_skew_seconds=1e12)
    identity = authenticate(
        _headers(expected), method, URL, body, account=_account(), settings=settings
    )
    assert identity.application_key == "test-ak"


@pytest.mark.parametrize(("method", "body", "expected"), VECTORS)
def test_verifier_rejects_other_body(method: str, body: str, expected: str) -> None:
    settings = Settings(clock_skew_seconds=1e12)
    with pytest.raises(ApiError) as caught:
        authenticate(
            _headers(expected), method, URL, body + " ", account=_account(), settings=settings
        )
    assert caught.value.status == 400
    assert caught.value.body["errorCode"] == "INVALID_SIGNATURE"


def test_verifier_rejects_old_timestamp() -> None:
    with pytest.raises(ApiError) as caught:
        authenticate(
            _headers(VECTORS[0][2]), "GET", URL, "", account=_account(), settings=Settings()
        )
    assert caught.value.status == 400
    assert caught.value.body["errorCode"] == "QUERY_TIME_OUT"
