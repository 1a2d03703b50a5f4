"""Drive load with wrk (Debian package) pinned to its own core; a Lua script posts the body and reports."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RESULT_MARKER = "BENCH_RESULT "
# `done()` prints exact figures from wrk's own histogram (microseconds), not its rounded summary text.
LUA_TEMPLATE = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = assert(io.open(%(body_path)s, "rb"))
wrk.body = file:read("*a")
file:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests": %%d, "duration_us": %%d, "connect_errors": %%d, "read_errors": %%d, '
    .. '"write_errors": %%d, "status_errors": %%d, "timeouts": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


class LoadFailed(RuntimeError):
    """wrk could not run, or the server answered with errors during the run."""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    duration_s: float
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def calls_per_s(self) -> float:
        return self.requests / self.duration_s

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadFailed(
            "wrk is not installed: run `bash scripts/setup/bench.sh` (installs Debian's wrk package)"
        )
    return path


def write_script(directory: Path, name: str, body: bytes) -> Path:
    """Write the Lua script that posts `body`; returns its path."""
    body_path = directory / f"{name}.json"
    body_path.write_bytes(body)
    script = directory / f"{name}.lua"
    script.write_text(LUA_TEMPLATE % {"body_path": json.dumps(str(body_path)), "marker": RESULT_MARKER})
    return script


def run_wrk(url: str, script: Path, connections: int, duration_s: int, cpu: int) -> LoadResult:
    """One wrk run: one thread on `cpu`, `connections` keep-alive connections for `duration_s` seconds."""
    command = [
        "taskset",
        "-c",
        str(cpu),
        wrk_path(),
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{duration_s}s",
        "--timeout",
        "10s",
        "--script",
        str(script),
        url,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        raise LoadFailed(
            f"`{' '.join(command)}` failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )
    raw = json.loads(lines[-1].removeprefix(RESULT_MARKER))
    errors = {k.removesuffix("_errors"): raw[k] for k in raw if k.endswith("_errors") or k == "timeouts"}
    return LoadResult(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        errors=errors,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
