"""Helpers shared by the manifest tests."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from racetrack.manifest import ManifestError, load_manifest

MINIMAL = """\
name: adder
owner_email: nobody@example.com
jobtype: python3:latest
git:
  remote: https://github.com/racetrack/adder
jobtype_extra:
  entrypoint_path: fatman_entrypoint.py
"""
# The same manifest in the spelling of Racetrack before 2.15 (and of racetrack before job.yaml).
OLD_MINIMAL = MINIMAL.replace("jobtype_extra:", "python:").replace("jobtype:", "lang:")


def problems(path: Path | str = ".", overrides: Sequence[str] = ()) -> list[str]:
    """The problems loading `path` reports, as printed; fails the test if it loads."""
    with pytest.raises(ManifestError) as caught:
        load_manifest(Path(path), overrides)
    assert str(caught.value) == "\n".join(str(problem) for problem in caught.value.problems)
    return [str(problem) for problem in caught.value.problems]


def with_fields(extra: str, base: str = MINIMAL) -> str:
    """The minimal manifest plus `extra` YAML lines (later keys of the same name are not allowed)."""
    return base + textwrap.dedent(extra)
