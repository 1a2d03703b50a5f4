"""The measured servers and the comparisons between them: adding a contender is one `ServerSpec` line."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.apps.fastapi_app import PERFORM_PATH
from bench.workloads import WORKLOADS, Workload

REPO_ROOT = Path(__file__).resolve().parent.parent
APPS_DIR = Path(__file__).resolve().parent / "apps"


@dataclass(frozen=True)
class Probe:
    """The request that says a starting server is ready: the first 200 answer ends the cold start."""

    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class ServerSpec:
    name: str
    title: str
    workload: Workload
    argv: Callable[[int], list[str]]
    ready: Probe
    cwd: Path = REPO_ROOT
    requires_module: str | None = None

    def unavailable_reason(self) -> str | None:
        """Why this server cannot run in this environment, or None when it can."""
        if self.requires_module and importlib.util.find_spec(self.requires_module) is None:
            return f"module `{self.requires_module}` is not installed in {sys.prefix}"
        return None


@dataclass(frozen=True)
class Comparison:
    """`contender` against `baseline`, measured in the same rounds; `target`: minimum throughput ratio."""

    title: str
    contender: str
    baseline: str
    target: float | None = None
    resource_targets: bool = False


def wrapper(name: str, title: str, workload: Workload, entrypoint_class: str) -> ServerSpec:
    """The wrapper exactly as it ships: `python -m racetrack.wrapper run`, default settings and logging."""
    arguments = (
        f"-m racetrack.wrapper run --host 127.0.0.1 --entrypoint-path entrypoints.py "
        f"--entrypoint-class {entrypoint_class}"
    )
    return ServerSpec(
        name,
        title,
        workload,
        argv=lambda port: [sys.executable, *arguments.split(), "--port", str(port)],
        ready=Probe("GET", "/ready"),
        cwd=APPS_DIR,
        requires_module="racetrack.wrapper.__main__",
    )


def uvicorn(name: str, title: str, workload: Workload, factory: str, http: str = "httptools") -> ServerSpec:
    """A baseline app under uvicorn: uvloop + httptools (or `http`), one process, access log off."""
    arguments = (
        f"-m uvicorn --factory bench.apps.{factory} --host 127.0.0.1 --loop uvloop --http {http} "
        "--no-access-log --log-level warning"
    )
    return ServerSpec(
        name,
        title,
        workload,
        argv=lambda port: [sys.executable, *arguments.split(), "--port", str(port)],
        ready=Probe("POST", PERFORM_PATH, workload.body),
    )


MULTIPLY, SUM = WORKLOADS["multiply"], WORKLOADS["sum"]
SERVERS: dict[str, ServerSpec] = {
    s.name: s
    for s in (
        wrapper("wrapper-sync", "wrapper, `def perform`", MULTIPLY, "MultiplySync"),
        uvicorn("fastapi-sync", "FastAPI `def`", MULTIPLY, "fastapi_app:multiply_sync"),
        uvicorn("fastapi-async", "FastAPI `async def`", MULTIPLY, "fastapi_app:multiply_async"),
        wrapper("wrapper-async", "wrapper, `async def perform`", MULTIPLY, "MultiplyAsync"),
        uvicorn("starlette", "raw Starlette", MULTIPLY, "starlette_app:multiply"),
        uvicorn("starlette-h11", "raw Starlette on h11", MULTIPLY, "starlette_app:multiply", http="h11"),
        wrapper("wrapper-sum", "wrapper, `def perform`", SUM, "SumFloats"),
        uvicorn("fastapi-sum-sync", "FastAPI `def`", SUM, "fastapi_app:sum_sync"),
        uvicorn("fastapi-sum-async", "FastAPI `async def`", SUM, "fastapi_app:sum_async"),
    )
}

COMPARISONS: tuple[Comparison, ...] = (
    Comparison("Sync perform vs FastAPI `def`", "wrapper-sync", "fastapi-sync", 1.0, resource_targets=True),
    Comparison("Sync perform vs FastAPI `async def` (stretch)", "wrapper-sync", "fastapi-async", 1.0),
    Comparison(
        "Async perform vs FastAPI `async def`", "wrapper-async", "fastapi-async", 1.0, resource_targets=True
    ),
    Comparison(
        "100 KB payload vs FastAPI `def`", "wrapper-sum", "fastapi-sum-sync", 1.0, resource_targets=True
    ),
    Comparison("100 KB payload vs FastAPI `async def` (stretch)", "wrapper-sum", "fastapi-sum-async", 1.0),
    Comparison("Raw Starlette vs FastAPI `async def` (reference)", "starlette", "fastapi-async"),
    # The wrapper parses with httptools plus its own head cap (431) rather than h11, which caps heads itself:
    # this is what that choice is worth.
    Comparison("HTTP parser: httptools vs h11 (raw Starlette, reference)", "starlette", "starlette-h11"),
)

COLD_START_ALLOWANCE_S = 0.3
RSS_ALLOWANCE_MB = 15.0
