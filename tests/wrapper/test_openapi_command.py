"""`python -m racetrack.wrapper openapi`: the builder reads the job's contract with it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from wrapper_helpers import SAMPLES, write_job


def run_openapi(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "racetrack.wrapper", "openapi", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_prints_the_document_of_a_sample_and_keeps_user_prints_off_stdout(tmp_path: Path) -> None:
    result = run_openapi(SAMPLES / "python-auxiliary-endpoints", "--manifest", "fatman.yaml")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert "/api/v1/perform" in document["paths"]
    assert "/api/v1/explain" in document["paths"]

    write_job(tmp_path, """
        class Noisy:
            def __init__(self):
                print("loading weights...")

            def perform(self, x: int) -> int:
                return x
    """)
    noisy = run_openapi(tmp_path, "--entrypoint-path", "entrypoint.py")
    assert noisy.returncode == 0, noisy.stderr
    assert json.loads(noisy.stdout)["paths"]["/api/v1/perform"]
    assert "loading weights..." in noisy.stderr


def test_a_job_that_fails_to_load_exits_1_with_the_error(tmp_path: Path) -> None:
    write_job(tmp_path, """
        class Broken:
            def __init__(self):
                raise RuntimeError("model file is missing")

            def perform(self) -> None:
                pass
    """)
    result = run_openapi(tmp_path, "--entrypoint-path", "entrypoint.py")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "model file is missing" in result.stderr


def test_a_job_yaml_in_old_spelling_loads_silently_and_errors_name_job_yaml(tmp_path: Path) -> None:
    """Manifest notices are for `racetrack validate`, not every job start; fixes name the actual file."""
    write_job(tmp_path, """
        class Job:
            def perform(self, x: int) -> int:
                return x
    """)
    manifest = """
        name: old-spelling
        owner_email: nobody@example.com
        lang: python3:latest
        git:
          remote: https://example.com/jobs.git
        python:
          entrypoint_path: entrypoint.py
    """
    (tmp_path / "job.yaml").write_text(textwrap.dedent(manifest))
    quiet = run_openapi(tmp_path, "--manifest", "job.yaml")
    assert quiet.returncode == 0, quiet.stderr
    assert "notice" not in quiet.stderr and "lang" not in quiet.stderr

    (tmp_path / "job.yaml").write_text(textwrap.dedent(manifest) + "  entrypoint_class: Missing\n")
    wrong = run_openapi(tmp_path, "--manifest", str(tmp_path))
    assert wrong.returncode == 1
    assert "class 'Missing' not found in entrypoint.py: fix jobtype_extra.entrypoint_class in job.yaml" in (
        wrong.stderr
    )
