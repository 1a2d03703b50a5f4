"""SemVer precedence and `latest`: the version a user means when they name one (or none)."""

from __future__ import annotations

import re
from collections.abc import Iterable

LATEST = "latest"
SEMVER = re.compile(
    r"^(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

PrereleaseKey = tuple[tuple[int, int | str], ...]


class VersionNotFound(LookupError):
    """The wanted version of a job is not deployed; the message lists the ones that are."""


def semver_key(version: str) -> tuple[int, int, int, int, PrereleaseKey]:
    """Sort key by SemVer 2.0 precedence: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0 < 1.10.0.

    Build metadata is ignored; a string that is not SemVer sorts below every version."""
    match = SEMVER.match(version)
    if not match:
        return (-1, -1, -1, -1, ())
    pre = match["pre"]
    identifiers: PrereleaseKey = tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in (pre.split(".") if pre else ())
    )
    return (int(match["major"]), int(match["minor"]), int(match["patch"]), 0 if pre else 1, identifiers)


def resolve_version(name: str, available: Iterable[str], wanted: str | None) -> str:
    """`wanted` if deployed, or the highest SemVer for `None`/'latest'; else VersionNotFound."""
    versions = sorted(set(available), key=semver_key)
    if not versions:
        raise VersionNotFound(f"no job named {name!r} is deployed; `racetrack list` shows what is")
    if wanted in (None, LATEST):
        return versions[-1]
    if wanted in versions:
        return wanted
    raise VersionNotFound(
        f"job {name!r} has no version {wanted!r} deployed; deployed: {', '.join(versions)} "
        f"(or say '{LATEST}')"
    )
