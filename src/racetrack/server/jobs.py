"""Deployed jobs as Racetrack's JobDto: database rows joined with the engine's live status."""

from __future__ import annotations

import re
from typing import Any

import yaml
from sqlalchemy import select

from racetrack.deploy.versions import SEMVER, semver_key
from racetrack.server.errors import EntityNotFound
from racetrack.server.infrastructure import LOST, JobDeployment
from racetrack.server.models import Job
from racetrack.server.state import State

LATEST = "latest"
_WILDCARD = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?\.x$")


def resolve(name: str, versions: list[str], wanted: str) -> str:
    """`wanted` exactly, 'latest' (highest stable SemVer) or a wildcard like '1.x' / '1.2.x'."""
    if not versions:
        raise EntityNotFound(f"job {name} was not found; `racetrack list` shows the deployed jobs")
    if wanted in versions:
        return wanted
    if wanted == LATEST:
        stable = [v for v in versions if (m := SEMVER.match(v)) and not m["pre"]]
        return max(stable or versions, key=semver_key)
    if _WILDCARD.match(wanted):
        prefix = wanted[:-1]  # '1.' or '1.2.'
        matching = [v for v in versions if v.startswith(prefix) and (m := SEMVER.match(v)) and not m["pre"]]
        if matching:
            return max(matching, key=semver_key)
    raise EntityNotFound(
        f"job {name} has no version {wanted}; deployed: {', '.join(sorted(versions, key=semver_key))} "
        f"(or use '{LATEST}' or a wildcard like 1.x)"
    )


def job_rows(state: State, name: str | None = None) -> list[Job]:
    with state.sessions() as session:
        query = select(Job).order_by(Job.name, Job.create_time)
        if name is not None:
            query = query.where(Job.name == name)
        return list(session.scalars(query).all())


def find_job(state: State, name: str, version: str) -> Job:
    """The job `name` at `version` (exact, latest or wildcard); EntityNotFound saying what is deployed."""
    rows = job_rows(state, name)
    resolved = resolve(name, [row.version for row in rows], version)
    return next(row for row in rows if row.version == resolved)


def live(state: State, job: Job) -> JobDeployment | None:
    return state.infra.jobs().get((job.name, job.version))


def job_dto(state: State, job: Job) -> dict[str, Any]:
    """Racetrack's JobDto for one job version."""
    running = live(state, job)
    replicas = list(running.replicas) if running else []
    manifest = yaml.safe_load(job.manifest_yaml) or {}
    return {
        "id": job.id,
        "name": job.name,
        "version": job.version,
        "status": running.status if running else LOST,
        "create_time": int(job.create_time),
        "update_time": int(job.update_time),
        "manifest": manifest,
        "manifest_yaml": job.manifest_yaml,
        "internal_name": replicas[0].split("://", 1)[-1] if replicas else None,
        "pub_url": f"{state.config.pub_url}/job/{job.name}/{job.version}",
        "error": (running.error if running and running.status != "running" else None)
        or (None if running else "the job's container is not on the engine"),
        "notice": None,
        "image_tag": job.image_tag,
        "deployed_by": job.deployed_by,
        "last_call_time": None,
        "infrastructure_target": job.infrastructure_target,
        "replica_internal_names": replicas,
        "job_type_version": str(manifest.get("jobtype") or manifest.get("lang") or "python3"),
        "infrastructure_stats": {},
    }
