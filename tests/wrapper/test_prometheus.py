"""/metrics checked by promtool and scraped by a real Prometheus server."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from wrapper_helpers import sample_server

from server_process import free_port

pytestmark = pytest.mark.prometheus


def test_promtool_finds_nothing_to_complain_about() -> None:
    with sample_server("python-metrics") as server:
        server.client.post("/api/v1/perform", json={"word": "abc"})
        server.client.post("/api/v1/perform", json={"nope": 1})
        metrics = server.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run(
        [shutil.which("promtool") or "promtool", "check", "metrics"],
        input=metrics.content,
        capture_output=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip() == b"" and check.stderr.strip() == b""


def test_prometheus_server_scrapes_the_job(tmp_path: Path) -> None:
    with sample_server("python-metrics") as server:
        assert server.client.post("/api/v1/perform", json={"word": "racetrack"}).status_code == 200
        port = free_port()
        target = f"127.0.0.1:{server.client.base_url.port}"
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: racetrack-job\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        prometheus = subprocess.Popen(
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "prometheus.log").open("wb"),
        )
        try:
            query = 'fatman_endpoint_calls_total{endpoint="/perform"}'
            results = _query_until_found(
                f"http://127.0.0.1:{port}", query, prometheus, tmp_path / "prometheus.log"
            )
            assert float(results[0]["value"][1]) == 1.0
            custom = _query_until_found(
                f"http://127.0.0.1:{port}", "fatman_words_counted", prometheus, tmp_path / "prometheus.log"
            )
            assert custom[0]["metric"]["color"] == "blue"
            assert custom[0]["metric"]["job"] == "racetrack-job"
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=30)


def _query_until_found(
    base: str, query: str, process: subprocess.Popen[bytes], log: Path, deadline: float = 60
) -> list:
    """Poll Prometheus' query API until `query` has a result."""
    end = time.monotonic() + deadline
    with httpx.Client(base_url=base, timeout=10) as client:
        while time.monotonic() < end:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                response = client.get("/api/v1/query", params={"query": query})
                if response.status_code == 200 and response.json()["data"]["result"]:
                    return response.json()["data"]["result"]
            except httpx.TransportError:
                pass
            time.sleep(0.5)
    raise AssertionError(f"Prometheus never returned {query}")
