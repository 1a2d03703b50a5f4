"""Racetrack's manifests unchanged: a job.yaml in Racetrack's current form, loaded, validated by the real CLI
and served by `racetrack run-local`; old and new spellings mixed through extends and -e."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from manifest_helpers import MINIMAL, OLD_MINIMAL, problems

from racetrack.manifest import PythonSettings, Resources, load_manifest, public_endpoint_warning
from server_process import job_server

RACETRACK_JOB = Path(__file__).parent / "racetrack-job"
RACETRACK = Path(sys.executable).with_name("racetrack")
PERFORM_WARNING = (
    "warning: public endpoint /api/v1/perform answers without authentication once an admin approves it, "
    "and so does every path below it, like /api/v1/perform/secret; use this with care"
)


@pytest.fixture
def racetrack_job(job: Path) -> Path:
    """A copy of tests/manifest/racetrack-job in the scratch job directory."""
    shutil.copytree(RACETRACK_JOB, job, dirs_exist_ok=True)
    return job


def test_racetrack_job_yaml_loads_with_every_field(racetrack_job: Path) -> None:
    manifest = load_manifest(racetrack_job, notify=False)
    assert manifest.path.name == "job.yaml"
    assert (manifest.name, manifest.version, manifest.jobtype) == ("racetrack-form", "1.2.3", "python3:2.4.0")
    assert manifest.python == PythonSettings(
        entrypoint_path="entrypoint.py", entrypoint_class="JobEntrypoint", max_concurrency=2, max_queue=4,
        home_page="/docs",
    )
    assert (manifest.image_type, manifest.infrastructure_target) == ("docker", "docker")
    assert manifest.labels == {"team": "samples", "tier": 2}
    assert manifest.label_strings() == {"team": "samples", "tier": "2"}
    assert manifest.replicas == 2 and manifest.resources == Resources(cpu_min="10m", memory_max="1Gi")
    assert manifest.notices == (PERFORM_WARNING,)
    assert "max_concurrency_queue" not in manifest.data["jobtype_extra"]


def test_public_endpoint_warning_is_one_line_naming_a_subpath() -> None:
    text = public_endpoint_warning("/api/v1/webview/")
    assert "\n" not in text
    assert "/api/v1/webview/ answers without authentication" in text and "/api/v1/webview/secret" in text


def test_racetrack_job_yaml_validates_in_a_real_process(racetrack_job: Path) -> None:
    result = subprocess.run([RACETRACK, "validate"], capture_output=True, text=True, timeout=60,
                            cwd=racetrack_job, env={**os.environ, "COLUMNS": "400"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == PERFORM_WARNING + "\n"
    printed = yaml.safe_load(result.stdout)
    assert printed["jobtype"] == "python3:2.4.0"
    assert printed["jobtype_extra"]["home_page"] == "/docs"
    assert printed["jobtype_extra"]["max_queue"] == 4
    assert (printed["image_type"], printed["infrastructure_target"]) == ("docker", "docker")
    assert printed["labels"] == {"team": "samples", "tier": 2}


def test_a_bad_racetrack_job_yaml_names_file_line_field_and_fix(racetrack_job: Path) -> None:
    manifest = racetrack_job / "job.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("max_concurrency: 2", "max_concurrency: 0")
                        .replace("home_page: '/docs'", "home_page: 'docs'"))
    result = subprocess.run([RACETRACK, "validate", "-e", "jobtype_extra.workers=-1"], capture_output=True,
                            text=True, timeout=60, cwd=racetrack_job, env={**os.environ, "COLUMNS": "400"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "-e jobtype_extra.workers=-1: jobtype_extra.workers: -1 is less than the minimum of 0; use 0 or more",
        "job.yaml:14:14: jobtype_extra.home_page: 'docs' is not a path of the job: start it with '/' and use "
        "no spaces, e.g. /api/v1/webview/",
        "job.yaml:15:20: jobtype_extra.max_concurrency: 0 is less than the minimum of 1; use 1 or more",
        "error: 3 problems in the manifest; see docs/manifest.md",
    ]


def test_run_local_serves_the_racetrack_job_yaml(racetrack_job: Path) -> None:
    run_local = (str(RACETRACK), "run-local", str(racetrack_job))
    with job_server([], env={"COLUMNS": "400"}, command=run_local) as server:
        response = server.client.post("/api/v1/perform", json={"numbers": [40, 2]})
        assert response.status_code == 200, server.output()
        assert response.json() == {"sum": 42, "greeting": "hello"}  # runtime_env applied
        prefixed = server.client.post("/pub/job/racetrack-form/1.2.3/api/v1/perform", json={"numbers": [1]})
        assert prefixed.json()["sum"] == 1
        assert PERFORM_WARNING in server.output()


# Racetrack's overlay shape: a base in the old spelling, an overlay in the current one.
OLD_BASE = OLD_MINIMAL + "  max_concurrency: 2\n  requirements_path: requirements.txt\nlabels: {team: a}\n"


def test_old_base_new_overlay_merge_field_by_field(write) -> None:
    write(OLD_BASE, "job-base.yaml")
    write("extends: job-base.yaml\nname: adder-dev\njobtype: python3:2.4.0\n"
          "jobtype_extra:\n  entrypoint_path: dev.py\n  max_concurrency_queue: 7\nlabels: {tier: 2}\n",
          "job.yaml")
    manifest = load_manifest(Path("."), notify=False)
    assert (manifest.name, manifest.jobtype) == ("adder-dev", "python3:2.4.0")
    assert manifest.python == PythonSettings(
        entrypoint_path="dev.py", requirements_path="requirements.txt", max_concurrency=2, max_queue=7)
    assert manifest.labels == {"team": "a", "tier": 2}
    assert "lang" not in manifest.data and "python" not in manifest.data
    (notice,) = manifest.notices
    assert notice == ("notice: old field names, still accepted: lang (job-base.yaml:3:1) is now jobtype, "
                      "python (job-base.yaml:6:1) is now jobtype_extra; rename them when convenient")


def test_new_base_old_overlay_and_overrides_under_either_name(write) -> None:
    write(MINIMAL, "base.yaml")
    write("extends: base.yaml\npython:\n  workers: 2\n", "job.yaml")
    overrides = ["python.max_queue=5", "jobtype_extra.max_concurrency=3", "lang=python3"]
    manifest = load_manifest(Path("job.yaml"), overrides, notify=False)
    assert manifest.python == PythonSettings(
        entrypoint_path="fatman_entrypoint.py", workers=2, max_queue=5, max_concurrency=3)
    assert manifest.jobtype == "python3"
    assert manifest.notices == (
        "notice: old field names, still accepted: python (job.yaml:2:1, -e python.max_queue=5) is now "
        "jobtype_extra, lang (-e lang=python3) is now jobtype; rename them when convenient",
    )


def test_problems_in_a_merged_manifest_name_each_field_as_its_file_wrote_it(write) -> None:
    write(OLD_BASE.replace("max_concurrency: 2", "max_concurrency: 0"), "job-base.yaml")
    write("extends: job-base.yaml\njobtype_extra:\n  workers: -1\n", "job.yaml")
    assert problems("job.yaml", ["python.max_queue=-1"]) == [
        "-e python.max_queue=-1: python.max_queue: -1 is less than the minimum of 0; use 0 or more",
        "job-base.yaml:8:20: python.max_concurrency: 0 is less than the minimum of 1; use 1 or more",
        "job.yaml:3:12: jobtype_extra.workers: -1 is less than the minimum of 0; use 0 or more",
    ]
