"""The OpenAPI document, built once from the endpoint contracts, and the offline Swagger UI / ReDoc pages."""

from __future__ import annotations

import html
import inspect
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from racetrack.protocol import API_PREFIX
from racetrack.wrapper.contract.paths import WEBVIEW_PATH
from racetrack.wrapper.contract.signatures import Endpoint, response_adapter
from racetrack.wrapper.contract.statics import StaticEndpoint

REF_TEMPLATE = "#/components/schemas/{model}"
# fastapi-offline ships Swagger UI and ReDoc; find its files without importing it (that imports FastAPI).
DOCS_ASSETS = Path(find_spec("fastapi_offline").submodule_search_locations[0]) / "static"
ASSET_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".png": b"image/png",
}


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    type: str
    details: list[dict[str, Any]] | None = None
    request_id: str | None = None


ERROR_RESPONSES = {
    "400": "The job rejected the input (ValueError raised by the job), or a malformed Range header",
    "404": "No such route, or no such file under a static endpoint",
    "405": "Wrong HTTP method for this route; the Allow header lists the right ones",
    "413": "Request body larger than jobtype_extra.max_body_bytes",
    "416": "The Range header asks for bytes beyond the end of the file",
    "422": "The body is not a JSON object matching the parameters",
    "429": "The job is at capacity (jobtype_extra.max_concurrency calls executing,"
    " jobtype_extra.max_queue waiting); retry after the Retry-After header's seconds",
    "500": "The job failed (any other exception), its worker process died, or its result cannot be encoded"
    " as JSON; on /live: loading the job failed",
    "503": "The job is still loading, failed to load or is shutting down",
    "504": "The call did not finish within jobtype_extra.request_timeout"
    " (or its jobtype_extra.endpoint_timeouts entry)",
}
# Every status each kind of route can answer besides 200 (all error statuses answer an ErrorBody).
CALL_ERRORS = ("400", "405", "413", "422", "429", "500", "503", "504")
_API_GET_ERRORS = ("405", "503")  # 503: still loading, failed to load, or shutting down
_STATIC_RESPONSES = {
    "206": {"description": "Part of the file (Range header)"},
    "304": {"description": "Not modified since the ETag / Last-Modified the client has"},
}
_DIRECTORY_REDIRECT = {"307": {"description": "Redirect to the directory's URL with a trailing slash"}}
_STATIC_ERRORS = ("400", "404", "405", "416", "503")
_WEBVIEW_ERRORS = ("404", "413", "503")
_HEALTH_ERRORS = {
    "/health": ("405",),
    "/live": ("405", "500"),
    "/ready": ("405", "503"),
    "/metrics": ("405",),
}


@dataclass(frozen=True)
class JobInfo:
    name: str
    version: str
    description: str = ""


def build_openapi(
    job: JobInfo, endpoints: list[Endpoint], statics: list[StaticEndpoint], has_webview: bool
) -> dict[str, Any]:
    """An OpenAPI 3.1 document of every route (without `servers`: the prefix is added per request)."""
    adapters: list[tuple[Any, Any, TypeAdapter[Any]]] = [("error", "serialization", TypeAdapter(ErrorBody))]
    for endpoint in endpoints:
        adapters.append((("request", endpoint.path), "validation", TypeAdapter(endpoint.request_model)))
        response = response_adapter(endpoint.return_annotation)
        if response is not None:
            adapters.append((("response", endpoint.path), "serialization", response))
    schemas, definitions = TypeAdapter.json_schemas(adapters, ref_template=REF_TEMPLATE)
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        paths[API_PREFIX + endpoint.path] = {
            "post": _call_operation(
                endpoint,
                schemas[(("request", endpoint.path), "validation")],
                schemas.get((("response", endpoint.path), "serialization")),
            )
        }
    paths[API_PREFIX + "/parameters"] = {
        "get": _get_operation("Parameters of perform", "API", _API_GET_ERRORS, _PARAMETERS_SCHEMA)
    }
    for static in statics:
        suffix = "/{path}" if static.is_dir else ""
        operation = _get_operation(
            f"Static {'directory' if static.is_dir else 'file'} {static.path}", "Static", _STATIC_ERRORS
        )
        operation["responses"].update(_STATIC_RESPONSES)
        if static.is_dir:
            operation["responses"].update(_DIRECTORY_REDIRECT)
            operation["parameters"] = [_PATH_PARAMETER]
        paths[API_PREFIX + static.path + suffix] = {"get": operation}
    if has_webview:
        operation = _get_operation("Custom webview UI of the job", "Webview", _WEBVIEW_ERRORS)
        operation["responses"]["default"] = {"description": "Whatever else the job's webview app answers"}
        operation["parameters"] = [_PATH_PARAMETER]
        paths[API_PREFIX + WEBVIEW_PATH + "/{path}"] = {"get": operation}
    for route, summary in _HEALTH_ROUTES.items():
        paths[route] = {"get": _get_operation(summary, "Health", _HEALTH_ERRORS[route])}
    paths["/health"]["get"]["responses"]["500"] = {
        "description": "The job is not live or not ready: the same body, with status fail (as Racetrack)"
    }
    components = dict(definitions.get("$defs", {}))  # ErrorBody and every request model land here
    return {
        "openapi": "3.1.0",
        "info": {"title": job.name, "version": job.version, "description": job.description},
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                code: {"description": text, "content": _json(_ref("ErrorBody"))}
                for code, text in ERROR_RESPONSES.items()
            },
        },
    }


def with_server(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The document with its `servers` pointing at the prefix the caller used."""
    return {**document, "servers": [{"url": prefix or "/"}]}


def _call_operation(
    endpoint: Endpoint, request: dict[str, Any], response: dict[str, Any] | None
) -> dict[str, Any]:
    description = endpoint.docs.description or f"Call {endpoint.name}"
    media: dict[str, Any] = {"schema": request}
    if endpoint.example is not None:
        media["example"] = endpoint.example
    return {
        "tags": ["API"],
        "summary": description.splitlines()[0],
        "description": description,
        "operationId": endpoint.path.strip("/").replace("/", "_").replace("-", "_") or "perform",
        "requestBody": {"required": True, "content": {"application/json": media}},
        "responses": {
            "200": {
                "description": endpoint.docs.returns or f"Result of {endpoint.name}",
                "content": _STREAM_CONTENT if _streams(endpoint) else _json(response or {}),
            },
            **{code: {"$ref": f"#/components/responses/{code}"} for code in CALL_ERRORS},
        },
    }


def _streams(endpoint: Endpoint) -> bool:
    """A generator endpoint: answers NDJSON lines, or Server-Sent Events on `Accept: text/event-stream`."""
    function = getattr(endpoint.method, "__func__", endpoint.method)
    return inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)


_STREAM_CONTENT = {
    "application/x-ndjson": {"schema": {"description": "one JSON value per line, one per item yielded"}},
    "text/event-stream": {"schema": {"type": "string", "description": "one `data:` event per item"}},
}


def _get_operation(
    summary: str, tag: str, errors: tuple[str, ...], schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "tags": [tag],
        "summary": summary,
        "responses": {
            "200": {"description": "OK", **({"content": _json(schema)} if schema else {})},
            **{code: {"$ref": f"#/components/responses/{code}"} for code in errors},
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


_PATH_PARAMETER = {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}
_PARAMETERS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "default_value": {}},
        "required": ["name", "type"],
    },
}
_HEALTH_ROUTES = {
    "/health": "Job identity and status",
    "/live": "Liveness: 200 unless loading the job failed",
    "/ready": "Readiness: 200 once the job is loaded",
    "/metrics": "Prometheus metrics",
}


def swagger_ui_html(prefix: str, title: str) -> bytes:
    """Swagger UI loading its assets and the OpenAPI document from this job (no CDN)."""
    return _page(
        title,
        prefix,
        f'<link rel="stylesheet" href="{prefix}/docs/assets/swagger-ui.css">',
        f"""<div id="swagger-ui"></div>
<script src="{prefix}/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "{prefix}/openapi.json", dom_id: "#swagger-ui", layout: "BaseLayout", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], showExtensions: true, showCommonExtensions: true
}});
</script>""",
    )


def redoc_html(prefix: str, title: str) -> bytes:
    """ReDoc reading the OpenAPI document, its script served by this job (no CDN)."""
    return _page(
        title,
        prefix,
        "",
        f'<redoc spec-url="{prefix}/openapi.json"></redoc>\n'
        f'<script src="{prefix}/docs/assets/redoc.standalone.js"></script>',
    )


def _page(title: str, prefix: str, head: str, body: str) -> bytes:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="icon" type="image/png" href="{prefix}/docs/assets/favicon.png">{head}</head>
<body>{body}</body></html>
""".encode()


def docs_asset(name: str) -> tuple[bytes, bytes] | None:
    """(content, content type) of a bundled Swagger UI / ReDoc asset, or None if there is no such asset."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or suffix not in ASSET_TYPES:
        return None
    try:
        return (DOCS_ASSETS / name).read_bytes(), ASSET_TYPES[suffix]
    except OSError:  # missing, a directory, a name too long for the filesystem
        return None
