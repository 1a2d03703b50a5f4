"""fatman.schema.json itself: a valid 2020-12 schema that documents and explains every field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from racetrack.manifest.schema import field_paths, manifest_schema

ROOT = Path(__file__).parents[2]


def _subschemas(schema: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield where, schema
        for key, value in schema.items():
            yield from _subschemas(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _subschemas(value, f"{where}/{index}")


def test_packaged_schema_is_the_repository_schema() -> None:
    assert manifest_schema() == json.loads((ROOT / "fatman.schema.json").read_text())


def test_schema_is_valid_draft_2020_12() -> None:
    schema = manifest_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_property_has_a_description() -> None:
    undocumented = [
        f"{where}/{name}" for where, schema in _subschemas(manifest_schema())
        for name, sub in (schema.get("properties") or {}).items()
        if isinstance(sub, dict) and "description" not in sub
    ]
    assert undocumented == []


def test_every_pattern_and_format_has_a_friendly_message() -> None:
    raw = [where for where, schema in _subschemas(manifest_schema())
           if ("pattern" in schema or "format" in schema) and "errorMessage" not in schema
           and not where.endswith(("/not", "/anyOf/1"))]
    assert raw == []


def test_defaults_are_valid_for_their_field() -> None:
    for where, schema in _subschemas(manifest_schema()):
        if "default" in schema:
            resolved = {**schema, "$defs": manifest_schema()["$defs"]}
            assert not list(Draft202012Validator(resolved).iter_errors(schema["default"])), where


@pytest.mark.parametrize("path", list(field_paths()), ids=lambda path: ".".join(path))
def test_docs_describe_every_field(path: tuple[str, ...]) -> None:
    docs = (ROOT / "docs" / "manifest.md").read_text()
    assert f"`{'.'.join(path)}`" in docs
