"""The wrapper's route table: the `/pub/...` prefix is split off, then one lookup decides which handler
serves a path and whether the method is allowed; every 404 and 405 of the job's own routes is raised here."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from racetrack.protocol import API_PREFIX, PUB_PREFIXES
from racetrack.wrapper.http.responses import method_not_allowed, not_found

GET = frozenset({"GET", "HEAD"})
POST = frozenset({"POST"})
ANY = None  # the route's own app (a webview, a redirect, "not ready yet") answers every method


def pub_prefix(name: str | None = None) -> re.Pattern[str]:
    """`/pub/job/{name}/{version}` and `/pub/fatman/{name}/{version}`: where a job also answers (any name
    when `name` is None)."""
    names = "|".join(re.escape(prefix) for prefix in PUB_PREFIXES)
    job = re.escape(name) if name is not None else "[^/]+"
    return re.compile(rf"(?:{names})/{job}/[A-Za-z0-9._+-]+(?=/|$)")


def split_prefix(pattern: re.Pattern[str], path: str) -> tuple[str, str]:
    """(the `/pub/...` prefix or '', the path relative to the job's root)."""
    if path.startswith("/pub/") and (match := pattern.match(path)):
        prefix = match.group()
        return prefix, path[len(prefix) :]
    return "", path


@dataclass(slots=True)
class Hit:
    """A request matched to its route: what a handler gets."""

    scope: Scope
    receive: Receive
    send: Send
    path: str  # relative to the job's root: without the /pub/... prefix
    prefix: str
    request_id: str


Handler = Callable[[Hit], Awaitable[int]]  # answers the request; returns the status sent


@dataclass(frozen=True)
class Route:
    handler: Handler
    methods: frozenset[str] | None  # None (ANY): every method goes to the handler

    def allow(self) -> str:
        return ", ".join(sorted(self.methods or ()))


@dataclass(frozen=True)
class Under:
    """Routes for the paths below `path` (and `path` itself when `itself`)."""

    path: str
    route: Route
    itself: bool = True

    def covers(self, path: str) -> bool:
        base = self.path
        if not path.startswith(base):
            return False
        if len(path) == len(base):
            return self.itself
        return path[len(base)] == "/"


@dataclass(frozen=True)
class Patterns:
    """Routes with path parameters below `base` (`auxiliary_endpoints_v2()`): one route per path template,
    allowed the methods of every route declared with that template, tried in order."""

    base: str
    templates: tuple[tuple[re.Pattern[str], Route], ...]  # matched against the path after `base`

    @classmethod
    def of(cls, base: str, routes: Iterable[Any], handler: Callable[[str, Hit], Awaitable[int]]) -> Patterns:
        """From Starlette routes (`path`, `path_regex`, `methods`); `handler` gets the matched template."""
        grouped: dict[str, tuple[re.Pattern[str], set[str]]] = {}
        for route in routes:
            if getattr(route, "path_regex", None) is not None:
                grouped.setdefault(route.path, (route.path_regex, set()))[1].update(route.methods or ())
        return cls(
            base,
            tuple(
                (regex, Route(functools.partial(handler, template), frozenset(methods)))
                for template, (regex, methods) in grouped.items()
            ),
        )

    def route_for(self, path: str) -> Route | None:
        if not path.startswith(self.base + "/"):
            return None
        rest = path[len(self.base) :]
        for regex, route in self.templates:
            if regex.match(rest):
                return route
        return None


@dataclass
class RouteTable:
    """Exact paths first (one dict lookup: the call fast path), then the prefixes and patterns in order."""

    exact: dict[str, Route] = field(default_factory=dict)
    below: list[Under | Patterns] = field(default_factory=list)

    def add(self, paths: Iterable[str], route: Route) -> None:
        for path in paths:
            self.exact[path] = route

    def resolve(self, path: str, method: str) -> Route:
        """The route serving `method path`; HTTPError 404 when no route has the path, 405 with the Allow
        header when the path's routes do not take the method."""
        route = self.exact.get(path) or self._below(path)
        if route is None:
            raise not_found(path, self._api_path_for(path))
        if route.methods is not None and method not in route.methods:
            raise method_not_allowed(method, path, route.allow())
        return route

    def _api_path_for(self, path: str) -> str | None:
        """`/api/v1{path}` when that is a route and `path` is not: the spec writes `/perform` for it."""
        if path.startswith(API_PREFIX + "/") or not path.startswith("/"):
            return None
        candidate = API_PREFIX + path
        return candidate if candidate in self.exact or self._below(candidate) is not None else None

    def _below(self, path: str) -> Route | None:
        for entry in self.below:
            if isinstance(entry, Under):
                if entry.covers(path):
                    return entry.route
            elif (route := entry.route_for(path)) is not None:
                return route
        return None
