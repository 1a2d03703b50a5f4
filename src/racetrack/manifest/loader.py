"""Find and load a job's manifest: read YAML, resolve extends, apply overrides, validate, type it."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from racetrack.manifest.model import Manifest
from racetrack.manifest.notices import old_names_notice, public_endpoint_warning, unused_notice
from racetrack.manifest.overlay import merge, override_document, resolve_extends
from racetrack.manifest.problems import Location, ManifestError, Problem, display_path, dotted, read_text
from racetrack.manifest.schema import apply_defaults, required_fields
from racetrack.manifest.source import Document, Origin, a_yaml_type, parse_yaml
from racetrack.manifest.spelling import canonical
from racetrack.manifest.validation import schema_problems, sort_problems

MANIFEST_NAMES = ("job.yaml", "fatman.yaml")  # Racetrack's current name first, as Racetrack prefers it
STDIN = "-"  # the manifest path meaning "read it from standard input" (`cat job.yaml | racetrack validate -`)
STDIN_NAME = "<stdin>"

logger = logging.getLogger(__name__)


def find_manifest(path: Path) -> Path:
    """The manifest for `path`: a directory's job.yaml or fatman.yaml, or the file itself."""
    return _locate(path)[0]


def _locate(path: Path) -> tuple[Path, Path | None]:
    """The manifest for `path`, and the other manifest name of its directory when both are there."""
    path = Path(path)
    if str(path) == STDIN:  # relative paths in it resolve from the working directory
        return Path.cwd() / STDIN_NAME, None
    if path.is_dir():
        found = [path / name for name in MANIFEST_NAMES if (path / name).is_file()]
        if found:
            return found[0], found[1] if len(found) > 1 else None
        names = " nor ".join(MANIFEST_NAMES)
        raise ManifestError([Problem(
            display_path(path), f"no {names} in this directory; "
            f"create {MANIFEST_NAMES[0]} (see docs/manifest.md) or pass the manifest's path")])
    if path.is_file():
        return path, None
    message = "does not exist; give a job directory or a manifest file"
    raise ManifestError([Problem(display_path(path), message)])


def load_manifest(path: Path, overrides: Sequence[str] = (), notify: bool = True) -> Manifest:
    """Load, merge, override and validate the manifest at `path` (a job directory or a manifest file).

    Its notices are logged as warnings unless `notify` is false (they stay in `Manifest.notices`).
    """
    located, ignored = _locate(path)
    file = located.resolve()
    notices: list[str] = []
    read: list[Path] = []

    def read_recorded(each: Path) -> Document:
        read.append(each)
        return read_document(each, sys.stdin.read() if each == file and str(path) == STDIN else None)

    document = resolve_extends(file, read_recorded)
    if ignored is not None and ignored.resolve() not in read:  # not a base of the one used
        used, other = display_path(located), display_path(ignored)
        notices.append(f"notice: {used} and {other} are both here; using {used} (as Racetrack does), "
                       f"delete or rename {other}")
    problems: list[Problem] = []
    for text in overrides:
        try:
            document = merge(document, canonical(override_document(text)))
        except ManifestError as error:
            problems += error.problems
    problems += document.problems
    problems += schema_problems(document.data, document.origins, Location(display_path(file)))
    if problems:
        raise ManifestError(sort_problems(problems))
    data = apply_defaults(document.data)
    for line in (old_names_notice(document.respelled), unused_notice(data, document.origins)):
        notices += [f"notice: {line}"] if line else []
    notices += [f"warning: {public_endpoint_warning(endpoint)}" for endpoint in data["public_endpoints"]]
    if notify:
        for line in notices:
            logger.warning("%s", line)
    return Manifest.from_data(data, file, tuple(notices))


def read_document(path: Path, text: str | None = None) -> Document:
    """Parse one manifest file (or `text` read from it), which must hold a mapping of fields."""
    shown = display_path(path)
    document = parse_yaml(read_text(path) if text is None else text, shown)
    if document.data is None and document.origins.get((), Origin(Location(shown), plain="")).plain == "":
        needed = ", ".join(dotted(field) for field in required_fields())
        raise ManifestError([Problem(shown, f"the manifest is empty; it needs at least {needed}")])
    if not isinstance(document.data, dict):
        origin = document.origins[()]
        kind = a_yaml_type(document.data)
        raise ManifestError([Problem.at(
            origin.value, f"the manifest must be a mapping of fields (like 'name: my-job'), not {kind}")])
    return canonical(document)


def manifest_digest(manifest: Manifest) -> str:
    """sha256 of the normalized manifest data: changes exactly when the effective manifest does."""
    canonical = json.dumps(manifest.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
