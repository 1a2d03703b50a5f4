"""The host's pip settings forwarded to containers; the build server of secrets and local directories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from racetrack.builder import secret_exec
from racetrack.builder.pipconf import PipSettings, parse_pip_config_list
from racetrack.builder.server import BuildServer, inputs_digest


def test_pip_config_list_is_read_with_later_lines_winning(tmp_path):
    listing = (
        "global.index-url='https://mirror.example/simple'\n"
        f"global.extra-index-url='file://{tmp_path}/simple https://extra.example/simple'\n"
        "global.find-links='/opt/wheels'\n"
        "freeze.find-links='/ignored'\n"
        ":env:.index-url='https://env.example/simple'\n"
        ":env:.default-timeout='180'\n"
    )
    settings = parse_pip_config_list(listing)
    assert settings.index_url == "https://env.example/simple"
    assert settings.extra_index_urls == (f"file://{tmp_path}/simple", "https://extra.example/simple")
    assert settings.find_links == ("/opt/wheels",)
    assert settings.timeout == "180"


def test_container_env_serves_existing_local_dirs_and_keeps_urls(tmp_path):
    (tmp_path / "simple").mkdir()
    (tmp_path / "wheels").mkdir()
    settings = PipSettings(
        index_url="https://pypi.example/simple",
        extra_index_urls=(f"file://{tmp_path}/simple", "file:///no/such/dir"),
        find_links=(str(tmp_path / "wheels"), "https://links.example/"),
    )
    env = settings.container_env("http://127.0.0.1:9/files", "/ca.crt")
    assert env["PIP_INDEX_URL"] == "https://pypi.example/simple"
    assert env["PIP_EXTRA_INDEX_URL"].split() == [f"http://127.0.0.1:9/files{tmp_path}/simple/"]
    assert env["PIP_FIND_LINKS"].split() == [
        f"http://127.0.0.1:9/files{tmp_path}/wheels/",
        "https://links.example/",
    ]
    assert env["PIP_CERT"] == "/ca.crt"
    # An index's files usually sit beside it (../files), so its parent is served; find-links dirs as they are.
    assert settings.local_dirs() == (tmp_path, tmp_path / "wheels")


@pytest.fixture
def served(tmp_path):
    (tmp_path / "mirror" / "simple").mkdir(parents=True)
    (tmp_path / "mirror" / "simple" / "index.html").write_text("<a href='../files/x.whl'>x</a>")
    (tmp_path / "outside.txt").write_text("private")
    with BuildServer((tmp_path / "mirror",)) as server:
        yield server, tmp_path


def test_an_offered_env_is_served_once_and_only_for_its_token(served):
    server, _ = served
    url = server.offer({"TOKEN": "s3cr3t"})
    other = server.offer({"PIP_INDEX_URL": "https://mirror.example/simple"})
    assert url != other and url.startswith(server.url + "/env/")
    assert httpx.get(server.url + "/env/wrong").status_code == 404
    assert httpx.get(url).json() == {"TOKEN": "s3cr3t"}
    assert httpx.get(url).status_code == 404
    assert httpx.get(other).json() == {"PIP_INDEX_URL": "https://mirror.example/simple"}


def test_files_are_served_only_inside_allowed_dirs(served):
    server, root = served
    assert "x.whl" in httpx.get(f"{server.files_url}{root}/mirror/simple/").text
    for path in (
        f"{root}/outside.txt",
        f"{root}/mirror/../outside.txt",
        "/etc/passwd",
        f"{root}/mirror/%2e%2e/outside.txt",
    ):
        assert httpx.get(server.files_url + path).status_code == 404, path


def test_inputs_digest_is_stable_per_inputs_and_reveals_none(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    digest = inputs_digest("pip settings", [("A", "secret-value")])
    assert digest == inputs_digest("pip settings", [("A", "secret-value")])
    assert digest != inputs_digest("pip settings", [("A", "other")])
    assert digest != inputs_digest("other pip settings", [("A", "secret-value")])
    assert "secret-value" not in digest
    assert oct((tmp_path / "racetrack" / "build-key").stat().st_mode & 0o777) == "0o600"


def test_secret_exec_runs_the_command_with_the_served_env(served):
    server, _ = served
    script = Path(secret_exec.__file__)
    env = {**os.environ, "FTP_PROXY": server.offer({"TOKEN": "s3cr3t"})}
    printed = subprocess.run(
        [
            sys.executable,
            str(script),
            sys.executable,
            "-c",
            "import os; print(os.environ['TOKEN'], 'FTP_PROXY' in os.environ)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed.split() == ["s3cr3t", "False"]
    second = subprocess.run([sys.executable, str(script), "true"], env=env, capture_output=True, text=True)
    assert second.returncode != 0 and "cannot fetch the build env" in second.stderr


def test_secret_exec_without_url_passes_the_env_through():
    assert secret_exec.command_env({"A": "1"}) == {"A": "1"}
