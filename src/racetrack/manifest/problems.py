"""What went wrong in a manifest, and where: the error type every manifest function raises."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FieldPath = tuple[str | int, ...]


def display_path(path: Path) -> str:
    """Show `path` relative to the working directory when it lies below it, else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return os.fspath(absolute)


def dotted(path: FieldPath) -> str:
    """Render a field path the way users write it: `git.remote`, `public_endpoints[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class Location:
    """A place in a source: a file (or `-e key=value` override) and, when known, a 1-based line and column."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest; str() gives `fatman.yaml:2:14: owner_email: 'moron' is not ...`."""

    file: str
    message: str
    field: str = ""
    line: int | None = None
    column: int | None = None

    @classmethod
    def at(cls, location: Location, message: str, field: FieldPath = ()) -> Problem:
        return cls(location.file, message, dotted(field), location.line, location.column)

    def __str__(self) -> str:
        where = str(Location(self.file, self.line, self.column))
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ManifestError(Exception):
    """A manifest could not be loaded; `problems` lists every reason found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(dict.fromkeys(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))


def read_text(path: Path) -> str:
    """A file's UTF-8 text; unreadable or undecodable files raise ManifestError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        message = f"is not UTF-8 text (bad byte at offset {error.start}); save it as UTF-8"
    except OSError as error:
        message = f"cannot be read: {error.strerror}"
    raise ManifestError([Problem(display_path(path), message)])
