"""A deploy from `git.remote` through a real server: the server clones a private HTTPS repository (git's
own http-backend behind Basic auth) with the git credentials the client sent, and only with them."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from git_https import git_https_server

from conftest import REPO, SERVER
from lifecycle import deploy_request
from racetrack.protocol import AUTH_HEADER
from server_process import job_server

pytestmark = pytest.mark.docker


def bare_repository(job: Path, repos: Path) -> None:
    """`job` committed to a git repository, published as the bare repository repos/job.git."""
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(job)], check=True)
    subprocess.run([*git, "-C", str(job), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(job), "commit", "-q", "-m", "job"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(job), str(repos / "job.git")], check=True)


def test_the_server_clones_a_private_repository_with_the_sent_credentials(tmp_path: Path) -> None:
    job = tmp_path / "job"
    shutil.copytree(REPO / "sample" / "python-class", job)
    repos = tmp_path / "repos"
    repos.mkdir()
    bare_repository(job, repos)
    password, wrong = f"pw-{secrets.token_hex(10)}", f"pw-{secrets.token_hex(10)}"
    name = f"srv-git-{uuid.uuid4().hex[:6]}"

    with git_https_server(repos, "ci", password, tmp_path) as git:
        env = {
            "GIT_SSL_CAINFO": str(git.ca_file),
            "RACETRACK_GIT_USERNAME": "ci",
            "RACETRACK_GIT_PASSWORD": wrong,
        }
        args = ["--data-dir", str(tmp_path / "data")]
        with job_server(args, env=env, wait_path="/health", command=SERVER, log_dir=tmp_path) as server:
            admin = (tmp_path / "data" / "admin-token").read_text().strip()
            manifest = yaml.safe_load((job / "fatman.yaml").read_text())
            manifest |= {"name": name, "git": {"remote": f"{git.url}/job.git", "branch": "main"}}
            request = {"manifest": manifest, "secret_vars": {}, "force": False}

            refused = deploy_request(
                server, admin, {**request, "git_credentials": {"username": "ci", "password": wrong}}
            )
            assert refused["status"] == "failed" and "cannot clone" in refused["error"], refused
            assert wrong not in refused["error"]

            done = deploy_request(
                server, admin, {**request, "git_credentials": {"username": "ci", "password": password}}
            )
            assert done["status"] == "done", done  # the client's credentials, not the server's environment
            called = server.client.post(
                f"/pub/job/{name}/latest/api/v1/perform", json={"x": 6, "y": 7}, headers={AUTH_HEADER: admin}
            )
            assert called.status_code == 200 and called.json() == 42.0
            job_row = server.client.get(f"/lifecycle/api/v1/job/{name}/latest", headers={AUTH_HEADER: admin})
            assert job_row.json()["status"] == "running"
            assert any(line.endswith(" ci") for line in git.requests)  # it did authenticate
            for secret in (password, wrong):
                assert secret not in server.output()
                assert secret.encode() not in b"".join(
                    p.read_bytes() for p in (tmp_path / "data").glob("*.db*")
                )
            httpx.delete(
                f"{server.url}/lifecycle/api/v1/job/{name}/0.0.1", headers={AUTH_HEADER: admin}, timeout=60
            )
