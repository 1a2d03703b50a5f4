"""The manifest's JSON Schema (fatman.schema.json): loading it, checking data, applying its defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from racetrack.manifest.problems import FieldPath

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@cache
def manifest_schema() -> dict[str, Any]:
    """The parsed fatman.schema.json shipped with the package."""
    return json.loads(files("racetrack.manifest").joinpath("fatman.schema.json").read_text(encoding="utf-8"))


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    checker.checks("email")(lambda value: not isinstance(value, str) or bool(_EMAIL.match(value)))
    return checker


@cache
def _validator(pointer: str) -> Draft202012Validator:
    root = manifest_schema()
    subschema = root
    for part in filter(None, pointer.split("/")):
        subschema = subschema[part]
    return Draft202012Validator({**subschema, "$defs": root["$defs"]}, format_checker=_format_checker())


def schema_errors(data: Any, pointer: str = "") -> Iterator[ValidationError]:
    """Every way `data` breaks the schema (or the subschema at JSON pointer `pointer`)."""
    return _validator(pointer).iter_errors(data)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    target = manifest_schema()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**resolve(target), **{key: value for key, value in schema.items() if key != "$ref"}}


def field_paths(schema: dict[str, Any] | None = None, prefix: FieldPath = ()) -> Iterator[FieldPath]:
    """Every field the schema declares, as paths: ('name',), ('git', 'remote'), ..."""
    schema = resolve(schema if schema is not None else manifest_schema())
    for name, sub in schema.get("properties", {}).items():
        yield (*prefix, name)
        if "aliasOf" not in sub:  # an alias's fields are its target's
            yield from field_paths(sub, (*prefix, name))


def apply_defaults(data: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `data` with the schema's defaults filled in and fields in the schema's order."""
    properties = resolve(schema if schema is not None else manifest_schema()).get("properties", {})
    result: dict[str, Any] = {}
    for name, sub in properties.items():
        if "aliasOf" in sub:  # aliases are renamed before this runs
            continue
        if name in data:
            value = data[name]
        elif "default" in sub:
            value = json.loads(json.dumps(sub["default"]))
        else:
            continue
        nested = isinstance(value, dict) and "properties" in resolve(sub)
        result[name] = apply_defaults(value, sub) if nested else value
    result.update((name, value) for name, value in data.items() if name not in result)
    return result


def required_fields(schema: dict[str, Any] | None = None, prefix: FieldPath = ()) -> list[FieldPath]:
    """The leaf fields every manifest must set: ('name',), ..., ('git', 'remote')."""
    schema = resolve(schema if schema is not None else manifest_schema())
    fields: list[FieldPath] = []
    choices = [part["anyOf"][0]["required"] for part in schema.get("allOf", []) if required_choice(part)]
    order = list(schema.get("properties", {}))
    names = [*schema.get("required", []), *(name for first in choices for name in first)]
    for name in sorted(names, key=order.index):
        sub = resolve(schema["properties"][name])
        fields.extend(required_fields(sub, (*prefix, name)) if sub.get("required") else [(*prefix, name)])
    return fields


def required_choice(schema: Any) -> bool:
    """Whether `schema` is `anyOf` alternatives that each require a field (one of several spellings)."""
    options = schema.get("anyOf") if isinstance(schema, dict) else None
    return bool(options) and all(set(option) == {"required"} for option in options or ())
