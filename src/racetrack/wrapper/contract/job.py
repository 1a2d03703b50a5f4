"""A loaded job: the entrypoint instance and what derives from it (endpoints, statics, webview, docs)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from racetrack.protocol import API_PREFIX
from racetrack.wrapper.contract.encoding import encode_json
from racetrack.wrapper.contract.loader import (
    LoadError,
    error_from_exception,
    instantiate,
    load_entrypoint_class,
)
from racetrack.wrapper.contract.openapi import JobInfo, build_openapi
from racetrack.wrapper.contract.signatures import Endpoint, build_endpoint, check_example
from racetrack.wrapper.http.endpoints_v2 import EndpointsV2, build_endpoints_v2
from racetrack.wrapper.http.static import StaticEndpoint, build_static_endpoints, normalize_path
from racetrack.wrapper.http.webview import WEBVIEW_PATH, Webview, build_webview
from racetrack.wrapper.settings import JobSettings

logger = logging.getLogger("racetrack.wrapper")

BUILTIN_API_PATHS = ("/perform", "/parameters", WEBVIEW_PATH)


@dataclass(frozen=True)
class Routes:
    """The sorted paths of an entrypoint's call endpoints (perform + auxiliary) and static endpoints."""

    endpoints: tuple[str, ...]
    statics: tuple[str, ...]


@dataclass
class Job:
    entrypoint: object
    endpoints: list[Endpoint]
    statics: list[StaticEndpoint]
    webview: Webview | None
    openapi: dict[str, Any]
    parameters_json: bytes
    initialized: bool = True  # False: derived from an instance whose __init__ has not run
    endpoints_v2: EndpointsV2 | None = None  # auxiliary_endpoints_v2(), served in the server process

    @property
    def routes(self) -> Routes:
        endpoints = _sorted_paths(endpoint.path for endpoint in self.endpoints)
        return Routes(endpoints, _sorted_paths(static.path for static in self.statics))


def load_job(settings: JobSettings, *, calls_run_here: bool = True) -> Job:
    """Import and instantiate the entrypoint, then derive its HTTP surface; problems raise LoadError.

    With `calls_run_here=False` (worker processes run the calls) the surface is read from an instance whose
    `__init__` has not run, so a model loaded there is not loaded in this process too; a class that needs
    its `__init__` for that (or defines `webview_app`, served here) is instantiated as usual.
    """
    root = settings.root
    entrypoint_class = load_entrypoint_class(
        settings.entrypoint_file, settings.entrypoint_class, root, settings.manifest_file
    )
    if not calls_run_here:
        if getattr(entrypoint_class, "webview_app", None) is not None:
            reason = "it defines webview_app(), which the server process serves"
        elif getattr(entrypoint_class, "auxiliary_endpoints_v2", None) is not None:
            reason = "it defines auxiliary_endpoints_v2(), which the server process serves"
        else:
            try:
                return _derive_job(entrypoint_class.__new__(entrypoint_class), settings, initialized=False)
            except Exception as exc:
                failure = exc if isinstance(exc, LoadError) else f"{type(exc).__name__}: {exc}"
                reason = f"{failure} on an instance whose __init__ has not run"
        logger.info(
            "the server process instantiates the entrypoint because %s; a model loaded in __init__ is in "
            "memory N+1 times (jobtype_extra.workers = N = %d)",
            reason,
            settings.runtime.workers,
        )
    return _derive_job(instantiate(entrypoint_class, root), settings)


def instance_routes(entrypoint: object, root: Path) -> Routes:
    """The routes an entrypoint instance declares: what a worker process resolves calls and files for."""
    auxiliary = _user_call(entrypoint, "auxiliary_endpoints", root, {})
    statics = _user_call(entrypoint, "static_endpoints", root, {})
    return Routes(_sorted_paths(["/perform", *map(str, auxiliary)]), _sorted_paths(map(str, statics)))


def describe_route_mismatch(server: Routes, worker: Routes, server_initialized: bool) -> str | None:
    """What differs between the server process's routes and a worker's, and how to fix it; None if equal."""
    server_side = (
        "in the server process" if server_initialized else "on an instance whose __init__ has not run"
    )
    differences = [
        f"{name}() returns {list(ours)} {server_side} but {list(theirs)} after __init__ in the worker process"
        for name, ours, theirs in (
            ("auxiliary_endpoints", _auxiliary(server), _auxiliary(worker)),
            ("static_endpoints", server.statics, worker.statics),
        )
        if ours != theirs
    ]
    if not differences:
        return None
    fix = (
        "make auxiliary_endpoints() and static_endpoints() return the same paths on every instance"
        if server_initialized
        else "with workers, make auxiliary_endpoints() and static_endpoints() independent of state set in "
        "__init__"
    )
    return "; ".join(differences) + ": " + fix


def _auxiliary(routes: Routes) -> tuple[str, ...]:
    return tuple(path for path in routes.endpoints if path != "/perform")


def _sorted_paths(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(normalize_path(path) for path in paths))


def _derive_job(entrypoint: object, settings: JobSettings, *, initialized: bool = True) -> Job:
    """The endpoints, statics, webview and docs of an entrypoint instance."""
    root = settings.root
    endpoints = [build_endpoint("/perform", entrypoint.perform)]  # type: ignore[attr-defined]
    for path, method in _user_call(entrypoint, "auxiliary_endpoints", root, {}).items():
        endpoints.append(_auxiliary_endpoint(path, method))
    _attach_examples(entrypoint, endpoints, root)
    statics = build_static_endpoints(_user_call(entrypoint, "static_endpoints", root, {}), root)
    _check_unique_paths(endpoints, statics)
    try:
        webview = build_webview(entrypoint, settings.public_prefix + API_PREFIX + WEBVIEW_PATH, settings.root)
    except Exception as exc:
        raise error_from_exception("webview_app() failed", exc, settings.root) from exc
    info = JobInfo(settings.name, settings.version, endpoints[0].docs.description)
    document = build_openapi(info, endpoints, statics, webview is not None)
    endpoints_v2 = None
    if getattr(entrypoint, "auxiliary_endpoints_v2", None) is not None:
        configs = _user_call(entrypoint, "auxiliary_endpoints_v2", root, [])
        try:
            endpoints_v2 = build_endpoints_v2(configs, settings.name, settings.version)
            paths, schemas = endpoints_v2.openapi_paths()
        except LoadError:
            raise
        except Exception as exc:
            raise error_from_exception("auxiliary_endpoints_v2() cannot be served", exc, root) from exc
        document["paths"].update(paths)
        document["components"]["schemas"].update(schemas)
    return Job(
        entrypoint=entrypoint,
        endpoints=endpoints,
        statics=statics,
        webview=webview,
        openapi=document,
        parameters_json=encode_json([parameter.as_json() for parameter in endpoints[0].parameters]),
        initialized=initialized,
        endpoints_v2=endpoints_v2,
    )


def _auxiliary_endpoint(path: object, method: object) -> Endpoint:
    if not isinstance(path, str) or not path.strip("/"):
        raise LoadError(
            f"auxiliary_endpoints(): endpoint path {path!r} must be a non-empty string like '/explain'"
        )
    if not callable(method):
        raise LoadError(f"auxiliary_endpoints(): {path!r} must map to a method, got {type(method).__name__}")
    return build_endpoint(normalize_path(path), method)


def _attach_examples(entrypoint: object, endpoints: list[Endpoint], root: Path) -> None:
    """Take examples from `docs_input_examples()` (per path) and `docs_input_example()` (perform)."""
    by_path = {endpoint.path: endpoint for endpoint in endpoints}
    examples = _user_call(entrypoint, "docs_input_examples", root, {})
    if not isinstance(examples, dict):
        raise LoadError(
            f"docs_input_examples() must return a dict of endpoint path -> example, got {examples!r}"
        )
    for path, example in examples.items():
        endpoint = by_path.get(normalize_path(str(path)))
        if endpoint is None:
            raise LoadError(
                f"docs_input_examples() names endpoint {path!r}, which does not exist; use one of "
                f"{sorted(by_path)}"
            )
        endpoint.example = check_example(endpoint, example, "docs_input_examples()")
    if hasattr(entrypoint, "docs_input_example"):
        perform = by_path["/perform"]
        perform.example = check_example(
            perform, _user_call(entrypoint, "docs_input_example", root, None), "docs_input_example()"
        )


def _check_unique_paths(endpoints: list[Endpoint], statics: list[StaticEndpoint]) -> None:
    seen = {"/parameters": "a built-in route", WEBVIEW_PATH: "the built-in webview route"}
    for kind, path in [("auxiliary", e.path) for e in endpoints[1:]] + [("static", s.path) for s in statics]:
        clash = seen.get(path) or next(
            (what for other, what in seen.items() if other == WEBVIEW_PATH and path.startswith(other + "/")),
            None,
        )
        if path == "/perform" or clash:
            raise LoadError(
                f"{kind} endpoint {path} collides with {clash or 'the built-in perform route'}; rename it"
            )
        seen[path] = f"the {kind} endpoint {path}"


def _user_call(entrypoint: object, name: str, root: Path, default: Any) -> Any:
    """Call an optional entrypoint method; its exceptions become LoadErrors naming it."""
    method: Callable[[], Any] | None = getattr(entrypoint, name, None)
    if method is None:
        return default
    try:
        return method()
    except Exception as exc:
        raise error_from_exception(f"{name}() failed", exc, root) from exc
