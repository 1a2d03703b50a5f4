"""`auxiliary_endpoints_v2()`: Racetrack's EndpointConfig routes (GET or POST, path parameters, FastAPI's
`Annotated[..., Query()/Path()/Body()]` parameters), served by a FastAPI app in the one error shape."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute

from racetrack.protocol import API_PREFIX
from racetrack.wrapper.contract.encoding import encode_result
from racetrack.wrapper.contract.loader import LoadError
from racetrack.wrapper.errors import from_job_exception, status_kind
from racetrack.wrapper.http.responses import error_body
from racetrack.wrapper.telemetry.tracing import request_id_var

logger = logging.getLogger("racetrack.wrapper")
SUPPORTED_METHODS = ("GET", "POST")
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")  # its 422 shape, replaced by ours


@dataclass
class EndpointsV2:
    """The FastAPI app serving the v2 endpoints, and its routes (paths relative to `/api/v1`)."""

    app: Any
    routes: list[BaseRoute]

    def openapi_paths(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The paths (under /api/v1) and component schemas of FastAPI's document for these routes; their
        422 answers are ours."""
        document = self.app.openapi()
        paths = {}
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                if "422" in operation.get("responses", {}):
                    operation["responses"]["422"] = {"$ref": "#/components/responses/422"}
                operation["responses"].setdefault("500", {"$ref": "#/components/responses/500"})
            paths[API_PREFIX + path] = operations
        schemas = document.get("components", {}).get("schemas", {})
        return paths, {key: value for key, value in schemas.items() if key not in _FASTAPI_ERROR_SCHEMAS}


def build_endpoints_v2(configs: object, name: str, version: str) -> EndpointsV2:
    """A FastAPI app with one route per EndpointConfig; methods other than GET and POST are skipped with an
    error logged, as in Racetrack."""
    from fastapi import FastAPI  # imported only by jobs that use auxiliary_endpoints_v2
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    if not isinstance(configs, Iterable):
        raise LoadError(
            f"auxiliary_endpoints_v2() must return a list of EndpointConfig, got {type(configs).__name__}"
        )
    app = FastAPI(title=name, version=version, openapi_url=None, docs_url=None, redoc_url=None)
    for config in configs:
        path, method, handler = (getattr(config, key, None) for key in ("path", "method", "handler"))
        if not isinstance(path, str) or not callable(handler):
            raise LoadError(
                f"auxiliary_endpoints_v2(): {config!r} is not an EndpointConfig(path, method, handler)"
            )
        verb = str(getattr(method, "value", method)).upper()
        if verb not in SUPPORTED_METHODS:
            logger.error(
                "auxiliary_endpoints_v2(): %s %s is not served: only GET and POST are supported", verb, path
            )
            continue
        options = dict(getattr(config, "other_options", None) or {})
        route = "/" + path.lstrip("/")
        app.add_api_route(route, _guarded(handler, API_PREFIX + route), methods=[verb], **options)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    return EndpointsV2(app, list(app.router.routes))


def _guarded(handler: Callable[..., Any], url: str) -> Callable[..., Any]:
    """`handler` with FastAPI seeing its signature, its result encoded as our calls' are (numpy,
    `__to_json__` ...) and its exceptions answered in the one error shape (ValueError: 400, else 500)."""
    from starlette.exceptions import HTTPException
    from starlette.responses import Response

    try:
        signature = inspect.signature(handler, eval_str=True)  # string annotations of the job's module
    except (NameError, SyntaxError, TypeError):
        signature = inspect.signature(handler)

    def answer(result: Any) -> Any:
        if isinstance(result, Response):
            return result
        try:
            return Response(encode_result(result), media_type="application/json")
        except TypeError as exc:
            return _json(500, "internal_error", f"the result of {url} is not JSON-serializable: {exc}")

    def failed(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            raise exc
        error = from_job_exception(exc, url)
        if error.status >= 500:
            logger.error("%s failed", url, exc_info=exc)
        else:
            logger.info("%s rejected the input: %s", url, exc)
        return _json(error.status, error.kind, error.message, error.details)

    async def guarded_async(*args: Any, **kwargs: Any) -> Any:
        try:
            return answer(await handler(*args, **kwargs))
        except Exception as exc:
            return failed(exc)

    def guarded_sync(*args: Any, **kwargs: Any) -> Any:  # FastAPI runs it in its thread pool
        try:
            return answer(handler(*args, **kwargs))
        except Exception as exc:
            return failed(exc)

    guarded: Callable[..., Any] = guarded_async if inspect.iscoroutinefunction(handler) else guarded_sync

    functools.update_wrapper(guarded, handler)
    guarded.__signature__ = signature  # type: ignore[attr-defined]
    return guarded


def _json(status: int, kind: str, message: str, details: list[dict[str, Any]] | None = None) -> Any:
    from starlette.responses import Response

    body = error_body(kind, message, details, request_id_var.get())
    return Response(body, status, media_type="application/json")


async def _invalid(request: Any, exc: Any) -> Any:
    details = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
        for error in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, d['loc'][1:])) or d['loc'][0]}: {d['msg']}" for d in details[:5])
    return _json(422, "validation_error", f"invalid input for {request.url.path}: {summary}", details)


async def _http_error(request: Any, exc: Any) -> Any:
    return _json(exc.status_code, status_kind(exc.status_code), str(exc.detail))
