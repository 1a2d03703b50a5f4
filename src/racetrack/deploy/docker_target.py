"""The docker target: one container per job version on one Docker engine, behind InfrastructureTarget."""

from __future__ import annotations

from collections.abc import Iterator

import docker

from racetrack.builder import connect
from racetrack.deploy.deployer import DeployOptions, deploy
from racetrack.deploy.errors import DeployError
from racetrack.deploy.jobs import JobRow, job_rows
from racetrack.deploy.jobs import delete as delete_container
from racetrack.deploy.logs import stream_lines
from racetrack.deploy.probe import STOPPED
from racetrack.deploy.registry import resolve_container
from racetrack.deploy.report import Reporter
from racetrack.deploy.target import LOST, RUNNING, DeploySpec, JobDeployment
from racetrack.deploy.versions import VersionNotFound


class DockerTarget:
    """Jobs as labelled containers on the engine of DOCKER_HOST (or the local one); ports on `bind`."""

    name = "docker"

    def __init__(self, client: docker.DockerClient | None = None, bind: str = "127.0.0.1") -> None:
        self._client = client
        self.bind = bind

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    def deploy(self, spec: DeploySpec, reporter: Reporter) -> JobDeployment:
        options = DeployOptions(bind=self.bind, timeout=spec.timeout, force=spec.force, verify=spec.verify)
        deploy(
            spec.manifest, lambda _manifest: spec.image, options, reporter, self.client,
            secrets=spec.secret_env, extra_env=spec.extra_env,
        )
        return self._one(spec.manifest.name, spec.manifest.version)

    def list(self, name: str | None = None) -> list[JobDeployment]:
        return [_job(row) for row in job_rows(self.client, name) if not row.deployment.is_candidate]

    def logs(self, name: str, version: str, tail: int | None = None) -> Iterator[str]:
        return stream_lines(self._container(name, version), tail, follow=False)

    def delete(self, name: str, version: str) -> None:
        delete_container(self._container(name, version))

    def replicas(self, name: str, version: str) -> tuple[str, ...]:
        found = [job for job in self.list(name) if job.version == version and job.status == RUNNING]
        return found[0].replicas if found else ()

    def _one(self, name: str, version: str) -> JobDeployment:
        for job in self.list(name):
            if job.version == version:
                return job
        raise DeployError(f"{name} {version} was deployed but its container is gone; see `docker ps -a`")

    def _container(self, name: str, version: str):  # noqa: ANN202 - a docker Container
        try:
            return resolve_container(self.client, name, version)
        except VersionNotFound as error:
            raise DeployError(str(error)) from None

def _job(row: JobRow) -> JobDeployment:
    d = row.deployment
    status = LOST if row.status == STOPPED else row.status
    return JobDeployment(
        name=d.name,
        version=d.version,
        target="docker",
        status=status,
        replicas=(d.url,) if d.url and d.state == "running" else (),
        image=d.image,
        created=d.created,
        owner=d.owner,
        git_commit=d.git_commit,
        error=row.reason if status != RUNNING else None,
    )
