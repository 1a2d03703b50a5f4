"""What `racetrack deploy` prints without a terminal: one line per phase, short lines, and on a failed
requirement the pip error with the path of the full log."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from deploy_helpers import RACETRACK, SAMPLES

from racetrack.phases import DEPLOY_PHASES

pytestmark = pytest.mark.docker
PHASE = re.compile(r"^(?P<phase>[a-z ]+?) +(?P<state>done|cached|failed) [0-9.]+ s$")


def run_deploy(job: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "TERM")}
    return subprocess.run(
        [str(RACETRACK), "deploy", str(job), "--source", "local", *args],
        capture_output=True, text=True, timeout=900, env=env, stdin=subprocess.DEVNULL,
    )


def phases_of(output: str) -> list[tuple[str, str]]:
    return [(m["phase"], m["state"]) for line in output.splitlines() if (m := PHASE.match(line.strip()))]


def test_deploy_shows_every_phase_once_in_short_plain_lines(job_repo):
    repo = job_repo(SAMPLES / "python-class", name="progress")
    result = run_deploy(repo.job, "-e", f"name={repo.name}")
    assert result.returncode == 0, result.stderr
    phases = phases_of(result.stderr)
    assert [phase for phase, _ in phases] == [str(phase) for phase in DEPLOY_PHASES], result.stderr
    assert all(state in ("done", "cached") for _, state in phases)
    for line in (result.stdout + result.stderr).splitlines():
        assert len(line) <= 200, line
    assert "\x1b[" not in result.stderr  # no terminal codes without a terminal
    assert "LABEL" not in result.stderr and "Step " not in result.stderr  # Docker's raw log stays in the log
    again = run_deploy(repo.job, "-e", f"name={repo.name}", "--force")
    assert again.returncode == 0, again.stderr
    cached = dict(phases_of(again.stderr))
    if cached["wrapper layer"] != "cached":  # racetrack's own files changed in between (a dev checkout)
        return
    for phase in ("system packages", "requirements", "job code", "contract check"):
        assert cached[phase] == "cached", again.stderr


def test_a_failing_requirement_shows_the_pip_error_and_the_log_path(job_repo, tmp_path: Path):
    repo = job_repo(SAMPLES / "python-class", name="badreq")
    (repo.job / "requirements.txt").write_text("racetrack-no-such-package-anywhere==0.0.1\n")
    requirements = "python.requirements_path=requirements.txt"
    result = run_deploy(repo.job, "-e", f"name={repo.name}", "-e", requirements)
    assert result.returncode == 1
    assert ("requirements", "failed") in phases_of(result.stderr), result.stderr
    words = " ".join(result.stderr.split())  # lines are wrapped at the width of the output
    assert "failed phase: requirements" in words
    assert "No matching distribution found for racetrack-no-such-package-anywhere" in words
    log_path = re.search(r"full log: (\S+)", words)
    assert log_path and Path(log_path.group(1)).is_file(), result.stderr
    for line in result.stderr.splitlines():
        assert len(line) <= 200, line
