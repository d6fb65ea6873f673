"""The error taxonomy. The clients layer translates every library exception into one of these.

Each class decides how the operator reacts: retry soon, or stop and wait for a person (Stalled).
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base of every error the operator reports on an object.

    `message` is safe to show in a status, an Event or a log: it never contains a secret.
    `query_id` is OVH's `X-Ovh-Queryid`, which OVH support asks for.
    """

    reason = "Error"
    stalled = True

    def __init__(self, message: str, *, query_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.query_id = query_id

    def describe(self) -> str:
        """Return the message with OVH's query id appended when there is one."""
        if self.query_id:
            return f"{self.message} (OVH query id {self.query_id})"
        return self.message


class TransientError(OperatorError):
    """A network error, a timeout, a 5xx or a 429: retried with backoff."""

    reason = "TransientError"
    stalled = False

    def __init__(
        self, message: str, *, query_id: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, query_id=query_id)
        self.retry_after = retry_after


class InvalidCredentialsError(OperatorError):
    """OVH rejected the credentials: unknown key, revoked consumer key, failed OAuth2 login."""

    reason = "InvalidCredentials"


class CredentialsConfigError(OperatorError):
    """The credentials Secret or the operator's environment lacks a key, or has a bad value."""

    reason = "InvalidCredentials"


class SecretNotFoundError(OperatorError):
    """The Secret named by `spec.credentialsSecretRef` does not exist."""

    reason = "SecretNotFound"


class ClusterNotFoundError(OperatorError):
    """The project or the MKS cluster does not exist, or the credentials may not reach it."""

    reason = "ClusterNotFound"


class RejectedError(OperatorError):
    """OVH returned 400 to a request built from a valid spec: unknown flavor, quota, zone."""

    reason = "InvalidSpec"


class PoolBusyError(OperatorError):
    """OVH refused a change because the pool is scaling or installing: retried, not stalled."""

    reason = "Busy"
    stalled = False


class PoolNotFoundError(OperatorError):
    """The node pool does not exist at OVH (404)."""

    reason = "PoolNotFound"
    stalled = False


class AccessDeniedError(OperatorError):
    """The credentials are valid but lack the right for this call (403)."""

    reason = "AccessDenied"


class PoolExistsError(OperatorError):
    """A pool of the spec's name exists, not created by this object and not marked for adoption."""

    reason = "AlreadyExists"


class OwnershipConflictError(OperatorError):
    """Another OVHNodePool already manages the same OVH pool."""

    reason = "Conflict"


class AdoptionTargetError(OperatorError):
    """The adopt annotation names a pool that does not exist in the cluster."""

    reason = "AdoptTargetNotFound"


class ObjectGoneError(OperatorError):
    """The OVHNodePool no longer exists at the API server; nothing is left to reconcile."""

    reason = "ObjectGone"
    stalled = False
