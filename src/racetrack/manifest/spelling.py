"""Other spellings of manifest fields (`lang`, `python`, `max_concurrency_queue`): renamed to the names the
schema marks them `aliasOf`, file by file, before documents are merged and checked."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from racetrack.manifest.problems import FieldPath, Location, Problem, dotted
from racetrack.manifest.schema import manifest_schema, resolve
from racetrack.manifest.source import Document, Origin, Respelled


def canonical(document: Document) -> Document:
    """`document` with every aliased field under its canonical name; both names in one mapping: a problem."""
    found = Document(document.data, dict(document.origins), list(document.problems), list(document.respelled))
    _rename(found, found.data, (), manifest_schema())
    return found


def written_path(origins: dict[FieldPath, Origin], path: FieldPath) -> FieldPath:
    """`path` as the user wrote it (`python.workers` for `jobtype_extra.workers`), judged by the nearest
    value written: a field set under its current name in an overlay shows that name."""
    for depth in range(len(path), -1, -1):
        origin = origins.get(path[:depth])
        if origin is not None:
            return (*origin.written, *path[depth:]) if origin.written else path
    return path


def _rename(document: Document, data: Any, path: FieldPath, schema: dict[str, Any]) -> None:
    if not isinstance(data, dict):
        return
    properties = resolve(schema).get("properties", {})
    for key in [key for key in data if "aliasOf" in properties.get(key, {})]:
        alias = properties[key]
        target = alias["aliasOf"]
        origin = document.origins.get((*path, key))
        where = (origin.key or origin.value) if origin else Location("")
        shown = written_path(document.origins, (*path, key))
        if target in data:
            message = f"another name of {dotted((*path, target))}, which is set too; keep only one of them"
            document.problems.append(Problem.at(where, message, shown))
            del data[key]
            _move(document.origins, (*path, key), None)
            continue
        items = list(data.items())
        data.clear()
        data.update((target if name == key else name, value) for name, value in items)
        _move(document.origins, (*path, key), (*path, target))
        document.respelled.append(
            Respelled(where, dotted(shown), dotted((*path, target)), bool(alias.get("deprecated"))))
    for key, value in data.items():
        if key in properties:
            _rename(document, value, (*path, key), properties[key])


def _move(origins: dict[FieldPath, Origin], old: FieldPath, new: FieldPath | None) -> None:
    """Re-key the origins at and below `old` to `new` (or drop them when `new` is None)."""
    for path in [path for path in origins if path[: len(old)] == old]:
        origin = origins.pop(path)
        if new is not None:
            origins[(*new, *path[len(old):])] = replace(origin, written=origin.written or path)
