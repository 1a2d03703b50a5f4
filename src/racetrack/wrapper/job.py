"""A loaded job: the entrypoint instance and what derives from it (endpoints, statics, webview, docs)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from racetrack.wrapper.contract import Endpoint, build_endpoint, check_example
from racetrack.wrapper.encoding import encode_json
from racetrack.wrapper.loader import LoadError, error_from_exception, instantiate, load_entrypoint_class
from racetrack.wrapper.openapi import JobInfo, build_openapi
from racetrack.wrapper.settings import JobSettings
from racetrack.wrapper.static import StaticEndpoint, build_static_endpoints, normalize_path
from racetrack.wrapper.webview import WEBVIEW_PATH, Webview, build_webview

logger = logging.getLogger("racetrack.wrapper")

BUILTIN_API_PATHS = ("/perform", "/parameters", WEBVIEW_PATH)


@dataclass
class Job:
    entrypoint: object
    endpoints: list[Endpoint]
    statics: list[StaticEndpoint]
    webview: Webview | None
    openapi: dict[str, Any]
    parameters_json: bytes


def load_job(settings: JobSettings, *, calls_run_here: bool = True) -> Job:
    """Import and instantiate the entrypoint, then derive its HTTP surface; problems raise LoadError.

    With `calls_run_here=False` (worker processes run the calls) the surface is read from an instance whose
    `__init__` has not run, so a model loaded there is not loaded in this process too; a class that needs
    its `__init__` for that (or defines `webview_app`, served here) is instantiated as usual.
    """
    root = settings.root
    entrypoint_class = load_entrypoint_class(settings.entrypoint_file, settings.entrypoint_class, root)
    if not calls_run_here:
        if getattr(entrypoint_class, "webview_app", None) is not None:
            reason = "it defines webview_app(), which the server process serves"
        else:
            try:
                return _derive_job(entrypoint_class.__new__(entrypoint_class), settings)
            except Exception as exc:
                failure = exc if isinstance(exc, LoadError) else f"{type(exc).__name__}: {exc}"
                reason = f"{failure} on an instance whose __init__ has not run"
        logger.info(
            "the server process instantiates the entrypoint because %s; a model loaded in __init__ is in "
            "memory N+1 times (python.workers = N = %d)",
            reason,
            settings.runtime.workers,
        )
    return _derive_job(instantiate(entrypoint_class, root), settings)


def _derive_job(entrypoint: object, settings: JobSettings) -> Job:
    """The endpoints, statics, webview and docs of an entrypoint instance."""
    endpoints = [build_endpoint("/perform", entrypoint.perform)]  # type: ignore[attr-defined]
    for path, method in _user_call(entrypoint, "auxiliary_endpoints", settings, {}).items():
        endpoints.append(_auxiliary_endpoint(path, method))
    _attach_examples(entrypoint, endpoints, settings)
    statics = build_static_endpoints(_user_call(entrypoint, "static_endpoints", settings, {}), settings.root)
    _check_unique_paths(endpoints, statics)
    try:
        webview = build_webview(entrypoint, settings.public_prefix + "/api/v1" + WEBVIEW_PATH, settings.root)
    except Exception as exc:
        raise error_from_exception("webview_app() failed", exc, settings.root) from exc
    info = JobInfo(settings.name, settings.version, endpoints[0].docs.description)
    return Job(
        entrypoint=entrypoint,
        endpoints=endpoints,
        statics=statics,
        webview=webview,
        openapi=build_openapi(info, endpoints, statics, webview is not None),
        parameters_json=encode_json([parameter.as_json() for parameter in endpoints[0].parameters]),
    )


def _auxiliary_endpoint(path: object, method: object) -> Endpoint:
    if not isinstance(path, str) or not path.strip("/"):
        raise LoadError(
            f"auxiliary_endpoints(): endpoint path {path!r} must be a non-empty string like '/explain'"
        )
    if not callable(method):
        raise LoadError(f"auxiliary_endpoints(): {path!r} must map to a method, got {type(method).__name__}")
    return build_endpoint(normalize_path(path), method)


def _attach_examples(entrypoint: object, endpoints: list[Endpoint], settings: JobSettings) -> None:
    """Take examples from `docs_input_examples()` (per path) and `docs_input_example()` (perform)."""
    by_path = {endpoint.path: endpoint for endpoint in endpoints}
    examples = _user_call(entrypoint, "docs_input_examples", settings, {})
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
            perform, _user_call(entrypoint, "docs_input_example", settings, None), "docs_input_example()"
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


def _user_call(entrypoint: object, name: str, settings: JobSettings, default: Any) -> Any:
    """Call an optional entrypoint method; its exceptions become LoadErrors naming it."""
    method: Callable[[], Any] | None = getattr(entrypoint, name, None)
    if method is None:
        return default
    try:
        return method()
    except Exception as exc:
        raise error_from_exception(f"{name}() failed", exc, settings.root) from exc
