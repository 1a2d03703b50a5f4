"""The racetrack source checkout that builds use: its wheel goes into the wrapper image, its images/python3
holds the Dockerfile templates."""

from __future__ import annotations

from pathlib import Path

import racetrack
from racetrack.build.engine import BuildError


def source_tree() -> Path:
    """The checkout racetrack runs from (pyproject.toml and images/ next to src/racetrack)."""
    root = Path(racetrack.__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "images" / "python3").is_dir():
        raise BuildError(
            f"racetrack runs from {Path(racetrack.__file__).parent}, not from a source checkout, so it "
            "cannot build images; install racetrack from its repository (pip install -e <checkout>)"
        )
    return root


def template(name: str) -> str:
    """A Dockerfile template from images/python3."""
    return (source_tree() / "images" / "python3" / name).read_text()
