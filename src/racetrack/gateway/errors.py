"""The gateway's one error tree; each error knows its status and renders Racetrack Pub's JSON body."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base: `status` and the `error` text of the JSON body."""

    status = 500
    prefix = "Proxy request error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self, request_id: str) -> dict[str, Any]:
        return {"error": f"{self.prefix}: {self.message}", **self.extra, "requestId": request_id}


class Unauthenticated(GatewayError):
    status = 401


class JobNotFound(GatewayError):
    status = 404


class RouteNotFound(GatewayError):
    status = 404
    prefix = "Not found"


class MethodNotAllowed(GatewayError):
    status = 405
    prefix = "Method not allowed"


class Forbidden(GatewayError):
    status = 403


class TaskNotFound(GatewayError):
    status = 404
    prefix = "Async task error"


class TaskGone(GatewayError):
    status = 410
    prefix = "Async task error"


class BodyTooLarge(GatewayError):
    status = 413


class ControlPlaneUnavailable(GatewayError):
    status = 503


class NoReplicaAnswered(GatewayError):
    status = 502
    prefix = "Reverse proxy error"


class JobTimeout(GatewayError):
    status = 504
    prefix = "Reverse proxy error"
