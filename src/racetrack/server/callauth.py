"""`can-call-job`: may this caller call that endpoint of that job? The gateway asks before forwarding."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from racetrack.server.auth import CALL_JOB
from racetrack.server.errors import AuthError, PermissionDenied, ServerError
from racetrack.server.http import Call
from racetrack.server.jobs import find_job, live
from racetrack.server.models import PublicEndpoint
from racetrack.server.state import State

OPEN_PATHS = ("/health", "/live", "/ready")


class CallDenied(AuthError):
    """The caller may not call this endpoint (answered 401, as Racetrack's Pub expects)."""


def normalize(endpoint: str) -> str:
    """Leading '/', no trailing '/' (except the root)."""
    path = "/" + endpoint.lstrip("/")
    return path.rstrip("/") or "/"


def public_endpoints(state: State, name: str, version: str) -> list[str]:
    with state.sessions() as session:
        return list(
            session.scalars(
                select(PublicEndpoint.endpoint).where(
                    PublicEndpoint.job_name == name,
                    PublicEndpoint.job_version == version,
                    PublicEndpoint.status == "approved",
                )
            ).all()
        )


def is_public(path: str, approved: list[str]) -> bool:
    """`path` is an approved endpoint or one of its subpaths."""
    for endpoint in approved:
        base = normalize(endpoint)
        if path == base or path.startswith(base.rstrip("/") + "/"):
            return True
    return False


def can_call_job(state: State, token: str | None, name: str, version: str, endpoint: str) -> dict[str, Any]:
    """The job (version resolved) and the caller's name if allowed; else EntityNotFound or CallDenied."""
    job = find_job(state, name, version)
    path = normalize(endpoint)
    caller = None
    if path in OPEN_PATHS or is_public(path, public_endpoints(state, job.name, job.version)):
        if token:
            try:
                caller = state.auth.authenticate(token).caller
            except ServerError:
                caller = None
    else:
        try:
            principal = state.auth.authenticate(token)
            state.auth.require(principal, CALL_JOB, job.name, job.version, path)
        except PermissionDenied as error:
            raise CallDenied(str(error)) from None
        caller = principal.caller
    running = live(state, job)
    replicas = list(running.replicas) if running else []
    return {
        "job": {
            "id": job.id,
            "name": job.name,
            "version": job.version,
            "status": running.status if running else "lost",
            "internal_name": replicas[0].split("://", 1)[-1] if replicas else None,
            "replica_internal_names": replicas,
            "infrastructure_target": job.infrastructure_target,
        },
        "caller": caller,
    }


def can_call_job_route(call: Call) -> dict[str, Any]:
    params = call.params
    return can_call_job(call.state, call.token, params["name"], params["version"], params.get("endpoint", ""))
