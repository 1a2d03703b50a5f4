"""What an entrypoint instance declares: its call endpoints (with examples), static endpoints and routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from racetrack.wrapper.contract.loader import LoadError, error_from_exception
from racetrack.wrapper.contract.paths import WEBVIEW_PATH, normalize_path
from racetrack.wrapper.contract.signatures import Endpoint, build_endpoint, check_example
from racetrack.wrapper.contract.statics import StaticEndpoint, build_static_endpoints


@dataclass(frozen=True)
class Routes:
    """The sorted paths of an entrypoint's call endpoints (perform + auxiliary) and static endpoints."""

    endpoints: tuple[str, ...]
    statics: tuple[str, ...]

    @classmethod
    def of(cls, endpoints: Iterable[str], statics: Iterable[str]) -> Routes:
        """Routes from unsorted, not yet normalized paths."""
        return cls(_sorted_paths(endpoints), _sorted_paths(statics))


@dataclass(frozen=True)
class Declared:
    """The call endpoints (perform first) and the static endpoints of an entrypoint instance."""

    endpoints: list[Endpoint]
    statics: list[StaticEndpoint]


def read_declared(entrypoint: object, root: Path) -> Declared:
    """The endpoints (with their examples) and statics an instance declares; problems raise LoadError."""
    endpoints = [build_endpoint("/perform", entrypoint.perform)]  # type: ignore[attr-defined]
    for path, method in user_call(entrypoint, "auxiliary_endpoints", root, {}).items():
        endpoints.append(_auxiliary_endpoint(path, method))
    _attach_examples(entrypoint, endpoints, root)
    statics = build_static_endpoints(user_call(entrypoint, "static_endpoints", root, {}), root)
    _check_unique_paths(endpoints, statics)
    return Declared(endpoints, statics)


def instance_routes(entrypoint: object, root: Path) -> Routes:
    """The routes an entrypoint instance declares: what a worker process resolves calls and files for."""
    auxiliary = user_call(entrypoint, "auxiliary_endpoints", root, {})
    statics = user_call(entrypoint, "static_endpoints", root, {})
    return Routes.of(["/perform", *map(str, auxiliary)], map(str, statics))


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


def user_call(entrypoint: object, name: str, root: Path, default: Any) -> Any:
    """Call an optional entrypoint method; its exceptions become LoadErrors naming it."""
    method: Callable[[], Any] | None = getattr(entrypoint, name, None)
    if method is None:
        return default
    try:
        return method()
    except Exception as exc:
        raise error_from_exception(f"{name}() failed", exc, root) from exc


def _auxiliary(routes: Routes) -> tuple[str, ...]:
    return tuple(path for path in routes.endpoints if path != "/perform")


def _sorted_paths(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(normalize_path(path) for path in paths))


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
    examples = user_call(entrypoint, "docs_input_examples", root, {})
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
            perform, user_call(entrypoint, "docs_input_example", root, None), "docs_input_example()"
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
