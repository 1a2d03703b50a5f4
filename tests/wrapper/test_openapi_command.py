"""`python -m racetrack.wrapper openapi`: the builder reads the job's contract with it."""

from __future__ import annotations

import json
import subprocess
import sys
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
