"""Smoke run of `python -m bench gateway`: real job, gateway and wrk, tiny settings, no timed assertions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_gateway_benchmark_runs_and_writes_its_section(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "wrk is not installed although CI=true: scripts/setup/bench.sh should have installed it"
            )
        pytest.skip("wrk not installed (bash scripts/setup/bench.sh); with CI=true this fails instead")
    document = tmp_path / "benchmarks.md"
    document.write_text("# Benchmarks\n\nhand-written text\n")
    command = [
        sys.executable,
        "-m",
        "bench",
        "gateway",
        "--rounds",
        "1",
        "--duration",
        "1",
        "--connections",
        "1",
        "--output",
        str(document),
    ]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = document.read_text()
    assert text.startswith("# Benchmarks\n\nhand-written text\n")  # appended, nothing else touched
    assert "<!-- bench:gateway:begin -->" in text and "| 1 | gateway |" in text and "| 1 | direct |" in text
    assert "gateway CPU" in text
