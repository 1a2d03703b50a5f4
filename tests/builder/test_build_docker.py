"""Build the probe job on the real engine and check the image: the wrapper answers, apt and pip packages,
env, user, labels, layer cache on code changes, no-op rebuilds, readable failures."""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from build_helpers import JOBS, RACETRACK, commit_all, make_repo

import racetrack
from racetrack.builder import BuildError, build_image
from racetrack.manifest import load_manifest, manifest_digest

pytestmark = pytest.mark.docker


def step_cached(log: str, needle: str) -> bool:
    """Whether the Dockerfile step whose line contains `needle` was taken from the layer cache."""
    lines = log.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("Step ") and needle in line)
    return lines[index + 1].strip() == "---> Using cache"


@pytest.fixture(scope="module")
def probe_repo(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("probe") / "repo", {"jobs/probe": JOBS / "probe"})


def probe_manifest(repo: Path):
    return load_manifest(repo / "jobs" / "probe", [f"git.remote={repo}"])


@pytest.fixture(scope="module")
def probe_image(probe_repo, engine):
    return build_image(probe_manifest(probe_repo), "git")


def test_the_wrapper_serves_the_job_with_its_packages_and_env(probe_image, run_image):
    job = run_image(probe_image.tag)
    assert job.get("/live").status_code == 200
    result = job.post("/api/v1/perform", {}).json()
    assert result["jq"].startswith("jq-1.")  # system_dependencies, installed with apt
    assert result["six_file"].startswith("/opt/job/venv/")  # requirements, in the job's own venv
    assert result["build_env"] is None  # a build ARG: requirements.txt's ${PROBE_REQUIREMENT} gave six, above
    assert result["runtime_env"] == "set-at-runtime"
    assert result["dollar"] == "literal $HOME stays"
    assert result["uid"] != 0
    assert result["cwd"] == "/src/job"
    wrapper_site = next(i for i, p in enumerate(result["sys_path"]) if p.startswith("/opt/racetrack/venv/"))
    job_site = result["sys_path"].index("/opt/job/venv/lib/python3.11/site-packages")
    assert wrapper_site < job_site


def test_image_metadata_labels_and_contents(probe_image, probe_repo, engine):
    image = engine.images.get(probe_image.tag)
    config = image.attrs["Config"]
    labels = config["Labels"]
    manifest = probe_manifest(probe_repo)
    assert labels["racetrack.job.name"] == "build-probe"
    assert labels["racetrack.job.version"] == "1.0.0"
    assert (
        labels["racetrack.git.commit"]
        == subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=probe_repo, text=True).strip()
    )
    assert labels["racetrack.version"] == racetrack.__version__
    assert labels["racetrack.manifest.digest"] == manifest_digest(manifest)
    assert "/api/v1/perform" in json.loads(labels["racetrack.openapi"])["paths"]
    assert config["User"] == "racetrack"
    # build_env was in the apt step's environment (and pip's, see six above) but is not in the image's
    assert not [entry for entry in config["Env"] if entry.startswith("PROBE_REQUIREMENT=")]
    apt_step = next(step["CreatedBy"] for step in image.history() if "apt-get" in step["CreatedBy"])
    assert "PROBE_REQUIREMENT=six" in apt_step
    assert config["StopSignal"] == "SIGTERM"
    assert "/live" in " ".join(config["Healthcheck"]["Test"])
    assert config["Cmd"] == ["python", "-m", "racetrack.wrapper", "run", "--manifest", "fatman.yaml"]
    listing = engine.containers.run(probe_image.tag, ["ls", "-A", "/src/job"], remove=True).decode().split()
    assert "entrypoint.py" in listing and "helpers.py" in listing
    assert "ignored-by-dockerignore.txt" not in listing and ".git" not in listing


def test_the_image_healthcheck_reports_healthy(probe_image, run_image):
    # The image's own check command, run every second instead of every 10 s.
    job = run_image(probe_image.tag, healthcheck={"Interval": 1_000_000_000, "StartPeriod": 1_000_000_000})
    deadline = time.monotonic() + 30
    while job.container.attrs["State"]["Health"]["Status"] != "healthy" and time.monotonic() < deadline:
        time.sleep(0.5)
        job.container.reload()
    assert job.container.attrs["State"]["Health"]["Status"] == "healthy"


def test_unchanged_rebuild_does_no_docker_build(probe_image, probe_repo):
    again = build_image(probe_manifest(probe_repo), "git")
    assert again.cached and again.tag == probe_image.tag and again.image_id == probe_image.image_id
    log = again.log_path.read_text()
    assert "up to date" in log and "Step " not in log


def test_code_only_change_rebuilds_without_running_pip(probe_image, probe_repo, run_image):
    helpers = probe_repo / "jobs" / "probe" / "helpers.py"
    helpers.write_text(helpers.read_text().replace("version 1", "version 2"))
    commit_all(probe_repo, "code change")
    changed = build_image(probe_manifest(probe_repo), "git")
    assert not changed.cached and changed.tag != probe_image.tag
    log = changed.log_path.read_text()
    assert step_cached(log, "pip install") and step_cached(log, "apt-get")
    assert not step_cached(log, "COPY --chown=racetrack:racetrack job/")
    assert run_image(changed.tag).post("/api/v1/perform", {}).json()["greeting"] == "hello from version 2"


def test_the_requirements_cache_does_not_depend_on_the_build_server_port(probe_repo, monkeypatch):
    from racetrack.builder import builder
    from racetrack.builder.server import BuildServer

    helpers = probe_repo / "jobs" / "probe" / "helpers.py"
    for version in (3, 4):
        with socket.socket() as probe:  # a port nothing listens on, different for each build
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        monkeypatch.setattr(builder, "BuildServer", functools.partial(BuildServer, port=port))
        helpers.write_text(re.sub(r"version \d+", f"version {version}", helpers.read_text()))
        commit_all(probe_repo, f"code change {version}")
        log = build_image(probe_manifest(probe_repo), "git").log_path.read_text()
        assert step_cached(log, "pip install"), f"pip ran again with the build server on port {port}"


def test_local_source_builds_uncommitted_changes(probe_repo, run_image):
    helpers = probe_repo / "jobs" / "probe" / "helpers.py"
    helpers.write_text(helpers.read_text().replace("return ", "return 'uncommitted ' + "))
    try:
        built = build_image(probe_manifest(probe_repo), "local")
        greeting = run_image(built.tag).post("/api/v1/perform", {}).json()["greeting"]
    finally:
        subprocess.run(["git", "checkout", "--", "."], cwd=probe_repo, check=True)
    assert greeting.startswith("uncommitted ")
    labels = racetrack_labels(built.tag)
    assert labels["racetrack.git.commit"].endswith("-dirty")


def racetrack_labels(tag: str) -> dict[str, str]:
    from racetrack.builder import connect

    return connect().images.get(tag).labels


def test_broken_requirement_fails_with_the_step_and_its_output(tmp_path):
    repo = make_repo(tmp_path / "repo", {"jobs/probe": JOBS / "probe"})
    (repo / "jobs/probe/requirements.txt").write_text("racetrack-no-such-package-anywhere==9.9.9\n")
    commit_all(repo, "broken requirement")
    with pytest.raises(BuildError) as failure:
        build_image(probe_manifest(repo), "git")
    message = str(failure.value)
    assert "failing step: Step " in message and "pip install" in message
    assert "racetrack-no-such-package-anywhere" in message  # pip's own last lines
    assert "full log: " in message


def test_cli_build_then_noop_then_build_logs(probe_repo):
    command = [
        RACETRACK,
        "build",
        str(probe_repo / "jobs/probe"),
        "-e",
        f"git.remote={probe_repo}",
        "--quiet",
    ]
    first = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == first.stdout.strip().splitlines()[-1]
    assert "up to date, nothing built" in second.stderr
    logs = subprocess.run(
        [RACETRACK, "build-logs", str(probe_repo / "jobs/probe")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert logs.returncode == 0 and "up to date" in logs.stdout


def test_cli_reports_a_failed_build_without_traceback(tmp_path):
    repo = make_repo(tmp_path / "repo", {"jobs/probe": JOBS / "probe"})
    (repo / "jobs/probe/requirements.txt").write_text("racetrack-no-such-package-anywhere==9.9.9\n")
    commit_all(repo, "broken requirement")
    result = subprocess.run(
        [RACETRACK, "build", str(repo / "jobs/probe"), "-e", f"git.remote={repo}", "-q"],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 1
    assert "error: docker build failed" in result.stderr and "failing step" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_base_image_that_cannot_be_pulled_points_to_bootstrap(probe_repo):
    with pytest.raises(BuildError) as failure:
        build_image(probe_manifest(probe_repo), "git", base_image="localhost:1/no-such-base:none")
    message = str(failure.value)
    assert "'localhost:1/no-such-base:none' is not on the engine and cannot be pulled" in message
    assert "racetrack images bootstrap" in message and "--base-image" in message


def test_bootstrap_if_missing_keeps_a_present_base_image(engine, tmp_path, monkeypatch):
    from racetrack.builder.bootstrap import ensure_base_image
    from racetrack.builder.config import load_config, save_setting

    present = load_config().base_image  # the base the other tests build on: on the engine
    monkeypatch.setenv("RACETRACK_CONFIG", str(tmp_path / "config.yaml"))
    save_setting("base_image", present)
    assert ensure_base_image(engine, if_missing=True) == (present, False)


def test_no_cache_builds_an_existing_tag_again_running_every_job_step(probe_image, tmp_path):
    repo = make_repo(tmp_path / "repo", {"jobs/probe": JOBS / "probe"})
    first = build_image(probe_manifest(repo), "git")  # the probe's steps: all from the layer cache
    assert step_cached(first.log_path.read_text(), "pip install")
    rebuilt = build_image(probe_manifest(repo), "git", no_cache=True)
    assert not rebuilt.cached and rebuilt.tag == first.tag
    log = rebuilt.log_path.read_text()
    assert "--no-cache" in log and "---> Using cache" not in log
    assert not step_cached(log, "apt-get") and not step_cached(log, "pip install")
