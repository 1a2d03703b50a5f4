"""Dockerfile rendering, build logs, the racetrack config file, apt mirror discovery, CLI errors."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace

import pytest
from build_helpers import JOBS, RACETRACK

from racetrack.builder import BuildError
from racetrack.builder.bootstrap import host_apt_mirror
from racetrack.builder.config import DEFAULT_BASE_IMAGE, ConfigError, load_config, save_setting
from racetrack.builder.dockerfile import job_dockerfile, render
from racetrack.builder.logs import BuildLog, job_logs
from racetrack.manifest import load_manifest


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("RACETRACK_CONFIG", str(tmp_path / "config.yaml"))


def test_job_dockerfile_orders_layers_and_quotes_env():
    manifest = load_manifest(JOBS / "probe", ['runtime_env={"Q": "say \\"hi\\" to $USER \\\\o/"}'])
    text = job_dockerfile(manifest, "racetrack/python3-wrapper:test")
    order = [
        text.index(s) for s in ("ARG PROBE_REQUIREMENT", "apt-get -q install", "pip install", "COPY --chown")
    ]
    assert order == sorted(order)
    # build_env: an ARG in both stages that run build steps, and nothing of it in the final stage
    stages = text.split("\nFROM ")[1:]
    assert [stage.count('ARG PROBE_REQUIREMENT="six"') for stage in stages] == [1, 1, 0]
    assert 'ENV Q="say \\"hi\\" to \\$USER \\\\o/"' in text
    assert "FROM racetrack/python3-wrapper:test AS system" in text


def test_the_build_server_url_goes_in_the_cache_exempt_build_arg(monkeypatch):
    from racetrack.builder.builder import handoff_buildargs

    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert handoff_buildargs("http://127.0.0.1:5/env/t") == {"FTP_PROXY": "http://127.0.0.1:5/env/t"}
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "internal.example")
    args = handoff_buildargs("http://127.0.0.1:5/env/t")
    assert args["https_proxy"] == "http://proxy.example:3128"
    assert args["no_proxy"] == "internal.example,127.0.0.1" and args["NO_PROXY"] == "127.0.0.1"


def test_bad_apt_package_name_is_refused_even_past_the_schema():
    manifest = replace(load_manifest(JOBS / "probe"), system_dependencies=("jq; rm -rf /",))
    with pytest.raises(BuildError, match="system_dependencies has 'jq; rm -rf /'"):
        job_dockerfile(manifest, "w")


def test_render_needs_every_placeholder():
    assert render("FROM {{ base }}", {"base": "x"}) == "FROM x"
    with pytest.raises(KeyError):
        render("FROM {{ other }}", {})


def test_build_log_redacts_secrets_and_reports_the_failing_step():
    seen = []
    with BuildLog("job", ["hunter2", "hunter2-long"], seen.append) as log:
        log.line("Step 1/2 : FROM x")
        log.line(" ---> abc")
        log.line("Step 2/2 : RUN pip install")
        log.line("\x1b[91mERROR: bad token hunter2-long and hunter2\x1b[0m")
    text = log.path.read_text()
    assert "hunter2" not in text and "hunter2" not in "".join(seen)
    assert "ERROR: bad token [secret redacted] and [secret redacted]" in text
    report = log.failure_report("returned a non-zero code: 1 (hunter2)")
    assert "failing step: Step 2/2 : RUN pip install" in report and "hunter2" not in report
    assert "  | ERROR: bad token" in report and "abc" not in report
    assert job_logs("job") == [log.path]


def test_config_defaults_saves_and_rejects_bad_shapes(tmp_path):
    assert load_config().base_image == DEFAULT_BASE_IMAGE
    path = save_setting("base_image", "racetrack/python3-base:bookworm")
    assert load_config().base_image == "racetrack/python3-base:bookworm"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text("git_credentials: {host: x}\n")
    with pytest.raises(ConfigError, match="git_credentials must be a list"):
        load_config()


def test_host_apt_mirror_reads_deb822_and_one_line_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n"
    )
    assert host_apt_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://other.example/debian bookworm main\n")
    assert host_apt_mirror(tmp_path) == "http://other.example/debian"


def test_no_engine_is_one_clear_message(tmp_path):
    result = subprocess.run(
        [RACETRACK, "build", str(JOBS / "probe"), "--source", "local"],
        env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no.sock", "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "error: no Docker engine reachable at unix://" in result.stderr
    assert "dockerd" in result.stderr and "Traceback" not in result.stderr


def test_build_logs_without_any_build_says_what_to_do():
    result = subprocess.run([RACETRACK, "build-logs", str(JOBS / "probe")], capture_output=True, text=True)
    assert result.returncode == 1 and "run `racetrack build` first" in result.stderr


def test_bad_source_option_is_refused():
    result = subprocess.run(
        [RACETRACK, "build", str(JOBS / "probe"), "--source", "svn"], capture_output=True, text=True
    )
    assert result.returncode == 1 and "--source must be 'git' or 'local'" in result.stderr


def test_templates_are_package_data():
    from racetrack.builder.distribution import template

    assert "FROM {{ wrapper_image }} AS system" in template("job.Dockerfile")
    assert "{{ wheel }}" in template("wrapper.Dockerfile")
