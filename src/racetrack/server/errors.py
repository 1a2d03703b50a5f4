"""The control plane's one error tree and its one exception-to-status table."""

from __future__ import annotations


class ServerError(Exception):
    """Anything the API answers as an error; the message is shown to the caller as it is."""


class BadRequest(ServerError):
    """The request is malformed or names something invalid (400)."""


class AuthError(ServerError):
    """No token, an unknown, revoked or invalid one, or bad credentials (401)."""


class PermissionDenied(ServerError):
    """The caller is known but lacks the permission the operation needs (403)."""


class EntityNotFound(ServerError):
    """The job, deployment, user or request named does not exist (404)."""


class Conflict(ServerError):
    """The operation clashes with the current state, e.g. a deployment of that version in progress (409)."""


class PayloadTooLarge(BadRequest):
    """The body is bigger than the server accepts (413)."""


STATUS: dict[type[ServerError], int] = {
    BadRequest: 400,
    PayloadTooLarge: 413,
    AuthError: 401,
    PermissionDenied: 403,
    EntityNotFound: 404,
    Conflict: 409,
}


def status_of(error: ServerError) -> int:
    """The HTTP status of an error: its nearest class in STATUS, else 500."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]  # type: ignore[index]
    return 500
