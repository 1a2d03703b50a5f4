"""Smoke run of the real harness: real servers, real wrk, tiny settings. No timed assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_measures_wrapper_and_baseline_and_writes_the_document(wrk: str, tmp_path: Path) -> None:
    doc, raw = tmp_path / "benchmarks.md", tmp_path / "raw.json"
    doc.write_text("# Benchmarks\n\nHand-written notes stay.\n")
    command = [
        sys.executable,
        "-m",
        "bench",
        "--servers",
        "wrapper-sync,fastapi-sync,wrapper-sum,fastapi-sum-sync",
        "--rounds",
        "2",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--connections",
        "4",
        "--output",
        str(doc),
        "--json",
        str(raw),
    ]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr

    samples = json.loads(raw.read_text())
    assert samples["skipped"] == {}
    measured = {(s["server"], s["round"]) for s in samples["load"] if s["requests"] > 0}
    for server in ("wrapper-sync", "fastapi-sync", "wrapper-sum", "fastapi-sum-sync"):
        assert {(server, 0), (server, 1)} <= measured
    assert all(s["rss_mb"] > 0 and s["cold_start_s"] > 0 for s in samples["servers"])

    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nHand-written notes stay.\n")
    assert "<!-- bench:run:begin -->" in text and "<!-- bench:run:end -->" in text
    assert "| Sync perform vs FastAPI `def`: calls/s ratio ≥ 1.0x, 4 connection(s) | **" in text
    assert "| 100 KB payload vs FastAPI `def`: RSS after load ≤ baseline + 15 MB | **" in text


def test_unknown_server_name_is_a_clear_error() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--servers", "nope"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert completed.returncode == 2
    assert "unknown server(s) nope" in completed.stdout + completed.stderr


@pytest.mark.docker
def test_build_benchmark_times_real_builds(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    command = [sys.executable, "-m", "bench", "build", "--repeats", "1", "--output", str(doc)]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = doc.read_text()
    assert "<!-- bench:build:begin -->" in text
    for step in ("cold build", "no-op rebuild", "one-line code change", "requirements change"):
        assert f"{step}" in text
    assert "| no-op rebuild | **" in text and "| no | no |" in text  # an unchanged job builds nothing
    assert "Wrapper layers over the Python base image: **" in text
