"""Fixtures for deploy tests: jobs committed to throwaway git repos, the CLI, and cleanup of what they ran.

Every job deployed here is named `<run prefix>-<job>`, the prefix unique per test run, so parallel runs on one
engine never touch each other's containers; whatever a test leaves behind is removed even when it fails."""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import JobRepo, git

DEPLOYMENT_LABEL = "racetrack.deployment"


@pytest.fixture(scope="session")
def run_prefix() -> str:
    return f"t{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def engine(run_prefix: str) -> Iterator[Any]:
    """The Docker engine; at the end, every container and image tag of this run is removed."""
    from racetrack.builder import connect

    client = connect()
    yield client
    remove_jobs(client, lambda name: name.startswith(run_prefix + "-"))
    for image in client.images.list(filters={"reference": f"racetrack/{run_prefix}-*"}):
        for tag in image.tags:
            client.images.remove(tag)


def remove_jobs(client: Any, chosen: Callable[[str], bool]) -> None:
    """Remove the deployed containers whose job name is `chosen`, running or not."""
    from docker.errors import NotFound

    for container in client.containers.list(all=True, filters={"label": DEPLOYMENT_LABEL}):
        if "com.docker.swarm.task" in container.labels:
            continue  # Swarm removes a task's container with its service (the swarm fixture removes those)
        if chosen(container.labels.get("racetrack.job.name", "")):
            with contextlib.suppress(NotFound):  # gone meanwhile
                container.remove(force=True)


@pytest.fixture
def job_repo(tmp_path: Path, run_prefix: str, engine: Any) -> Iterator[Any]:
    """job_repo(source, subdir, name): `source` committed at `subdir` of a new repo; its containers are
    removed at the end of the test."""
    made: list[JobRepo] = []

    def make(source: Path, subdir: str = ".", name: str | None = None) -> JobRepo:
        root = tmp_path / f"repo-{len(made)}"
        job = root / subdir
        ignored = shutil.ignore_patterns("__pycache__", ".env.runtime", ".env.build")
        shutil.copytree(source, job, ignore=ignored)
        git(root, "init", "--quiet", "--initial-branch", "main")
        git(root, "add", "-A")
        git(root, "commit", "--quiet", "-m", "initial")
        repo = JobRepo(root, job, f"{run_prefix}-{name or source.name}")
        made.append(repo)
        return repo

    yield make
    for repo in made:
        remove_jobs(engine, lambda name, repo=repo: name == repo.name)


@pytest.fixture(scope="session")
def built_job(engine: Any, run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """built_job(source_dir, name, *overrides) -> (manifest, image): the job built from its local directory
    once per session and name (its secret env files are the test's business); images are reused."""
    from racetrack.builder import build_image
    from racetrack.manifest import load_manifest

    cache: dict[str, Any] = {}

    def build(source: Path, name: str, *overrides: str) -> Any:
        if name not in cache:
            job = tmp_path_factory.mktemp(name) / source.name
            shutil.copytree(source, job, ignore=shutil.ignore_patterns("__pycache__", ".env.*"))
            manifest = load_manifest(job, [f"name={run_prefix}-{name}", *overrides])
            cache[name] = (manifest, build_image(manifest, "local", client=engine))
        return cache[name]

    return build
