"""Build a job's image: source -> context -> wrapper base -> job image -> labels (with the OpenAPI doc)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import requests

import racetrack
from racetrack.builder.config import RacetrackConfig, load_config
from racetrack.builder.context import text_digest, tree_digest, write_job_files, write_support_files
from racetrack.builder.dockerfile import STAGE_PHASES, job_dockerfile
from racetrack.builder.engine import BuildError, connect, image_exists, run_build
from racetrack.builder.logs import BuildLog, Progress
from racetrack.builder.pipconf import PipSettings, host_pip_settings
from racetrack.builder.secret_exec import HANDOFF_VARIABLE
from racetrack.builder.server import BuildServer, inputs_digest
from racetrack.builder.source import JobSource, fetch_git, local_source
from racetrack.builder.wrapper_image import ensure_wrapper_image, wrapper_tag
from racetrack.manifest import Manifest, manifest_digest, secret_build_env
from racetrack.phases import Phase

Source = Literal["git", "local"]
LABEL_PREFIX = "racetrack."
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
CONTAINER_CA_BUNDLE = "/opt/racetrack-build/ca.crt"
OPENAPI_TIMEOUT = 300  # seconds the job may take to load in the build sandbox


@dataclass(frozen=True)
class BuiltImage:
    """A job image on the engine; `cached` means it already existed and nothing was built."""

    tag: str
    image_id: str
    cached: bool
    log_path: Path
    source: str
    commit: str = ""  # the source commit of this build; a cached image may carry an older one in its label


def build_image(
    manifest: Manifest,
    source: Source = "git",
    base_image: str | None = None,
    progress: Progress | None = None,
    config: RacetrackConfig | None = None,
    client: docker.DockerClient | None = None,
    no_cache: bool = False,
) -> BuiltImage:
    """Build (or find already built) the image of `manifest`'s job from git or from its local directory.

    `no_cache` runs every step of the job's own layers again (the wrapper layer, keyed by content, stays)."""
    config = config or load_config()
    base = base_image or config.base_image
    secrets = secret_build_env(manifest)
    client = client or connect()
    pip = host_pip_settings()
    with (
        tempfile.TemporaryDirectory(prefix="racetrack-build-") as workdir,
        BuildLog(manifest.name, secrets.values(), progress) as log,
    ):
        try:
            built = _build(Path(workdir), manifest, source, base, config, client, pip, secrets, log, no_cache)
        except BaseException:
            log.end(failed=True)
            raise
        log.end()
        return built


def _build(
    work: Path,
    manifest: Manifest,
    source: Source,
    base: str,
    config: RacetrackConfig,
    client: docker.DockerClient,
    pip: PipSettings,
    secrets: dict[str, str],
    log: BuildLog,
    no_cache: bool = False,
) -> BuiltImage:
    log.begin(Phase.SOURCE)
    log.ran()
    job_source = fetch_git(manifest, work, config) if source == "git" else local_source(manifest)
    log.line(f"racetrack: source is {job_source.origin} ({len(job_source.files)} files)")
    log.begin(Phase.BASE_IMAGE)
    base_id = resolve_base_image(client, base, log)
    wrapper = wrapper_tag(base_id)
    context = work / "job-context"
    tag = prepare_job_context(context, manifest, job_source, wrapper, pip)
    if no_cache:
        log.line("racetrack: --no-cache: building every step of the job's layers again")
    elif image_exists(client, tag):
        log.cached(Phase.WRAPPER_LAYER, Phase.SYSTEM_PACKAGES, Phase.REQUIREMENTS, Phase.JOB_CODE)
        log.cached(Phase.CONTRACT_CHECK)
        log.line(
            f"racetrack: {tag} is up to date: same manifest, source, racetrack and base image; "
            "nothing to build"
        )
        image_id = client.images.get(tag).id
        return BuiltImage(tag, image_id, True, log.path, job_source.origin, job_source.commit)
    with BuildServer(pip.local_dirs()) as server:
        pip_env = pip.container_env(server.files_url, CONTAINER_CA_BUNDLE)
        for folder in (work / "wrapper-context", context):
            write_support_files(folder, pip.cert)
        wrapper_args = handoff_buildargs(server.offer(pip_env))
        log.begin(Phase.WRAPPER_LAYER)
        ensure_wrapper_image(client, wrapper, base, work / "wrapper-context", log, wrapper_args)
        log.line(f"racetrack: building {tag}")
        buildargs = {
            **handoff_buildargs(server.offer({**pip_env, **secrets})),
            "RACETRACK_PIP_INPUTS": inputs_digest(repr(pip), sorted(secrets.items())),
        }
        log.stage_phases = STAGE_PHASES
        image_id = run_build(client, log, context=context, buildargs=buildargs, no_cache=no_cache)
    log.stage_phases = {}
    log.begin(Phase.CONTRACT_CHECK)
    log.ran()
    openapi = read_openapi(client, image_id, log)
    labels = image_labels(manifest, job_source, openapi)
    final_id = run_build(client, log, dockerfile_text=f"FROM {image_id}\n", tag=tag, labels=labels)
    log.line(f"racetrack: built {tag}")
    return BuiltImage(tag, final_id, False, log.path, job_source.origin, job_source.commit)


def prepare_job_context(
    context: Path, manifest: Manifest, source: JobSource, wrapper: str, pip: PipSettings
) -> str:
    """Write the job's build context; its content-addressed tag."""
    write_job_files(context, manifest, source)
    dockerfile = job_dockerfile(manifest, wrapper)
    (context / "Dockerfile").write_text(dockerfile)
    inputs = (racetrack.__version__, wrapper, manifest_digest(manifest), dockerfile, repr(pip))
    return job_tag(manifest, text_digest(*inputs, tree_digest(context / "job")))


def job_tag(manifest: Manifest, digest: str) -> str:
    """racetrack/<name>:<version>-<digest>, cleaned to Docker's tag alphabet."""
    version = "".join(c if c.isalnum() or c in "._-" else "_" for c in manifest.version)
    return f"racetrack/{manifest.name.lower()}:{version[:100]}-{digest[:16]}"


def resolve_base_image(client: docker.DockerClient, base: str, log: BuildLog) -> str:
    """The base image's id, pulling it when the engine lacks it."""
    if not image_exists(client, base):
        log.line(f"racetrack: pulling base image {base}")
        log.ran()
        try:
            client.images.pull(base)
        except docker.errors.DockerException as error:
            reason = str(getattr(error, "explanation", None) or error).strip()
            raise BuildError(
                f"base image {base!r} is not on the engine and cannot be pulled ({reason}). Without registry "
                "access, run `racetrack images bootstrap` to build a Python base image from Debian packages "
                "(it becomes the default), or pass --base-image NAME of an image you have"
            ) from None
    return client.images.get(base).id


def handoff_buildargs(url: str) -> dict[str, str]:
    """The build server's one-time URL for secret_exec.py, in the predefined build arg Docker keeps out of
    history and cache keys, with the host's proxy variables (127.0.0.1 exempted from them)."""
    args = {name: os.environ[name] for name in PROXY_VARIABLES if os.environ.get(name)}
    if args:
        for name in ("no_proxy", "NO_PROXY"):
            args[name] = ",".join(filter(None, (args.get(name), "127.0.0.1")))
    return {**args, HANDOFF_VARIABLE: url}


def read_openapi(client: docker.DockerClient, image_id: str, log: BuildLog) -> str | None:
    """The job's OpenAPI document, printed by the wrapper in a container of the image (no network, no secret
    runtime env); None, with a warning in the log, when the job cannot be loaded there."""
    log.line("racetrack: reading the job's OpenAPI document (python -m racetrack.wrapper openapi)")
    container = client.containers.create(
        image_id,
        ["python", "-m", "racetrack.wrapper", "openapi", "--manifest", "fatman.yaml"],
        network_mode="none",
    )
    try:
        container.start()
        status = container.wait(timeout=OPENAPI_TIMEOUT)["StatusCode"]
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
    except requests.exceptions.RequestException:
        status, stdout, stderr = None, "", f"no answer within {OPENAPI_TIMEOUT} s"
    finally:
        container.remove(force=True)
    for line in stderr.splitlines():
        log.line(line)
    if status == 0:
        try:
            return json.dumps(json.loads(stdout), separators=(",", ":"))
        except ValueError:
            stderr += "\nthe wrapper printed no JSON"
    log.line(
        "racetrack: warning: the job's __init__ (or import) failed in the build sandbox (no network, no "
        f"secret runtime env): {load_error(stderr, status)}; the image has no racetrack.openapi label; the "
        "contract is served at /openapi.json at run time"
    )
    return None


def load_error(stderr: str, status: int | None) -> str:
    """The wrapper's `error: ...` line (else the last line of output, else the exit status)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return (errors or lines or [f"exit status {status}"])[-1]


def image_labels(manifest: Manifest, source: JobSource, openapi: str | None) -> dict[str, str]:
    labels = {
        f"{LABEL_PREFIX}job.name": manifest.name,
        f"{LABEL_PREFIX}job.version": manifest.version,
        f"{LABEL_PREFIX}git.commit": source.commit,
        f"{LABEL_PREFIX}version": racetrack.__version__,
        f"{LABEL_PREFIX}manifest.digest": manifest_digest(manifest),
    }
    if openapi is not None:
        labels[f"{LABEL_PREFIX}openapi"] = openapi
    return labels
