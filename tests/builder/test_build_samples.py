"""Every sample job builds from a local git repository on the real engine, and its image serves the job."""

from __future__ import annotations

import json
import shutil

import pytest
from build_helpers import SAMPLES, make_repo

from racetrack.builder import build_image
from racetrack.manifest import load_manifest

pytestmark = pytest.mark.docker
SAMPLE_NAMES = sorted(path.name for path in SAMPLES.iterdir() if (path / "fatman.yaml").is_file())


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_builds_and_serves(name, tmp_path, engine, run_image):
    repo = make_repo(tmp_path / "repo", {f"sample/{name}": SAMPLES / name})
    job = repo / "sample" / name
    for template in job.glob(
        ".env*.dist"
    ):  # secret env files are never committed: create them from the templates
        shutil.copyfile(template, template.with_suffix(""))
    built = build_image(load_manifest(job, [f"git.remote={repo}"]), "git")
    openapi = json.loads(engine.images.get(built.tag).labels["racetrack.openapi"])
    assert "/api/v1/perform" in openapi["paths"]
    running = run_image(built.tag)
    assert running.get("/live").status_code == 200
    assert running.get("/ready").status_code == 200
    assert running.get("/api/v1/parameters").status_code == 200
    body = openapi["paths"]["/api/v1/perform"]["post"].get("requestBody")
    if body is None or "example" in body["content"]["application/json"]:  # callable as documented
        example = body["content"]["application/json"]["example"] if body else {}
        called = running.post("/api/v1/perform", example)
        assert called.status_code == 200, called.text
