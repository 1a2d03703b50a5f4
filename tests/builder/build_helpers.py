"""Helpers for builder tests: jobs committed to throwaway git repos, running the racetrack CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

JOBS = Path(__file__).parent / "jobs"
SAMPLES = Path(__file__).parents[2] / "sample"
RACETRACK = str(Path(sys.executable).parent / "racetrack")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=racetrack tests", "-c", "user.email=tests@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(root: Path, sources: dict[str, Path]) -> Path:
    """A git repo at `root` holding each source directory at its relative path, committed on `main`."""
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch", "main")
    for relative, source in sources.items():
        shutil.copytree(source, root / relative, ignore=shutil.ignore_patterns("__pycache__"))
    commit_all(root, "initial")
    return root


@dataclass
class RunningJob:
    url: str
    container: object

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30)

    def post(self, path: str, payload: object) -> httpx.Response:
        return httpx.post(self.url + path, json=payload, timeout=60)
