"""Read a method's description and `:param x:` / `:return:` lines from its reST-style docstring."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_FIELD = re.compile(r"^:(\w+)([^:]*):\s*(.*)$")
_PARAM_KINDS = {"param", "parameter", "arg", "argument", "key", "keyword"}
_RETURN_KINDS = {"return", "returns"}


@dataclass(frozen=True)
class Docstring:
    description: str = ""
    params: dict[str, str] = field(default_factory=dict)
    returns: str = ""


def parse_docstring(obj: object) -> Docstring:
    """Split a docstring into its free text, per-parameter descriptions and the return description."""
    description: list[str] = []
    params: dict[str, str] = {}
    returns: list[str] = []
    section, param = "description", ""
    for line in (inspect.getdoc(obj) or "").splitlines():
        stripped = line.strip()
        match = _FIELD.match(stripped)
        if match:
            kind, target, rest = match.groups()
            section = "other"
            if kind in _PARAM_KINDS and target.split():
                section, param = "param", target.split()[-1]
                params[param] = rest
            elif kind in _RETURN_KINDS:
                section = "returns"
                returns.append(rest)
        elif section == "description":
            description.append(line.rstrip())
        elif section == "param" and stripped:
            params[param] = f"{params[param]} {stripped}".strip()
        elif section == "returns" and stripped:
            returns.append(stripped)
    return Docstring("\n".join(description).strip(), params, " ".join(returns).strip())
