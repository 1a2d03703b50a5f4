"""`racetrack call`: a payload from the command line (JSON, YAML or @file) -> POST to a job's endpoint."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

import yaml

from racetrack.protocol import API_PREFIX

DEFAULT_ENDPOINT = "/perform"
ENDPOINT_NAME = re.compile(r"^/?[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*/?$")
PASS_THROUGH = ("/api/", "/pub/")


class PayloadError(ValueError):
    """A payload that cannot be sent; the message says how to write it."""


class _PlainLoader(yaml.SafeLoader):
    """Safe YAML where dates stay strings, so every payload value is plain JSON."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_payload(text: str | None, stdin: TextIO | None = None) -> dict[str, Any]:
    """The JSON object to send: `text` as JSON or YAML, `@file` for a file, `@-` for stdin, None for {}."""
    if text is None:
        return {}
    where = "PAYLOAD"
    if text.startswith("@"):
        where = text[1:]
        text = _read_source(where, stdin or sys.stdin)
    try:
        payload = json.loads(text)
    except ValueError:
        try:
            payload = yaml.load(text, Loader=_PlainLoader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(error, "problem", None) or error
            raise PayloadError(f"{where} is neither JSON nor YAML{at}: {problem}") from None
    if not isinstance(payload, dict):
        raise PayloadError(
            f"{where} must be an object of parameter names to values, e.g. '{{\"x\": 20, \"y\": 5}}' or "
            f"'x: 20', not {type(payload).__name__}"
        )
    return payload


def _read_source(source: str, stdin: TextIO) -> str:
    if source == "-":
        return stdin.read()
    path = Path(source).expanduser()
    try:
        return path.read_text()
    except OSError as error:
        raise PayloadError(f"cannot read payload file {source}: {error.strerror}") from None


def split_arguments(endpoint: str | None, payload: str | None) -> tuple[str, str | None]:
    """ENDPOINT and PAYLOAD of `call`; a lone argument that is no endpoint name is the payload of /perform."""
    if endpoint is not None and payload is None and not ENDPOINT_NAME.match(endpoint):
        return DEFAULT_ENDPOINT, endpoint
    return endpoint or DEFAULT_ENDPOINT, payload


def endpoint_path(endpoint: str) -> str:
    """The route of an endpoint name: 'perform', '/perform' -> /api/v1/perform; /api/... kept as given."""
    path = "/" + endpoint.lstrip("/")
    return path if path.startswith(PASS_THROUGH) else API_PREFIX + path


def curl_command(url: str, payload: dict[str, Any]) -> str:
    """The curl command line doing the same call."""
    body = json.dumps(payload, ensure_ascii=False)
    return shlex.join(["curl", "-sS", "-X", "POST", url, "-H", "Content-Type: application/json", "-d", body])
