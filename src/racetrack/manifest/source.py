"""Parse YAML into plain data plus where every value was written, so problems can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from racetrack.manifest.problems import FieldPath, Location, ManifestError, Problem


@dataclass(frozen=True)
class Origin:
    """Where one value was written: its own position, its key's position, and its text when unquoted.

    `implied`: a mapping no one wrote, implied by a dotted override path (`-e git.branch=x` implies `git`).
    `written`: the field's path as written, when it was another name (`("lang",)` for `("jobtype",)`).
    """

    value: Location
    key: Location | None = None
    plain: str | None = None
    implied: bool = False
    written: FieldPath | None = None


@dataclass(frozen=True)
class Respelled:
    """A field written under another name and renamed: `lang` at fatman.yaml:3:1 is `jobtype`."""

    where: Location
    written: str
    canonical: str
    deprecated: bool


@dataclass
class Document:
    """A parsed YAML document: the data, each value's origin by field path, non-fatal problems, and the
    fields renamed from another spelling."""

    data: Any
    origins: dict[FieldPath, Origin] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    respelled: list[Respelled] = field(default_factory=list)


def yaml_type_name(value: Any) -> str:
    """Name a YAML-loaded value's type the way the YAML spec does (boolean, integer, mapping...)."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "list", dict: "mapping"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def a_yaml_type(value: Any) -> str:
    """The YAML type of `value` with its article: 'a list', 'an integer', 'null'."""
    name = yaml_type_name(value)
    return name if name == "null" else f"an {name}" if name[0] in "aeiou" else f"a {name}"


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document; syntax errors raise ManifestError, duplicate keys are recorded problems."""
    loader = yaml.SafeLoader(text)
    builder = _Builder(loader, file, text)
    try:
        node = loader.get_single_node()
        data = builder.build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as error:
        raise ManifestError([_syntax_problem(error, file)]) from None
    except yaml.YAMLError as error:
        raise ManifestError([Problem(file, f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
    return Document(data, builder.origins, builder.problems)


def _syntax_problem(error: yaml.MarkedYAMLError, file: str) -> Problem:
    """Explain a YAML syntax error at the place the parser gave up, with what it was reading then."""
    mark = error.problem_mark or error.context_mark
    message = f"invalid YAML: {(error.problem or error.context or '').removeprefix('but ')}"
    start = error.context_mark
    elsewhere = start and mark and (start.line, start.column) != (mark.line, mark.column)
    if error.context and error.problem and start and elsewhere:
        message += f" ({error.context} started at line {start.line + 1}, column {start.column + 1})"
    if "'\\t'" in message:
        message += "; indent with spaces, YAML does not allow tabs"
    elif "mapping values are not allowed" in message:
        message += (
            "; a key is indented deeper than the one before it, or a value holds ': ' (quote such a value)"
        )
    return Problem.at(_location(file, mark) if mark else Location(file), message)


def _location(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


class _Builder:
    """Turn a composed node tree into Python data, recording origins and key problems on the way."""

    def __init__(self, loader: yaml.SafeLoader, file: str, text: str) -> None:
        self.loader = loader
        self.file = file
        self.text = text
        self.origins: dict[FieldPath, Origin] = {}
        self.problems: list[Problem] = []
        self._open: set[int] = set()

    def build(self, node: Node, path: FieldPath, key: Location | None = None) -> Any:
        here = _location(self.file, node.start_mark)
        plain = node.value if isinstance(node, ScalarNode) and node.style is None else None
        self.origins[path] = Origin(here, key, plain)
        if id(node) in self._open:
            self.problems.append(Problem.at(here, "an alias refers to itself; remove the recursion", path))
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            return self.loader.construct_object(node, deep=True)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any]:
        written = {id(key) for key, _ in node.value}  # keys from `<<: *anchor` may be overridden
        self.loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            where = _location(self.file, key_node.start_mark)
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                written_key = self._written(key_node)
                self.problems.append(Problem.at(
                    where, f"key {written_key!r} is read by YAML as {a_yaml_type(key)}; "
                    f"field names are text, so quote it: '{written_key}'", path))
                key = written_key
            if id(key_node) in written:
                if key in seen:
                    first = f"line {seen[key].line}, column {seen[key].column}"
                    self.problems.append(Problem.at(
                        where, f"duplicate key {key!r}: first set at {first}; keep only one", (*path, key)))
                seen[key] = where
            result[key] = self.build(value_node, (*path, key), where)
        return result

    def _written(self, node: Node) -> str:
        """A node as the user wrote it: a scalar's text, or a collection's source on one line."""
        if isinstance(node, ScalarNode):
            return str(node.value)
        return " ".join(self.text[node.start_mark.index:node.end_mark.index].split())
