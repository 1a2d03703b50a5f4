"""The collection guard fails a run in which a test folder collects nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
PASSING = "def test_ok():\n    assert True\n"


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "collection_guard", "-p", "no:cacheprovider", "-q", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_folder_pytest_ignores_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "tests" / "wrapper").mkdir(parents=True)
    (tmp_path / "tests" / "build").mkdir()
    (tmp_path / "tests" / "wrapper" / "test_a.py").write_text(PASSING)
    (tmp_path / "tests" / "build" / "test_b.py").write_text(PASSING)
    result = run_pytest(tmp_path, "tests")
    assert result.returncode != 0
    assert "no test was collected from tests/build" in result.stdout + result.stderr


def test_a_folder_emptied_by_a_module_skip_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "tests" / "a").mkdir(parents=True)
    skipped = "import pytest\npytest.skip('no', allow_module_level=True)\n"
    (tmp_path / "tests" / "a" / "test_a.py").write_text(skipped)
    (tmp_path / "tests" / "test_top.py").write_text(PASSING)
    result = run_pytest(tmp_path, "tests")
    assert result.returncode != 0
    assert "no test was collected from tests/a" in result.stdout + result.stderr


def test_every_folder_collecting_passes(tmp_path: Path) -> None:
    (tmp_path / "tests" / "builder").mkdir(parents=True)
    (tmp_path / "tests" / "builder" / "test_b.py").write_text(PASSING)
    (tmp_path / "tests" / "test_top.py").write_text(PASSING)
    result = run_pytest(tmp_path, "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_selecting_one_file_checks_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "tests" / "build").mkdir(parents=True)
    (tmp_path / "tests" / "build" / "test_b.py").write_text(PASSING)
    (tmp_path / "tests" / "test_top.py").write_text(PASSING)
    result = run_pytest(tmp_path, "tests/test_top.py")
    assert result.returncode == 0, result.stdout + result.stderr
