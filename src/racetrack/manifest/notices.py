"""Informational lines about a manifest: old field names, unused Racetrack settings, public endpoints."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from racetrack.manifest.problems import FieldPath, dotted
from racetrack.manifest.schema import manifest_schema, resolve
from racetrack.manifest.source import Origin, Respelled
from racetrack.manifest.spelling import written_path


def public_endpoint_warning(endpoint: str) -> str:
    """The spec's warning for one `public_endpoints` entry; validate, deploy and control plane print it."""
    below = endpoint.rstrip("/") + "/secret"
    return (
        f"public endpoint {endpoint} answers without authentication once an admin approves it, and so does "
        f"every path below it, like {below}; use this with care"
    )


def old_names_notice(respelled: Sequence[Respelled]) -> str | None:
    """One line naming every deprecated field name used, or None when there is none."""
    places: dict[tuple[str, str], list[str]] = {}
    for each in respelled:
        if each.deprecated:
            places.setdefault((each.written, each.canonical), []).append(str(each.where))
    if not places:
        return None
    old = [f"{written} ({', '.join(dict.fromkeys(where))}) is now {canonical}"
           for (written, canonical), where in places.items()]
    return f"old field names, still accepted: {', '.join(old)}; rename them when convenient"


def unused_notice(data: dict[str, Any], origins: Mapping[FieldPath, Origin]) -> str | None:
    """One line naming every Racetrack setting set in `data` that racetrack accepts but does not use."""
    unused = [
        f"{dotted(written_path(dict(origins), path))} ({_where(origins, path)}): {reason}"
        for path, reason in _unused(data, manifest_schema(), ())
    ]
    if not unused:
        return None
    return f"Racetrack settings accepted but not used here: {'; '.join(unused)}"


def _unused(data: Any, schema: dict[str, Any], path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if not isinstance(data, dict):
        return
    properties = resolve(schema).get("properties", {})
    for key, value in data.items():
        sub = properties.get(key, {})
        if "unused" in sub:
            yield (*path, key), sub["unused"]
        else:
            yield from _unused(value, sub, (*path, key))


def _where(origins: Mapping[FieldPath, Origin], path: FieldPath) -> str:
    origin = origins.get(path)
    return str((origin.key or origin.value) if origin else "")
