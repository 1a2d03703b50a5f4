"""The smoke check: call every endpoint that has a docs input example with that example."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from racetrack.protocol import API_PREFIX, ENV_GATEWAY_TOKEN, GATEWAY_TOKEN_HEADER

SUMMARY_CHARS = 100


@dataclass(frozen=True)
class Example:
    path: str  # as served, e.g. /api/v1/perform
    payload: Any


@dataclass(frozen=True)
class SmokeResult:
    path: str
    ok: bool
    summary: str  # the result (shortened), or the job's error


def docs_examples(openapi: dict[str, Any]) -> list[Example]:
    """The request body examples of the POST operations in an OpenAPI document, in document order."""
    found = []
    for path, operations in (openapi.get("paths") or {}).items():
        post = operations.get("post") if isinstance(operations, dict) else None
        media = (((post or {}).get("requestBody") or {}).get("content") or {}).get("application/json") or {}
        if "example" in media:
            found.append(Example(path, media["example"]))
        else:
            for named in (media.get("examples") or {}).values():
                if isinstance(named, dict) and "value" in named:
                    found.append(Example(path, named["value"]))
    return found


def smoke_check(
    url: str, timeout_for: Callable[[str], float], secrets: Mapping[str, str] | None = None
) -> list[SmokeResult]:
    """Call each documented example on the job at `url`; `timeout_for('/perform')` bounds each call. A job
    whose `secrets` hold the gateway credential is called with it, as the gateway would call it."""
    token = (secrets or {}).get(ENV_GATEWAY_TOKEN)
    headers = {GATEWAY_TOKEN_HEADER: token} if token else {}
    try:
        openapi = httpx.get(url + "/openapi.json", headers=headers, timeout=30).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as error:
        return [SmokeResult("/openapi.json", False, f"cannot read the job's OpenAPI document: {error}")]
    results = []
    for example in docs_examples(openapi):
        endpoint = example.path.removeprefix(API_PREFIX)
        try:
            response = httpx.post(
                url + example.path, json=example.payload, headers=headers, timeout=timeout_for(endpoint)
            )
        except httpx.HTTPError as error:
            results.append(SmokeResult(example.path, False, f"no answer: {error!r}"))
            continue
        results.append(SmokeResult(example.path, response.is_success, describe(response)))
    return results


def describe(response: httpx.Response) -> str:
    """One line for a job's answer: its result, or its error's type and message."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {shorten(response.text)}"
    if response.is_success:
        return shorten(json.dumps(body, ensure_ascii=False))
    if isinstance(body, dict) and "error" in body:
        return f"HTTP {response.status_code} {body.get('type', 'error')}: {shorten(str(body['error']))}"
    return f"HTTP {response.status_code}: {shorten(json.dumps(body))}"


def shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
