"""What builds take from the installed racetrack: its Dockerfile templates (package data) and a wheel of
exactly the installed distribution, whatever way it was installed (wheel, sdist, editable checkout)."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import zipfile
from functools import cache
from importlib.resources import files
from pathlib import Path

import racetrack
from racetrack.builder.engine import BuildError

DISTRIBUTION = "racetrack"
# The distribution's top-level packages: racetrack, and the names of Racetrack's runtime library that job
# code imports (racetrack_job_wrapper).
PACKAGES = ("racetrack", "racetrack_job_wrapper")
WHEEL_TAG = "py3-none-any"
_WHEEL_FILE = f"Wheel-Version: 1.0\nGenerator: racetrack\nRoot-Is-Purelib: true\nTag: {WHEEL_TAG}\n"
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # fixed, so the same files always make the same wheel


def template(name: str) -> str:
    """A Dockerfile template shipped in racetrack.builder/templates."""
    return files("racetrack.builder").joinpath("templates", name).read_text()


def package_dir() -> Path:
    return Path(racetrack.__file__).resolve().parent


def package_roots() -> list[Path]:
    """The installed directory of each of the distribution's top-level packages."""
    roots = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            roots.append(Path(spec.origin).resolve().parent)
    return roots


@cache
def package_files() -> tuple[tuple[Path, str], ...]:
    """(file, name in the wheel) of every file of the installed packages, caches left out."""
    found = [
        (path, f"{root.name}/{path.relative_to(root).as_posix()}")
        for root in package_roots()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    ]
    return tuple(sorted(found, key=lambda item: item[1]))


def installed_metadata() -> tuple[str, str]:
    """The installed distribution's METADATA and entry_points.txt (empty when it has none)."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(
            f"racetrack runs from {package_dir()} without installed distribution metadata, so its "
            "wrapper image cannot be built; install it (pip install 'racetrack[cli]', or pip install -e . "
            "in a checkout)"
        ) from None
    if dist.version != racetrack.__version__:
        raise BuildError(
            f"the installed racetrack distribution is {dist.version}, but the imported package at "
            f"{package_dir()} is {racetrack.__version__}; reinstall racetrack so the two agree"
        )
    return dist.read_text("METADATA") or "", dist.read_text("entry_points.txt") or ""


def distribution_digest() -> str:
    """sha256 over everything the wheel holds: the package's files and the distribution's metadata."""
    digest = hashlib.sha256()
    for path, name in package_files():
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    for text in installed_metadata():
        digest.update(b"\0" + text.encode())
    return digest.hexdigest()


def build_wheel(out: Path) -> Path:
    """Write a wheel of the installed racetrack (package files plus its METADATA) into `out`; its path."""
    metadata, entry_points = installed_metadata()
    info = f"{DISTRIBUTION}-{racetrack.__version__}.dist-info"
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{DISTRIBUTION}-{racetrack.__version__}-{WHEEL_TAG}.whl"
    record: list[str] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes) -> None:
            entry = zipfile.ZipInfo(name, _TIMESTAMP)
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data, zipfile.ZIP_DEFLATED)
            hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={hashed},{len(data)}")

        for path, name in package_files():
            add(name, path.read_bytes())
        add(f"{info}/METADATA", metadata.encode())
        add(f"{info}/WHEEL", _WHEEL_FILE.encode())
        if entry_points:
            add(f"{info}/entry_points.txt", entry_points.encode())
        record.append(f"{info}/RECORD,,")
        add_record = zipfile.ZipInfo(f"{info}/RECORD", _TIMESTAMP)
        add_record.external_attr = 0o644 << 16
        archive.writestr(add_record, "\n".join(record) + "\n", zipfile.ZIP_DEFLATED)
    return wheel
