"""Build a job's image: source -> context -> wrapper base -> job image -> labels (with the OpenAPI doc)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import requests

import racetrack
from racetrack.build.config import RacetrackConfig, load_config
from racetrack.build.context import text_digest, tree_digest, write_job_files, write_support_files
from racetrack.build.dockerfile import job_dockerfile
from racetrack.build.engine import BuildError, connect, image_exists, run_build
from racetrack.build.logs import BuildLog, Progress
from racetrack.build.pipconf import PipSettings, host_pip_settings
from racetrack.build.server import BuildServer, preferred_port, stable_token
from racetrack.build.source import JobSource, fetch_git, local_source
from racetrack.build.wrapper_image import ensure_wrapper_image, wrapper_tag
from racetrack.manifest import Manifest, manifest_digest, secret_build_env

Source = Literal["git", "local"]
LABEL_PREFIX = "racetrack."
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


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
) -> BuiltImage:
    """Build (or find already built) the image of `manifest`'s job from git or from its local directory."""
    config = config or load_config()
    base = base_image or config.base_image
    secrets = secret_build_env(manifest)
    client = client or connect()
    pip = host_pip_settings()
    with (
        tempfile.TemporaryDirectory(prefix="racetrack-build-") as workdir,
        BuildLog(manifest.name, secrets.values(), progress) as log,
    ):
        work = Path(workdir)
        job_source = fetch_git(manifest, work, config) if source == "git" else local_source(manifest)
        log.line(f"racetrack: source is {job_source.origin} ({len(job_source.files)} files)")
        base_id = resolve_base_image(client, base, log)
        wrapper = wrapper_tag(base_id)
        context = work / "job-context"
        tag = prepare_job_context(context, manifest, job_source, wrapper, pip)
        if image_exists(client, tag):
            log.line(
                f"racetrack: {tag} is up to date: same manifest, source, racetrack and base image; "
                "nothing to build"
            )
            image_id = client.images.get(tag).id
            return BuiltImage(tag, image_id, True, log.path, job_source.origin, job_source.commit)
        with build_server(manifest, secrets, pip, log) as server:
            for folder in (work / "wrapper-context", context):
                write_support_files(folder, container_pip_conf(pip, server), pip.cert)
            ensure_wrapper_image(client, wrapper, base, work / "wrapper-context", log)
            log.line(f"racetrack: building {tag}")
            buildargs = {"RACETRACK_SECRETS_URL": server.secrets_url, **proxy_buildargs()}
            image_id = run_build(client, log, context=context, buildargs=buildargs)
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


@contextmanager
def build_server(
    manifest: Manifest, secrets: dict[str, str], pip: PipSettings, log: BuildLog
) -> Iterator[BuildServer]:
    """The build server on the job's usual port, so the requirements layer's cache keys stay the same."""
    port = preferred_port(manifest.name)
    with BuildServer(secrets, stable_token(manifest.name, secrets), pip.local_dirs(), port) as server:
        if not server.got_preferred_port and (secrets or pip.local_dirs()):
            log.line(
                f"racetrack: port {port} is busy (a build of the same job?), so the requirements layer "
                "cannot come from the cache this time"
            )
        yield server


def job_tag(manifest: Manifest, digest: str) -> str:
    """racetrack/<name>:<version>-<digest>, cleaned to Docker's tag alphabet."""
    version = "".join(c if c.isalnum() or c in "._-" else "_" for c in manifest.version)
    return f"racetrack/{manifest.name.lower()}:{version[:100]}-{digest[:16]}"


def resolve_base_image(client: docker.DockerClient, base: str, log: BuildLog) -> str:
    """The base image's id, pulling it when the engine lacks it."""
    if not image_exists(client, base):
        log.line(f"racetrack: pulling base image {base}")
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


def container_pip_conf(pip: PipSettings, server: BuildServer) -> str:
    return pip.container_conf(server.files_url, "/opt/racetrack-build/ca.crt")


def proxy_buildargs() -> dict[str, str]:
    """The host's proxy variables; Docker keeps these predefined args out of the image history."""
    return {name: os.environ[name] for name in PROXY_VARIABLES if os.environ.get(name)}


def read_openapi(client: docker.DockerClient, image_id: str, log: BuildLog) -> str:
    """The job's OpenAPI document, printed by the wrapper in a container of the image (no network)."""
    log.line("racetrack: reading the job's OpenAPI document (python -m racetrack.wrapper openapi)")
    container = client.containers.create(
        image_id,
        ["python", "-m", "racetrack.wrapper", "openapi", "--manifest", "fatman.yaml"],
        network_mode="none",
    )
    try:
        container.start()
        status = container.wait(timeout=300)["StatusCode"]
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
    except requests.exceptions.RequestException:
        status, stdout, stderr = "a timeout (300 s)", "", ""
    finally:
        container.remove(force=True)
    for line in stderr.splitlines():
        log.line(line)
    if status == 0:
        try:
            return json.dumps(json.loads(stdout), separators=(",", ":"))
        except ValueError:
            status = "0 but printed no JSON"
    tail = "\n".join(f"  | {line}" for line in log.redact(stderr).strip().splitlines()[-20:])
    raise BuildError(
        f"the image was built, but the job does not start: `python -m racetrack.wrapper openapi` (run in the "
        f"image to read the job's API) ended with {status}; fix the job and build again\n{tail}\n"
        f"full log: {log.path}"
    )


def image_labels(manifest: Manifest, source: JobSource, openapi: str) -> dict[str, str]:
    return {
        f"{LABEL_PREFIX}job.name": manifest.name,
        f"{LABEL_PREFIX}job.version": manifest.version,
        f"{LABEL_PREFIX}git.commit": source.commit,
        f"{LABEL_PREFIX}version": racetrack.__version__,
        f"{LABEL_PREFIX}manifest.digest": manifest_digest(manifest),
        f"{LABEL_PREFIX}openapi": openapi,
    }
