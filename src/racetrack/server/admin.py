"""The admin API behind `racetrack admin`: users, ESCs, grants, revocation, public endpoint requests."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from racetrack.server.auth import CALL_ADMIN_API, CALL_JOB, ESC, JOB_FAMILY, USER, parse_subject
from racetrack.server.errors import BadRequest, EntityNotFound
from racetrack.server.http import Call
from racetrack.server.models import PublicEndpoint

STATUSES = ("pending", "approved", "rejected")


def _admin(call: Call) -> None:
    call.state.auth.require(call.principal(), CALL_ADMIN_API)


def _text(call: Call, field: str, required: bool = True) -> str | None:
    body = call.body if isinstance(call.body, dict) else {}
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"the request body needs a text field `{field}`")
    return value


def create_user(call: Call) -> dict[str, Any]:
    _admin(call)
    name = _text(call, "username")
    assert name is not None
    _, token = call.state.auth.create_subject(USER, name, _text(call, "password", required=False))
    return {"username": name, "token": token}


def create_esc(call: Call) -> dict[str, Any]:
    _admin(call)
    name = _text(call, "name")
    assert name is not None
    _, token = call.state.auth.create_subject(ESC, name)
    return {"name": name, "token": token}


def grant(call: Call) -> dict[str, Any]:
    _admin(call)
    subject, scope = _text(call, "subject"), _text(call, "scope")
    assert subject is not None and scope is not None
    kind, name = parse_subject(subject)
    job, endpoint = _text(call, "job", required=False), _text(call, "endpoint", required=False)
    version = _text(call, "version", required=False)
    call.state.auth.grant(kind, name, scope, job, version, endpoint)
    return {"subject": f"{kind}:{name}", "scope": scope, "job": job, "version": version, "endpoint": endpoint}


def allow(call: Call) -> dict[str, Any]:
    """Racetrack's POST /auth/allow/{esc|job_family}/{subject}/job/{job}/scope/{scope}."""
    _admin(call)
    params = call.params
    kind = {"esc": ESC, "job_family": JOB_FAMILY, "user": USER}.get(params["kind"])
    if kind is None:
        raise BadRequest(f"unknown subject kind {params['kind']!r}; use esc, job_family or user")
    scope = params.get("scope", CALL_JOB)
    call.state.auth.grant(kind, params["subject"], scope, params["job"])
    return {"subject": f"{kind}:{params['subject']}", "scope": scope, "job": params["job"]}


def revoke(call: Call) -> dict[str, Any]:
    _admin(call)
    prefix = _text(call, "token_prefix")
    assert prefix is not None
    call.state.auth.revoke(prefix)
    return {"revoked": prefix[:12]}


def list_public_endpoints(call: Call) -> list[dict[str, Any]]:
    _admin(call)
    status = call.query("status")
    with call.state.sessions() as session:
        query = select(PublicEndpoint).order_by(PublicEndpoint.job_name, PublicEndpoint.job_version)
        if status:
            query = query.where(PublicEndpoint.status == status)
        rows = session.scalars(query).all()
    return [
        {"job_name": r.job_name, "job_version": r.job_version, "endpoint": r.endpoint, "status": r.status}
        for r in rows
    ]


def decide_public_endpoint(call: Call) -> dict[str, Any]:
    _admin(call)
    params = call.params
    decision = {"approve": "approved", "reject": "rejected"}.get(params["decision"])
    if decision is None:
        raise BadRequest(f"{params['decision']!r} is neither approve nor reject")
    endpoint = _text(call, "endpoint")
    with call.state.sessions.begin() as session:
        row = session.scalar(
            select(PublicEndpoint).where(
                PublicEndpoint.job_name == params["name"],
                PublicEndpoint.job_version == params["version"],
                PublicEndpoint.endpoint == endpoint,
            )
        )
        if row is None:
            raise EntityNotFound(
                f"{params['name']} {params['version']} has no public endpoint request for {endpoint!r}; "
                "`racetrack admin public-endpoints` lists them"
            )
        row.status, row.update_time = decision, time.time()
    return {
        "job_name": params["name"],
        "job_version": params["version"],
        "endpoint": endpoint,
        "status": decision,
    }
