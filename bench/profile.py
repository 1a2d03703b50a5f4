"""Where a server spends its CPU under load: py-spy samples it while wrk drives it, top frames printed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.apps.fastapi_app import PERFORM_PATH
from bench.process import start_server
from bench.runner import cpu_layout
from bench.servers import ServerSpec
from bench.wrk import LoadFailed, run_wrk, write_script


@dataclass(frozen=True)
class Profile:
    samples: int
    self_samples: Counter[str]
    total_samples: Counter[str]
    calls_per_s: float

    def render(self, top: int) -> str:
        lines = [
            f"{self.samples} samples while serving {self.calls_per_s:,.0f} calls/s",
            "",
            "| % self | function (file) |",
            "|---:|---|",
        ]
        lines += [
            f"| {n / self.samples:6.1%} | `{frame}` |" for frame, n in self.self_samples.most_common(top)
        ]
        lines += [
            "",
            "| % total (inclusive; frames in every sample left out) | function (file) |",
            "|---:|---|",
        ]
        inner = [(f, n) for f, n in self.total_samples.most_common() if n < 0.99 * self.samples][:top]
        lines += [f"| {n / self.samples:6.1%} | `{frame}` |" for frame, n in inner]
        return "\n".join(lines)


def parse_collapsed(text: str) -> tuple[int, Counter[str], Counter[str]]:
    """Sample count, self counts (leaf frame) and inclusive counts from py-spy's `--format raw` output."""
    total, own, inclusive = 0, Counter[str](), Counter[str]()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(frame) for frame in stack.split(";") if not frame.startswith("process ")]
        total += count
        if not frames:
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    return total, own, inclusive


def _function(frame: str) -> str:
    """`Class.method (path/file.py:123)` -> `Class.method (path/file.py)`: lines of one function add up."""
    name, _, location = frame.partition(" (")
    return f"{name} ({location.rpartition(':')[0]})" if location else name


def py_spy_path() -> str:
    path = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if path is None:
        raise LoadFailed("py-spy is not installed: run `.venv/bin/python -m pip install py-spy`")
    return path


def profile_server(spec: ServerSpec, duration_s: int, connections: int, rate: int) -> Profile:
    """Load `spec` with wrk for `duration_s` seconds while py-spy samples it at `rate` Hz."""
    cpus = cpu_layout()
    with tempfile.TemporaryDirectory(prefix="racetrack-profile-") as scratch:
        directory = Path(scratch)
        script = write_script(directory, spec.workload.name, spec.workload.body)
        server = start_server(spec, cpus.server, directory)
        try:
            server.check_answer()
            url = f"http://127.0.0.1:{server.port}{PERFORM_PATH}"
            run_wrk(url, script, connections, 1, cpus.load)  # warm-up
            output = directory / "profile.txt"
            spy = subprocess.Popen(
                [
                    "taskset",
                    "-c",
                    str(cpus.load),
                    py_spy_path(),
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--format",
                    "raw",
                    "--output",
                    str(output),
                    "--rate",
                    str(rate),
                    "--subprocesses",
                    "--gil",
                    "--duration",
                    str(duration_s),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            result = run_wrk(url, script, connections, duration_s, cpus.load)
            _, errors = spy.communicate(timeout=duration_s + 60)
            if spy.returncode != 0 or not output.exists():
                raise LoadFailed(f"py-spy failed ({spy.returncode}): {errors.strip()}")
            total, own, inclusive = parse_collapsed(output.read_text())
        finally:
            server.stop()
    return Profile(total, own, inclusive, result.calls_per_s)
