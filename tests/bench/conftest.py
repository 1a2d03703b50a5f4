"""Benchmark-harness tests: import `bench` from the repository root; need wrk for the real run."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))  # `tests/bench` must not shadow the top-level `bench` package


@pytest.fixture
def wrk() -> str:
    """wrk's path; skipped when missing, except under CI=true where scripts/setup/bench.sh installs it."""
    path = shutil.which("wrk")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "wrk is not installed although CI=true: scripts/setup/bench.sh should have installed it"
            )
        pytest.skip("wrk not installed (bash scripts/setup/bench.sh); with CI=true this fails instead")
    return path
