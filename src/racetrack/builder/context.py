"""Build contexts on disk: the job's files, the effective manifest, the build support files, digests."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from pathlib import Path

import yaml

from racetrack.builder import secret_exec
from racetrack.builder.engine import BuildError
from racetrack.builder.source import JobSource
from racetrack.manifest import Manifest

JOB_DIR = "job"
SUPPORT_DIR = "racetrack-build"
MANIFEST_NAME = "fatman.yaml"


def write_job_files(context: Path, manifest: Manifest, source: JobSource) -> None:
    """Copy the job's files to context/job and write the effective manifest there as fatman.yaml (the
    image's manifest is the one this build used, overrides included)."""
    target = context / JOB_DIR
    requirements = manifest.python.requirements_path
    if requirements and requirements not in source.files:
        raise BuildError(
            f"{manifest.path}: python.requirements_path {requirements!r} is not among the job's files from "
            f"{source.origin}: it is missing, ignored (.gitignore/.dockerignore), uncommitted, or outside "
            "the job directory"
        )
    for name in source.files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source.root / name, destination, follow_symlinks=False)
    data = {key: value for key, value in manifest.data.items() if key != "extends"}
    (target / MANIFEST_NAME).write_text(yaml.safe_dump(data, sort_keys=False))


def write_support_files(context: Path, ca_bundle: Path) -> None:
    """context/racetrack-build: the host's CA bundle and the build env runner (nothing that changes from one
    build to the next, so the layer copying them stays cached)."""
    support = context / SUPPORT_DIR
    support.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(secret_exec.__file__, support / "secret_exec.py")
    shutil.copyfile(ca_bundle, support / "ca.crt")


def tree_digest(root: Path, names: Iterable[str] | None = None) -> str:
    """sha256 over relative paths, executable bits and contents of `names` under `root` (default: all
    files except caches)."""
    if names is None:
        names = [
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        ]
    digest = hashlib.sha256()
    for name in sorted(names):
        path = root / name
        digest.update(name.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link:" + str(path.readlink()).encode())
        else:
            digest.update(b"x" if path.stat().st_mode & 0o111 else b"-")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def text_digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
