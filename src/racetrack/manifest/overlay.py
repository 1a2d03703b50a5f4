"""Combine manifests: `extends` chains (base under overlay) and `-e key.path=value` overrides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from racetrack.manifest.problems import FieldPath, Location, ManifestError, Problem, display_path
from racetrack.manifest.source import Document, Origin, parse_yaml
from racetrack.manifest.validation import schema_problems, sort_problems


def merge(base: Document, overlay: Document) -> Document:
    """Overlay `overlay` on `base`: mappings merge key by key, anything else is replaced."""
    data = _merge_data(base.data, overlay.data)
    origins = {}
    for path in _paths(data):
        origin = overlay.origins.get(path)
        if origin is None or (origin.implied and isinstance(_value_at(base.data, path), dict)):
            origin = base.origins.get(path) or origin
        if origin is not None:
            origins[path] = origin
    return Document(data, origins, base.problems + overlay.problems, base.respelled + overlay.respelled)


def _value_at(data: Any, path: FieldPath) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _merge_data(base: Any, overlay: Any) -> Any:
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        return overlay
    merged = dict(base)
    for key, value in overlay.items():
        merged[key] = _merge_data(base[key], value) if key in base else value
    return merged


def _paths(data: Any, prefix: FieldPath = ()) -> Iterator[FieldPath]:
    yield prefix
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        yield from _paths(value, (*prefix, key))


def override_document(text: str) -> Document:
    """The one-field document that `-e key.path=value` stands for (value parsed as YAML)."""
    source = f"-e {text}"
    key, equals, value = text.partition("=")
    parts: FieldPath = tuple(key.strip().split("."))
    if not equals or not all(parts):
        raise ManifestError([Problem(source, "expected key.path=value, e.g. -e git.branch=main")])
    if parts[0] == "extends":
        raise ManifestError([Problem(source, "cannot be overridden; set it in the manifest", "extends")])
    try:
        parsed = parse_yaml(value, source)
    except ManifestError as error:  # a position inside a one-line value adds nothing to the message
        raise ManifestError([Problem(source, problem.message) for problem in error.problems]) from None
    plain = parsed.origins[()].plain if () in parsed.origins else value
    here = Location(source)
    origins = {parts[:depth]: Origin(here, implied=True) for depth in range(1, len(parts))}
    origins |= {(*parts, *path): Origin(here, None, each.plain) for path, each in parsed.origins.items()}
    origins[parts] = Origin(here, None, plain)
    data = parsed.data
    for part in reversed(parts):
        data = {part: data}
    return Document(data, origins, parsed.problems)


def resolve_extends(
    path: Path, read: Callable[[Path], Document], chain: tuple[Path, ...] = ()
) -> Document:
    """Read the manifest at `path` and, recursively, the bases it `extends`, merged into one Document."""
    document = read(path)
    if "extends" not in document.data:
        return document
    try:
        base = _extended_file(document, path, chain)
        return merge(resolve_extends(base, read, (*chain, path)), document)
    except ManifestError as error:  # no merged manifest to check: check this file's own fields
        own = schema_problems(document.data, document.origins, Location(display_path(path)), partial=True)
        raise ManifestError(sort_problems([*document.problems, *own, *error.problems])) from None


def _extended_file(document: Document, path: Path, chain: tuple[Path, ...]) -> Path:
    """Take `extends` out of `document` (read from `path`) and return the base file it names."""
    target = document.data.pop("extends")
    origin = document.origins.get(("extends",))
    where = origin.value if origin else Location(display_path(path))
    problems = schema_problems(target, document.origins, where, "/properties/extends", ("extends",))
    document.origins = {key: value for key, value in document.origins.items() if key[:1] != ("extends",)}
    if problems:
        raise ManifestError(problems)
    base = (path.parent / target).resolve()
    trail = (*chain, path)
    if base in trail:
        cycle = " -> ".join(display_path(step) for step in (*trail[trail.index(base):], base))
        raise ManifestError([Problem.at(
            where, f"{target!r} makes a cycle: {cycle}; remove one of these extends", ("extends",))])
    if not base.is_file():
        state = "is a directory, not a manifest file" if base.is_dir() else "does not exist"
        raise ManifestError([Problem.at(
            where, f"{target!r} {state} (looked for {display_path(base)})", ("extends",))])
    return base
