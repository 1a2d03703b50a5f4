"""Racetrack's Lifecycle API as Racetrack's client calls it: info, users, deploy, jobs, logs."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select

import racetrack
from racetrack.deploy.errors import DeployError
from racetrack.server.auth import DELETE_JOB, READ_JOB
from racetrack.server.deployments import DONE, Deployer, deployment_dto, get_deployment
from racetrack.server.errors import BadRequest, EntityNotFound
from racetrack.server.http import Call
from racetrack.server.jobs import find_job, job_dto, job_rows
from racetrack.server.models import Job, PublicEndpoint
from racetrack.server.payload import parse_deploy


def info(call: Call) -> dict[str, Any]:
    config = call.state.config
    return {
        "service": "lifecycle",
        "git_version": racetrack.__version__,
        "docker_tag": racetrack.__version__,
        "auth_required": True,
        "external_pub_url": config.pub_url,
        "lifecycle_url": config.lifecycle_url,
        "grafana_url": "",
        "infrastructure_targets": [call.state.infra.name],
    }


def validate_user_auth(call: Call) -> dict[str, Any]:
    principal = call.principal()
    return {"username": principal.name, "token": call.token, "is_staff": principal.is_staff}


def login(call: Call) -> dict[str, Any]:
    body = call.body
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("username"), str)
        or not isinstance(body.get("password"), str)
    ):
        raise BadRequest("login needs a JSON object with text fields `username` and `password`")
    principal, token = call.state.auth.login(body["username"], body["password"])
    return {"username": principal.name, "token": token, "is_staff": principal.is_staff}


def deployer(call: Call) -> Deployer:
    return call.state.deployer  # type: ignore[no-any-return]


def deploy(call: Call) -> dict[str, Any]:
    principal = call.principal()
    return {"id": deployer(call).submit(principal, parse_deploy(call.body))}


def deployment_status(call: Call) -> dict[str, Any]:
    principal = call.principal()
    row = get_deployment(call.state, call.params["deploy_id"])
    if (row.deployer_kind, row.deployed_by) != (principal.kind, principal.name):
        call.state.auth.require(principal, READ_JOB, row.job_name)
    job = None
    if row.status == DONE:
        try:
            job = job_dto(call.state, find_job(call.state, row.job_name, row.job_version))
        except EntityNotFound:
            job = None
    return deployment_dto(row, job)


def list_jobs(call: Call) -> list[dict[str, Any]]:
    principal = call.principal()
    auth = call.state.auth
    rows = [row for row in job_rows(call.state) if auth.allowed(principal, READ_JOB, row.name, row.version)]
    return [job_dto(call.state, row) for row in rows]


def get_job(call: Call) -> dict[str, Any]:
    principal = call.principal()
    job = find_job(call.state, call.params["name"], call.params["version"])
    call.state.auth.require(principal, READ_JOB, job.name, job.version)
    return job_dto(call.state, job)


def delete_job(call: Call) -> dict[str, Any]:
    principal = call.principal()
    name, version = call.params["name"], call.params["version"]
    job = find_job(call.state, name, version)
    if job.version != version:
        raise BadRequest(
            f"delete needs an exact version; {version!r} means {job.version}: pass --version {job.version}"
        )
    call.state.auth.require(principal, DELETE_JOB, job.name, job.version)
    with contextlib.suppress(DeployError):  # gone from the engine already: forget it here too
        call.state.infra.delete(job.name, job.version)
    with call.state.sessions.begin() as session:
        session.execute(sql_delete(Job).where(Job.id == job.id))
        session.execute(
            sql_delete(PublicEndpoint).where(
                PublicEndpoint.job_name == job.name, PublicEndpoint.job_version == job.version
            )
        )
    return {"name": job.name, "version": job.version, "deleted": True}


def job_logs(call: Call) -> dict[str, Any]:
    principal = call.principal()
    job = find_job(call.state, call.params["name"], call.params["version"])
    call.state.auth.require(principal, READ_JOB, job.name, job.version)
    tail = call.int_query("tail", 20)
    try:
        text = call.state.infra.logs(job.name, job.version, tail or None)
    except DeployError:
        raise EntityNotFound(
            f"{job.name} {job.version} has no container on the engine (status lost)"
        ) from None
    return {"logs": text}


def build_logs(call: Call) -> dict[str, Any]:
    principal = call.principal()
    job = find_job(call.state, call.params["name"], call.params["version"])
    call.state.auth.require(principal, READ_JOB, job.name, job.version)
    lines = (job.build_logs or "").splitlines()
    tail = call.int_query("tail", 0)
    return {"logs": "\n".join(lines[-tail:] if tail else lines)}


def active_public_endpoints(call: Call) -> list[str]:
    call.principal()
    job = find_job(call.state, call.params["name"], call.params["version"])
    with call.state.sessions() as session:
        return list(
            session.scalars(
                select(PublicEndpoint.endpoint).where(
                    PublicEndpoint.job_name == job.name,
                    PublicEndpoint.job_version == job.version,
                    PublicEndpoint.status == "approved",
                )
            ).all()
        )


NO_PLUGINS = (
    "racetrack server has no plugins: the python3 job type and the docker, swarm and kubernetes "
    "infrastructure targets are built in (choose one with `racetrack server --infrastructure`)"
)


def list_plugins(call: Call) -> list[dict[str, Any]]:
    """`racetrack plugin list`: none are installed, and none can be."""
    call.principal()
    return []


def job_type_versions(call: Call) -> list[str]:
    """`racetrack plugin list --job-types`: the one built-in job type, as manifests may name it."""
    call.principal()
    return ["python3:latest", f"python3:{racetrack.__version__}"]


def plugins_unsupported(call: Call) -> dict[str, Any]:
    """`racetrack plugin install|uninstall|download`: refused, saying why."""
    call.principal()
    raise BadRequest(NO_PLUGINS)


def move_job(call: Call) -> dict[str, Any]:
    """`racetrack move`: refused; this server deploys to one infrastructure target."""
    call.principal()
    params = call.params
    raise BadRequest(
        f"job {params['name']} {params['version']} cannot be moved to another infrastructure target: this "
        f"server deploys every job to {call.state.infra.name}; run a server with --infrastructure TARGET "
        "for another target and deploy the job there"
    )
