"""Where the job's files come from: a git clone (branch, directory, credentials) or the working directory."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from build_helpers import JOBS, commit_all, git, make_repo

from racetrack.builder import BuildError
from racetrack.builder.config import GitCredentials, RacetrackConfig
from racetrack.builder.source import (
    credential_args,
    display_remote,
    fetch_git,
    local_source,
    manifest_drift,
)
from racetrack.manifest import load_manifest


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {"jobs/probe": JOBS / "probe"})


def test_git_clone_of_branch_uses_git_directory_and_tracked_files_only(repo, tmp_path):
    git(repo, "checkout", "--quiet", "-b", "feature")
    (repo / "jobs/probe/feature.py").write_text("X = 1\n")
    commit = commit_all(repo, "feature")
    git(repo, "checkout", "--quiet", "main")
    (repo / "jobs/probe/untracked.py").write_text("")
    manifest = load_manifest(repo / "jobs/probe", [f"git.remote={repo}", "git.branch=feature"])
    (tmp_path / "work").mkdir()
    source = fetch_git(manifest, tmp_path / "work", RacetrackConfig(tmp_path / "c.yaml"))
    assert source.commit == commit
    assert "feature.py" in source.files and "untracked.py" not in source.files
    assert "ignored-by-dockerignore.txt" not in source.files  # .dockerignore applies to git sources too
    assert source.root.name == "probe"


def test_missing_git_directory_is_a_clear_error(repo, tmp_path):
    manifest = load_manifest(repo / "jobs/probe", [f"git.remote={repo}", "git.directory=jobs/nope"])
    (tmp_path / "work").mkdir()
    with pytest.raises(BuildError, match=r"git.directory 'jobs/nope' does not exist in file://.* at commit"):
        fetch_git(manifest, tmp_path / "work", RacetrackConfig(tmp_path / "c.yaml"))


def test_missing_branch_is_a_clear_error(repo, tmp_path):
    manifest = load_manifest(repo / "jobs/probe", [f"git.remote={repo}", "git.branch=nope"])
    (tmp_path / "work").mkdir()
    with pytest.raises(BuildError, match=r"cannot clone file://.* \(branch 'nope'\): .*nope"):
        fetch_git(manifest, tmp_path / "work", RacetrackConfig(tmp_path / "c.yaml"))


def test_local_source_honours_gitignore_dockerignore_and_drops_secret_files(repo):
    job = repo / "jobs/probe"
    (job / "local-only.txt").write_text("git-ignored")
    (job / "new_module.py").write_text("uncommitted = True\n")
    (job / ".env.build").write_text("TOKEN=x\n")
    manifest = load_manifest(job, ["secret_build_env_file=.env.build"])
    source = local_source(manifest)
    assert "new_module.py" in source.files
    assert "local-only.txt" not in source.files and "ignored-by-dockerignore.txt" not in source.files
    assert ".env.build" not in source.files
    assert source.commit.endswith("-dirty")


def test_local_source_outside_git_takes_every_file_but_dockerignored_ones(tmp_path):
    shutil.copytree(JOBS / "probe", tmp_path / "job")
    source = local_source(load_manifest(tmp_path / "job"))
    assert {"entrypoint.py", "helpers.py", "fatman.yaml", ".gitignore"} <= set(source.files)
    assert "ignored-by-dockerignore.txt" not in source.files
    assert source.commit == "unknown"


def test_manifest_drift_warns_about_unpushed_manifest_changes(repo):
    manifest_path = repo / "jobs/probe/fatman.yaml"
    assert manifest_drift(load_manifest(manifest_path)) is None
    manifest_path.write_text(manifest_path.read_text().replace("1.0.0", "1.0.1"))
    warning = manifest_drift(load_manifest(manifest_path))
    assert warning and "differs from its version on main" in warning and "push" in warning


def test_credentials_reach_git_through_the_helper_only(tmp_path):
    args, env = credential_args(GitCredentials("git.example.com", "alice", "t0ken"))
    assert "t0ken" not in " ".join(args)
    result = subprocess.run(
        ["git", *args, "credential", "fill"],
        input="protocol=https\nhost=git.example.com\n\n",
        env={**os.environ, **env, "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "username=alice" in result.stdout and "password=t0ken" in result.stdout


def test_credentials_come_from_env_then_config(monkeypatch, tmp_path):
    config = RacetrackConfig(
        tmp_path / "c.yaml", git_credentials=(GitCredentials("gitlab.example.com", "u", "p"),)
    )
    monkeypatch.delenv("RACETRACK_GIT_USERNAME", raising=False)
    assert config.credentials_for("gitlab.example.com").username == "u"
    assert config.credentials_for("github.com") is None
    monkeypatch.setenv("RACETRACK_GIT_USERNAME", "envuser")
    monkeypatch.setenv("RACETRACK_GIT_PASSWORD", "envpass")
    assert config.credentials_for("github.com").username == "envuser"


def test_display_remote_hides_credentials():
    assert display_remote("https://me:tok@git.example.com:8443/x.git") == "https://git.example.com:8443/x.git"
    assert display_remote("file:///tmp/repo") == "file:///tmp/repo"
