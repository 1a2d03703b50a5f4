"""The route table alone decides 404 and 405 and splits off the /pub/... prefix."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from racetrack.wrapper.errors import HTTPError
from racetrack.wrapper.http.routing import (
    ANY,
    GET,
    POST,
    Patterns,
    Route,
    RouteTable,
    Under,
    pub_prefix,
    split_prefix,
)


async def _handler(hit: object) -> int:
    return 200


async def _other(hit: object) -> int:
    return 201


async def _v2(template: str, hit: object) -> int:
    return 202


def v2_route(path: str, regex: str, method: str) -> SimpleNamespace:
    """What Patterns reads of a FastAPI route: its template, regex and methods."""
    return SimpleNamespace(path=path, path_regex=re.compile(regex), methods={method})


def table() -> RouteTable:
    routes = RouteTable()
    routes.add(("/api/v1/perform",), Route(_handler, POST))
    routes.add(("/live",), Route(_handler, GET))
    v2 = (
        v2_route("/items/{id}", r"^/items/(?P<id>[^/]+)$", "GET"),
        v2_route("/items/{id}", r"^/items/(?P<id>[^/]+)$", "POST"),
    )
    routes.below.append(Patterns.of("/api/v1", v2, _v2))
    routes.below.append(Under("/api/v1/files", Route(_other, GET)))
    routes.below.append(Under("/api/v1/webview", Route(_handler, ANY), itself=False))
    return routes


def test_exact_paths_with_their_methods():
    routes = table()
    assert routes.resolve("/api/v1/perform", "POST").handler is _handler
    assert routes.resolve("/live", "HEAD").methods == GET


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/v1/perform", "POST"),
        ("POST", "/live", "GET, HEAD"),
        ("DELETE", "/api/v1/items/3", "GET, POST"),
        ("PUT", "/api/v1/files/a/b.txt", "GET, HEAD"),
    ],
)
def test_a_known_path_with_another_method_is_405_naming_the_allowed_ones(method, path, allow):
    with pytest.raises(HTTPError) as raised:
        table().resolve(path, method)
    error = raised.value
    assert (error.status, error.kind) == (405, "method_not_allowed")
    assert (b"allow", allow.encode()) in error.headers
    assert method in error.message and path in error.message


@pytest.mark.parametrize("path", ["/nothing", "/api/v1/filesystem", "/api/v1/webview", "/api/v1/items/1/2"])
def test_unknown_paths_are_404(path):
    with pytest.raises(HTTPError) as raised:
        table().resolve(path, "GET")
    assert (raised.value.status, raised.value.kind) == (404, "not_found")


@pytest.mark.parametrize(
    ("path", "meant"),
    [
        ("/perform", "/api/v1/perform"),
        ("/files/a.txt", "/api/v1/files/a.txt"),
        ("/items/7", "/api/v1/items/7"),
    ],
)
def test_a_404_for_a_path_without_api_v1_names_the_route_meant(path, meant):
    with pytest.raises(HTTPError) as raised:
        table().resolve(path, "POST")
    assert raised.value.status == 404
    assert f"no route {path}; did you mean {meant}? see /docs" in raised.value.message


def test_a_404_suggests_nothing_that_is_not_a_route():
    for path in ("/nothing", "/api/v1/nothing", "/webview"):
        with pytest.raises(HTTPError) as raised:
            table().resolve(path, "GET")
        assert "did you mean" not in raised.value.message, path


def test_prefixes_and_patterns_in_order():
    routes = table()
    v2 = routes.resolve("/api/v1/items/7", "POST").handler
    assert v2.func is _v2 and v2.args == ("/items/{id}",)  # type: ignore[attr-defined]
    assert routes.resolve("/api/v1/files", "GET").handler is _other
    assert routes.resolve("/api/v1/files/deep/er.txt", "GET").handler is _other
    assert routes.resolve("/api/v1/webview/anything", "PATCH").handler is _handler


def test_the_pub_prefix_is_split_for_this_job_only():
    mine = pub_prefix("adder")
    assert split_prefix(mine, "/pub/job/adder/1.2.0/api/v1/perform") == (
        "/pub/job/adder/1.2.0",
        "/api/v1/perform",
    )
    assert split_prefix(mine, "/pub/fatman/adder/latest") == ("/pub/fatman/adder/latest", "")
    assert split_prefix(mine, "/pub/job/other/1/live") == ("", "/pub/job/other/1/live")
    assert split_prefix(mine, "/pub/job/adder2/1/live") == ("", "/pub/job/adder2/1/live")
    assert split_prefix(pub_prefix(), "/pub/job/other/1/live") == ("/pub/job/other/1", "/live")
