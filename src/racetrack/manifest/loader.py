"""Find and load a job's manifest: read YAML, resolve extends, apply overrides, validate, type it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from racetrack.manifest.model import Manifest
from racetrack.manifest.overlay import merge, override_document, resolve_extends
from racetrack.manifest.problems import Location, ManifestError, Problem, display_path, dotted, read_text
from racetrack.manifest.schema import apply_defaults, required_fields
from racetrack.manifest.source import Document, Origin, a_yaml_type, parse_yaml
from racetrack.manifest.validation import schema_problems, sort_problems

MANIFEST_NAME = "fatman.yaml"
LEGACY_MANIFEST_NAME = "job.yaml"

logger = logging.getLogger(__name__)


def find_manifest(path: Path) -> Path:
    """The manifest for `path`: a directory's fatman.yaml (or job.yaml, with a notice), or the file itself."""
    path = Path(path)
    if path.is_dir():
        if (path / MANIFEST_NAME).is_file():
            return path / MANIFEST_NAME
        if (path / LEGACY_MANIFEST_NAME).is_file():
            logger.warning(
                "notice: %s: using it as the manifest; rename it to %s, the usual name",
                display_path(path / LEGACY_MANIFEST_NAME), MANIFEST_NAME,
            )
            return path / LEGACY_MANIFEST_NAME
        raise ManifestError([Problem(
            display_path(path), f"no {MANIFEST_NAME} (nor {LEGACY_MANIFEST_NAME}) in this directory; "
            f"create {MANIFEST_NAME} (see docs/manifest.md) or pass the manifest's path")])
    if path.is_file():
        return path
    message = "does not exist; give a job directory or a manifest file"
    raise ManifestError([Problem(display_path(path), message)])


def load_manifest(path: Path, overrides: Sequence[str] = ()) -> Manifest:
    """Load, merge, override and validate the manifest at `path` (a job directory or a manifest file)."""
    file = find_manifest(path).resolve()
    document = resolve_extends(file, read_document)
    problems: list[Problem] = []
    for text in overrides:
        try:
            document = merge(document, override_document(text))
        except ManifestError as error:
            problems += error.problems
    problems += document.problems
    problems += schema_problems(document.data, document.origins, Location(display_path(file)))
    if problems:
        raise ManifestError(sort_problems(problems))
    return Manifest.from_data(apply_defaults(document.data), file)


def read_document(path: Path) -> Document:
    """Parse one manifest file, which must hold a mapping of fields."""
    shown = display_path(path)
    document = parse_yaml(read_text(path), shown)
    if document.data is None and document.origins.get((), Origin(Location(shown), plain="")).plain == "":
        needed = ", ".join(dotted(field) for field in required_fields())
        raise ManifestError([Problem(shown, f"the manifest is empty; it needs at least {needed}")])
    if not isinstance(document.data, dict):
        origin = document.origins[()]
        kind = a_yaml_type(document.data)
        raise ManifestError([Problem.at(
            origin.value, f"the manifest must be a mapping of fields (like 'name: my-job'), not {kind}")])
    return document


def manifest_digest(manifest: Manifest) -> str:
    """sha256 of the normalized manifest data: changes exactly when the effective manifest does."""
    canonical = json.dumps(manifest.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
