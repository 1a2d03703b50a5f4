"""Fixtures for manifest tests: a scratch job directory that is also the working directory."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent / "example"

Write = Callable[..., Path]


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty job directory, made the working directory so problems show short file names."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write(job: Path) -> Write:
    """write(text, name="fatman.yaml"): put dedented text in a file of the job directory."""

    def write_file(text: str, name: str = "fatman.yaml") -> Path:
        path = job / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def example(job: Path) -> Path:
    """A copy of tests/manifest/example (every field set) with its secret env files filled in."""
    shutil.copy(EXAMPLE / "fatman.yaml", job / "fatman.yaml")
    (job / ".env.build").write_text(
        "# Git username or email\nGITLAB_USERNAME = 'username@example.com'\n"
        "# Use read_repo access token instead of your password\nGITLAB_TOKEN = \"Pa55w0rD\"\n"
    )
    (job / ".env.runtime").write_text('export API_KEY=s3cr3t\nMODEL_PASSWORD="pa ss # word"\n')
    return job / "fatman.yaml"
