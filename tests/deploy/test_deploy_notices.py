"""What deploy tells the user besides success: a job that cannot load in the build sandbox, replicas the
docker target does not run, and a job with no docs input example to verify."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from deploy_helpers import JOBS, deploy, listed, racetrack

pytestmark = pytest.mark.docker


def test_a_job_whose_init_needs_a_runtime_secret_builds_and_deploys(job_repo: Any, engine: Any) -> None:
    repo = job_repo(JOBS / "needs-secret")
    repo.write_secrets("MODEL_TOKEN=tok-needed-at-init\n")
    result = deploy(repo)
    said = " ".join(result.stderr.split())  # however the terminal wrapped it
    warning = said[said.index("racetrack: warning:"):]
    assert "the job's __init__ (or import) failed in the build sandbox" in warning
    assert "KeyError" in warning and "MODEL_TOKEN" in warning
    assert "the image has no racetrack.openapi label" in warning
    assert "✓ /api/v1/perform: 42.0" in result.stderr  # the smoke check read the contract at run time
    [job] = listed(repo.name)
    assert "racetrack.openapi" not in engine.images.get(job["image"]).labels
    assert "racetrack.manifest.digest" in engine.images.get(job["image"]).labels
    assert httpx.get(job["url"] + "/openapi.json", timeout=10).status_code == 200
    build_log = racetrack("build-logs", str(repo.job), *repo.overrides)
    assert "racetrack: warning: the job's __init__ (or import) failed" in build_log.stdout


def test_replicas_and_a_missing_docs_example_are_reported_not_failed(job_repo: Any) -> None:
    repo = job_repo(JOBS / "no-example")
    result = deploy(repo)
    assert "replicas: 3 is not supported by the docker target; running 1 container" in result.stderr
    assert "- no docs input example to verify" in result.stderr
    assert "✓ no" not in result.stderr
    assert [job["status"] for job in listed(repo.name)] == ["running"]
