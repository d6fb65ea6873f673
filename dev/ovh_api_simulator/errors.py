"""Errors that the simulator returns in the two body shapes of the OVH API."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

ERROR_CLASSES = {
    400: "Client::BadRequest",
    401: "Client::Unauthorized",
    403: "Client::Forbidden",
    404: "Client::NotFound",
    405: "Client::MethodNotAllowed",
    409: "Client::Conflict",
    429: "Client::TooManyRequests",
    500: "Server::InternalServerError",
    502: "Server::BadGateway",
    503: "Server::ServiceUnavailable",
    504: "Server::GatewayTimeout",
}


class ApiError(Exception):
    """An error response: HTTP status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or {}


def product_error(status: int, message: str, error_class: str | None = None) -> ApiError:
    """Build an error of the product layer: {"class": ..., "message": ...}."""
    return ApiError(status, {"class": error_class or ERROR_CLASSES[status], "message": message})


def auth_error(status: int, error_code: str, message: str) -> ApiError:
    """Build an error of the authentication layer: {"errorCode", "httpCode", "message"}."""
    http_code = f"{status} {HTTPStatus(status).phrase}"
    return ApiError(status, {"errorCode": error_code, "httpCode": http_code, "message": message})


def bad_request(message: str) -> ApiError:
    """Build a 400 Client::BadRequest error."""
    return product_error(400, message)


def invalid_parameter(name: str, reason: str) -> ApiError:
    """Build a 400 Client::BadRequest error naming the invalid parameter."""
    return bad_request(f"Invalid value for parameter '{name}': {reason}")


def not_found(message: str) -> ApiError:
    """Build a 404 Client::NotFound error."""
    return product_error(404, message)


def integrity_error(action: str, status: str, http_status: int = 400) -> ApiError:
    """Build the error OVH returns for an operation on a node pool in a busy status."""
    message = (
        f"[IntegrityError] {http_status}: Cannot {action} NodePool: NodePool status is {status}"
    )
    return product_error(http_status, message)
