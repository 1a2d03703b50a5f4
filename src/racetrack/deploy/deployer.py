"""`racetrack deploy`: build the image, start the job's container, wait until ready, smoke check, swap."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import docker
from docker.errors import DockerException, NotFound
from docker.models.containers import Container

import racetrack
from racetrack.builder import BuiltImage, connect
from racetrack.deploy.container import ContainerSpec, start_container
from racetrack.deploy.envfile import env_file_text, secret_tar
from racetrack.deploy.errors import DeployError, StartFailed
from racetrack.deploy.logs import redact, tail_lines
from racetrack.deploy.quantities import QuantityError, docker_resources
from racetrack.deploy.readiness import wait_until_ready
from racetrack.deploy.registry import (
    CANDIDATE_SUFFIX,
    COMMIT_LABEL,
    DEPLOYMENT_LABEL,
    DIGEST_LABEL,
    NAME_LABEL,
    OWNER_LABEL,
    SECRET_NAMES_LABEL,
    VERSION_LABEL,
    Deployment,
    container_name,
    deployment_from,
    job_containers,
    serving_containers,
)
from racetrack.deploy.report import Reporter, Silent
from racetrack.deploy.smoke import SmokeResult, smoke_check
from racetrack.manifest import Manifest, manifest_digest, secret_runtime_env
from racetrack.phases import Phase
from racetrack.protocol import (
    ENV_DEPLOYED_BY_RACETRACK_VERSION,
    ENV_DEPLOYMENT_TIMESTAMP,
    ENV_FATMAN_NAME,
    ENV_FATMAN_VERSION,
    ENV_GIT_VERSION,
    ENV_JOB_DEPLOYMENT_TIMESTAMP,
    ENV_JOB_NAME,
    ENV_JOB_VERSION,
    ENV_SECRET_ENV_FILE,
    JOB_PORT,
)

Build = Callable[[Manifest], BuiltImage]
LOG_TAIL_LINES = 30
STOP_GRACE_MARGIN = 5  # seconds on top of python.shutdown_grace before `docker stop` kills the job
USER_LABEL_PREFIX = "racetrack.label."
SECRET_DIR, SECRET_FILE = "/run/racetrack", "secret.env"  # put into the container before it starts


@dataclass(frozen=True)
class DeployOptions:
    host_port: int | None = None  # None: a free port
    bind: str = "127.0.0.1"
    timeout: float = 300  # seconds for the job to become ready
    force: bool = False  # replace a deployed name+version (once the new container is ready)
    verify: bool = True  # a failing docs example fails the deploy


@dataclass(frozen=True)
class Deployed:
    deployment: Deployment
    image: BuiltImage
    smoke: list[SmokeResult] = field(default_factory=list)
    replaced: Deployment | None = None


def deploy(
    manifest: Manifest,
    build: Build,
    options: DeployOptions = DeployOptions(),
    reporter: Reporter | None = None,
    client: docker.DockerClient | None = None,
    secrets: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Deployed:
    """Deploy `manifest`'s job; on any failure the new container is gone and the old one untouched.

    `secrets` (default: the manifest's secret runtime env file) reach the job through a file put into the
    container before it starts, never through its environment; `extra_env` is set as it is."""
    reporter = reporter or Silent()
    secrets = secret_runtime_env(manifest) if secrets is None else secrets
    try:
        resources = docker_resources(manifest.resources)
    except QuantityError as error:
        raise DeployError(f"{manifest.path}: {error}") from None
    client = client or connect()
    old = serving_containers(client, manifest.name).get(manifest.version)
    if old is not None:
        check_replaceable(deployment_from(old), options)
    if manifest.replicas > 1:
        replicas = manifest.replicas
        reporter.warn(f"replicas: {replicas} is not supported by the docker target; running 1 container")
    image = build(manifest)
    commit = image.commit or (client.images.get(image.tag).labels or {}).get(COMMIT_LABEL, "")
    spec = ContainerSpec(
        image=image.tag,
        name=container_name(manifest.name, manifest.version) + (CANDIDATE_SUFFIX if old else ""),
        environment=job_environment(manifest, commit, extra_env or {}, bool(secrets)),
        labels=job_labels(manifest, commit, secrets),
        files=secret_tar(SECRET_DIR, SECRET_FILE, env_file_text(secrets)) if secrets else None,
        bind=options.bind,
        host_port=options.host_port,
        resources=resources,
        stop_timeout=math.ceil(manifest.python.shutdown_grace) + STOP_GRACE_MARGIN,
    )
    if old is not None:
        remove_leftover(client, spec.name)
    reporter.phase(Phase.START)
    reporter.step(f"starting container {spec.name}")
    container = start_container(client, spec, taken=published_ports(client))
    try:
        smoke = start_checked(container, manifest, options, reporter, secrets)
    except StartFailed as error:
        error.kept = old.name if old is not None else None
        raise
    replaced = None
    if old is not None:
        replaced = deployment_from(old)
        reporter.step(f"replacing the old container {replaced.container_name} ({replaced.container_id})")
        swap(old, container, container_name(manifest.name, manifest.version))
        reporter.done(f"replaced {replaced.container_id} by {container.short_id}")
    container.reload()
    return Deployed(deployment_from(container), image, smoke, replaced)


def check_replaceable(old: Deployment, options: DeployOptions) -> None:
    """Refuse to touch a deployed name+version without --force, or a port the old one must keep."""
    if not options.force:
        where = f" at {old.url}" if old.url else ""
        raise DeployError(
            f"{old.name} {old.version} is already deployed ({old.state}{where}); pass --force to replace "
            "it once the new container is ready, or change `version` in fatman.yaml (or -e version=X.Y.Z) "
            "to run both side by side"
        )
    if options.host_port is not None and options.host_port == old.host_port:
        raise DeployError(
            f"host port {options.host_port} belongs to {old.name} {old.version}, which keeps serving until "
            "its replacement is ready, so the replacement needs another port: leave out --host-port (a free "
            "port is picked) or give a different one"
        )


def start_checked(
    container: Container, manifest: Manifest, options: DeployOptions, reporter: Reporter,
    secrets: dict[str, str],
) -> list[SmokeResult]:
    """Wait until ready and smoke check; on failure (or Ctrl-C) remove the container, keeping its log tail."""
    try:
        url = deployment_from(container).url
        if url is None:
            raise DeployError(f"the engine published no host port for port {JOB_PORT}")
        wait_until_ready(container, url, options.timeout, reporter)
        reporter.phase(Phase.SMOKE_TEST)
        reporter.step("smoke check: calling each endpoint with its docs input example")
        smoke = smoke_check(url, manifest.python.timeout_for, secrets)
        failed = [result for result in smoke if not result.ok]
        for result in smoke:
            (reporter.done if result.ok else reporter.warn)(f"{result.path}: {result.summary}")
        if not smoke:
            reporter.note("no docs input example to verify; add docs_input_example() to have one checked")
        if failed and options.verify:
            raise DeployError(
                f"the smoke check failed for {', '.join(result.path for result in failed)}: the docs "
                "input example must give a result (it is the job's acceptance test); fix the job or its "
                "example, or deploy with --no-verify"
            )
        return smoke
    except BaseException as error:
        log_tail = _last_lines(container)
        container.remove(force=True)
        if isinstance(error, DeployError):
            raise StartFailed(redact(str(error), secrets.values()), log_tail) from None
        raise


def swap(old: Container, new: Container, name: str) -> None:
    """Stop and remove the old container (gracefully), then give the new one its name."""
    try:
        old.stop()
        old.remove()
        new.rename(name)
    except DockerException as error:
        raise DeployError(
            f"the new container {new.name} is ready, but replacing {old.name} failed: {error}; fix it with "
            f"`docker rm -f {old.name} && docker rename {new.name} {name}`"
        ) from None


def job_environment(
    manifest: Manifest, commit: str, extra_env: dict[str, str], has_secrets: bool, secret_file: str = ""
) -> dict[str, str]:
    """runtime_env, then the variables the wrapper reads, then `extra_env` (e.g. PUB_URL, the gateway's
    base URL, when a control plane knows it); secrets only by the name of the file that holds them."""
    now = datetime.now(UTC).replace(microsecond=0)
    env = {
        **manifest.runtime_env,
        ENV_JOB_NAME: manifest.name,
        ENV_JOB_VERSION: manifest.version,
        ENV_FATMAN_NAME: manifest.name,
        ENV_FATMAN_VERSION: manifest.version,
        ENV_GIT_VERSION: commit,
        ENV_DEPLOYMENT_TIMESTAMP: now.isoformat().replace("+00:00", "Z"),
        ENV_JOB_DEPLOYMENT_TIMESTAMP: str(int(now.timestamp())),
        ENV_DEPLOYED_BY_RACETRACK_VERSION: racetrack.__version__,
        **extra_env,
    }
    if has_secrets:
        env[ENV_SECRET_ENV_FILE] = secret_file or f"{SECRET_DIR}/{SECRET_FILE}"
    return env


def job_labels(manifest: Manifest, commit: str, secrets: dict[str, str]) -> dict[str, str]:
    """What `list` and the other commands read back; secret variable names only, never values."""
    return {
        DEPLOYMENT_LABEL: "docker",
        NAME_LABEL: manifest.name,
        VERSION_LABEL: manifest.version,
        DIGEST_LABEL: manifest_digest(manifest),
        OWNER_LABEL: manifest.owner_email,
        COMMIT_LABEL: commit,
        SECRET_NAMES_LABEL: ",".join(sorted(secrets)),
        **{USER_LABEL_PREFIX + key: value for key, value in manifest.label_strings().items()},
    }


def published_ports(client: docker.DockerClient) -> set[int]:
    """Host ports of every deployed job, stopped ones included (they take their port back on start)."""
    return {d.host_port for d in map(deployment_from, job_containers(client)) if d.host_port}


def remove_leftover(client: docker.DockerClient, name: str) -> None:
    """Remove a replacement container that an interrupted `deploy --force` left behind."""
    try:
        container = client.containers.get(name)
    except NotFound:
        return
    if DEPLOYMENT_LABEL in container.labels:
        container.remove(force=True)


def _last_lines(container: Container) -> list[str]:
    try:
        return tail_lines(container, LOG_TAIL_LINES)
    except DockerException:
        return []
