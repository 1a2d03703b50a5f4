"""Helpers for deploy tests: jobs in throwaway git repos and the racetrack CLI run in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from racetrack.cli import app

JOBS = Path(__file__).parent / "jobs"
SAMPLES = Path(__file__).parents[2] / "sample"
RACETRACK = Path(sys.executable).parent / "racetrack"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=racetrack tests", "-c", "user.email=tests@example.com", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout.strip()


@dataclass
class JobRepo:
    """A job committed to a local git repository; `overrides` deploy it from there under `name`."""

    root: Path  # the repository
    job: Path  # the job directory inside it
    name: str

    @property
    def overrides(self) -> list[str]:
        return ["-e", f"git.remote={self.root}", "-e", f"name={self.name}"]

    @property
    def commit(self) -> str:
        return git(self.root, "rev-parse", "HEAD")

    def write_secrets(self, text: str) -> None:
        """The secret runtime env file (never committed: it only has to exist where deploy runs)."""
        (self.job / ".env.runtime").write_text(text)


runner = CliRunner()


def racetrack(*args: str) -> Any:
    """Run a racetrack command in-process; the result has exit_code, stdout and stderr."""
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """`text` with each run of whitespace as one space: what it says, however the terminal wrapped it."""
    return " ".join(text.split())


def listed(name: str) -> list[dict[str, Any]]:
    """`racetrack list NAME --json`."""
    result = racetrack("list", name, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def deploy(repo: JobRepo, *args: str) -> Any:
    """`racetrack deploy` of the job from its git repository; asserts success."""
    result = racetrack("deploy", str(repo.job), *repo.overrides, *args)
    assert result.exit_code == 0, f"deploy failed:\n{result.output}"
    return result
