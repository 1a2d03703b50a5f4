"""Check data against the schema and explain each failure as a Problem pointing into the source."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from jsonschema import ValidationError

from racetrack.manifest.problems import FieldPath, Location, Problem, dotted
from racetrack.manifest.schema import field_paths, manifest_schema, required_choice, resolve, schema_errors
from racetrack.manifest.source import Origin, a_yaml_type, yaml_type_name
from racetrack.manifest.spelling import written_path

_JSON_TYPES = {"integer": {"integer", "number"}, "float": {"number"}, "boolean": {"boolean"}}
_BOUNDS = {
    "minimum": "is less than the minimum of {0}; use {0} or more",
    "maximum": "is more than the maximum of {0}; use {0} or less",
    "exclusiveMinimum": "is not more than {0}; use a number above {0}",
}
_TYPE_WORDS = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
    "object": "a mapping", "array": "a list", "null": "null",
}


def schema_problems(
    data: Any, origins: Mapping[FieldPath, Origin], fallback: Location, pointer: str = "",
    prefix: FieldPath = (), partial: bool = False,
) -> list[Problem]:
    """Every schema violation of `data` (at `prefix` in the manifest), one Problem per field.

    `partial`: `data` is only part of a manifest (an overlay), so missing required fields are fine.
    """
    found: dict[FieldPath, Problem] = {}
    for error in schema_errors(data, pointer):
        if partial and (error.validator == "required" or required_choice(error.schema)):
            continue
        for path, on_key, message in _explain(error, origins, prefix):
            path = (*prefix, *path)
            where = _locate(origins, path, on_key, fallback)
            found.setdefault(path, Problem.at(where, message, written_path(dict(origins), path)))
    return sort_problems(found.values())


def sort_problems(problems: Iterator[Problem] | Any) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0, p.field))


def _locate(
    origins: Mapping[FieldPath, Origin], path: FieldPath, on_key: bool, fallback: Location
) -> Location:
    """The recorded position of `path` (its key's when `on_key`), else of its nearest recorded parent."""
    origin = origins.get(path)
    if origin is not None:
        return (origin.key if on_key else None) or origin.value
    return _locate(origins, path[:-1], False, fallback) if path else fallback


def _explain(
    error: ValidationError, origins: Mapping[FieldPath, Origin], prefix: FieldPath
) -> Iterator[tuple[FieldPath, bool, str]]:
    """(field path, point at the key?, message) for each problem one jsonschema error stands for."""
    path: FieldPath = tuple(error.absolute_path)
    instance: Any = error.instance
    expected: Any = error.validator_value
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.relative_schema_path:
        yield (*path, instance), True, _custom(instance, schema, error)
    elif error.validator == "additionalProperties" and isinstance(instance, dict):
        known = [name for name, sub in schema.get("properties", {}).items() if not sub.get("deprecated")]
        foreign = manifest_schema()["foreignFields"] if not (*prefix, *path) else {}
        for name in instance:
            if name in foreign:
                yield (*path, name), True, f"unknown field {name!r}: it {foreign[name]}"
            elif name not in known:
                yield (*path, name), True, f"unknown field {name!r}{_suggest(name, known)}"
    elif error.validator == "anyOf" and required_choice(schema) and isinstance(instance, dict):
        name = schema["anyOf"][0]["required"][0]  # the current spelling of a field with several
        yield (*path, name), False, f"required field is missing{_purpose(_schema_at((*prefix, *path)), name)}"
    elif error.validator == "required" and isinstance(instance, dict):
        for name in expected:
            if name not in instance:
                yield (*path, name), False, f"required field is missing{_purpose(schema, name)}"
    elif error.validator == "type":
        origin = origins.get((*prefix, *path))
        yield path, False, type_message(instance, expected, origin.plain if origin else None)
    elif error.validator == "uniqueItems" and (repeats := _repeats(instance)):
        for index, first in repeats:
            message = f"{show(instance[index])} is already listed at {dotted((*prefix, *path, first))}"
            yield (*path, index), False, f"{message}; remove this one"
    elif error.validator in _BOUNDS and "errorMessage" not in schema:
        yield path, False, f"{show(instance)} {_BOUNDS[error.validator].format(error.validator_value)}"
    else:
        yield path, False, _custom(instance, schema, error)


def _repeats(items: list[Any]) -> list[tuple[int, int]]:
    """(index, index of its first occurrence) for each item of `items` that repeats an earlier one."""
    first: dict[str, int] = {}
    repeats = []
    for index, item in enumerate(items):
        seen = first.setdefault(json.dumps(item, sort_keys=True, default=repr), index)
        if seen != index:
            repeats.append((index, seen))
    return repeats


def _custom(instance: Any, schema: dict[str, Any], error: ValidationError) -> str:
    message = schema.get("errorMessage")
    return f"{show(instance)} {message}" if message else error.message


def _schema_at(path: FieldPath) -> dict[str, Any]:
    """The (resolved) schema of the manifest field at `path`; {} for a path it does not declare."""
    schema = resolve(manifest_schema())
    for part in path:
        schema = resolve(schema.get("properties", {}).get(part, {}))
    return schema


def _purpose(schema: dict[str, Any], name: str) -> str:
    description = schema.get("properties", {}).get(name, {}).get("description", "")
    first_sentence = description.split(". ")[0].rstrip(".")
    return f" ({first_sentence})" if first_sentence else ""


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    nested = {str(path[-1]): path for path in field_paths() if len(path) > 1}
    elsewhere = difflib.get_close_matches(name, list(nested), n=1, cutoff=0.75)
    if elsewhere:
        path = nested[elsewhere[0]]
        return f"; did you mean {dotted(path)} (under {dotted(path[:-1])}:)?"
    return f"; known fields here: {', '.join(known)}" if known else ""


def type_message(value: Any, expected: str | list[str], plain: str | None) -> str:
    """Explain a wrong type, calling out YAML's implicit typing (`no` is a boolean, `1.0` a float)."""
    wanted = [expected] if isinstance(expected, str) else expected
    want = " or ".join(_TYPE_WORDS.get(name, name) for name in wanted)
    got = a_yaml_type(value)
    if value is None:
        return f"has no value, expected {want}"
    if plain is not None and "string" in wanted and not isinstance(value, dict | list):
        return f"{plain} is read by YAML as {got}, expected {want}; quote it: '{plain}'"
    message = f"{show(value)} is {got}, expected {want}"
    if isinstance(value, str) and _JSON_TYPES.get(yaml_type_name(_safe_load(value)), set()) & set(wanted):
        message += "; remove the quotes"
    elif wanted == ["array"] and not isinstance(value, dict) and len(str(value)) <= 60:
        message += f"; write a list, e.g. [{value}] or one '- {value}' line per item below the key"
    return message


def show(value: Any, limit: int = 60) -> str:
    """A short repr of a user's value for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _safe_load(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
