"""The runtime flags of `python -m racetrack.wrapper run`, derived from fatman.schema.json: the same names,
types, bounds and help as the manifest's `jobtype_extra` (`python`) fields they override."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from racetrack.manifest.schema import manifest_schema

# The jobtype_extra fields `run` can override.
RUNTIME_FIELDS = (
    "workers",
    "max_concurrency",
    "max_queue",
    "request_timeout",
    "max_body_bytes",
    "shutdown_grace",
)


@dataclass(frozen=True)
class RuntimeFlag:
    """One `--flag` with the schema's type and bounds for its field."""

    field: str
    kind: Callable[[str], float]
    minimum: float | None
    maximum: float | None
    exclusive_minimum: bool
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")

    def parse(self, text: str) -> float:
        """argparse type: the value, refused outside the schema's bounds with the bound in the message."""
        try:
            value = self.kind(text)
        except ValueError:
            kind = "an integer" if self.kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{self.flag} must be {kind}, got {text!r}") from None
        if self.minimum is not None:
            if self.exclusive_minimum and value <= self.minimum:
                raise argparse.ArgumentTypeError(
                    f"{self.flag} must be more than {self.minimum:g}, got {text}"
                )
            if not self.exclusive_minimum and value < self.minimum:
                raise argparse.ArgumentTypeError(f"{self.flag} must be at least {self.minimum:g}, got {text}")
        if self.maximum is not None and value > self.maximum:
            raise argparse.ArgumentTypeError(f"{self.flag} must be at most {self.maximum:g}, got {text}")
        return value


def runtime_flags(schema: dict[str, Any] | None = None) -> list[RuntimeFlag]:
    """A RuntimeFlag per RUNTIME_FIELDS, read from the manifest schema's job type settings."""
    properties = _settings_properties(schema or manifest_schema())
    flags = []
    for name in RUNTIME_FIELDS:
        spec = properties[name]
        exclusive = "exclusiveMinimum" in spec
        flags.append(
            RuntimeFlag(
                field=name,
                kind=int if spec.get("type") == "integer" else float,
                minimum=spec.get("exclusiveMinimum", spec.get("minimum")),
                maximum=spec.get("maximum"),
                exclusive_minimum=exclusive,
                help=str(spec.get("description", "")).replace("%", "%%"),
            )
        )
    return flags


def _settings_properties(schema: dict[str, Any]) -> dict[str, Any]:
    """The `properties` of the schema object that defines every runtime field (jobtype_extra / python)."""
    for found in _objects(schema):
        properties = found.get("properties")
        if isinstance(properties, dict) and all(name in properties for name in RUNTIME_FIELDS):
            return properties
    raise LookupError(f"fatman.schema.json defines no object with all of {', '.join(RUNTIME_FIELDS)}")


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)
