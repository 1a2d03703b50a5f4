"""Interleaved rounds: each round starts every server fresh, then loads them in turns of one second each,
A, B, C, then C, B, A..., so that whatever else the machine does hits every server alike."""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.apps.fastapi_app import PERFORM_PATH
from bench.process import RunningServer, core_busy_seconds, start_server
from bench.servers import ServerSpec
from bench.wrk import LoadFailed, LoadResult, run_wrk, write_script

TURN_S = 1  # wrk's shortest run


@dataclass(frozen=True)
class Settings:
    rounds: int = 5
    duration_s: int = 3  # per server, connection count and round; served in turns of TURN_S
    warmup_s: int = 1
    connections: tuple[int, ...] = (16, 1)


@dataclass(frozen=True)
class Turn:
    """One wrk run against one server, with the CPU the server and other processes used meanwhile."""

    result: LoadResult
    server_cpu_s: float
    interference_pct: float  # the larger share of the server's or wrk's core other processes took


@dataclass(frozen=True)
class LoadSample:
    """A server's figures at one connection count in one round, summed over its turns."""

    server: str
    round: int
    connections: int
    calls_per_s: float
    p50_ms: float  # median over the turns
    p99_ms: float  # median over the turns
    cpu_us_per_call: float
    requests: int
    interference_pct: float  # mean over the turns

    @classmethod
    def from_turns(cls, server: str, round_index: int, connections: int, turns: list[Turn]) -> LoadSample:
        requests = sum(t.result.requests for t in turns)
        return cls(
            server=server,
            round=round_index,
            connections=connections,
            calls_per_s=requests / sum(t.result.duration_s for t in turns),
            p50_ms=statistics.median(t.result.p50_ms for t in turns),
            p99_ms=statistics.median(t.result.p99_ms for t in turns),
            cpu_us_per_call=sum(t.server_cpu_s for t in turns) / max(requests, 1) * 1e6,
            requests=requests,
            interference_pct=statistics.fmean(t.interference_pct for t in turns),
        )


@dataclass(frozen=True)
class ServerSample:
    server: str
    round: int
    cold_start_s: float
    rss_mb: float


@dataclass
class Measurements:
    load: list[LoadSample] = field(default_factory=list)
    servers: list[ServerSample] = field(default_factory=list)

    def load_values(self, server: str, connections: int, metric: str) -> dict[int, float]:
        """Per round: the value of `metric` measured on `server` at `connections`."""
        samples = (s for s in self.load if s.server == server and s.connections == connections)
        return {s.round: getattr(s, metric) for s in samples}

    def server_values(self, server: str, metric: str) -> dict[int, float]:
        return {s.round: getattr(s, metric) for s in self.servers if s.server == server}


@dataclass(frozen=True)
class CpuLayout:
    server: int
    load: int


def cpu_layout() -> CpuLayout:
    """Server on the first allowed core, load generator (and this process) on the second."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise LoadFailed(
            f"the benchmark needs 2 cores (server and load generator apart); this process has {cpus}"
        )
    return CpuLayout(server=cpus[0], load=cpus[1])


def round_order(specs: list[ServerSpec], index: int) -> list[ServerSpec]:
    """Even indexes go A, B, ...; odd ones reverse (A/B, B/A), so drift cancels out of the ratios."""
    return specs if index % 2 == 0 else specs[::-1]


def run_rounds(
    specs: list[ServerSpec], settings: Settings, log: Callable[[str], None], log_dir: Path | None = None
) -> Measurements:
    """Measure every server in `specs` for `settings.rounds` rounds; raise on any failed call."""
    cpus = cpu_layout()
    os.sched_setaffinity(0, {cpus.load})
    measurements = Measurements()
    with tempfile.TemporaryDirectory(prefix="racetrack-bench-") as scratch:
        scripts = {
            s.workload.name: write_script(Path(scratch), s.workload.name, s.workload.body) for s in specs
        }
        for round_index in range(settings.rounds):
            order = round_order(specs, round_index)
            log(f"round {round_index + 1}/{settings.rounds}: {', '.join(s.name for s in order)}")
            running: list[RunningServer] = []
            try:
                for spec in order:
                    running.append(start_server(spec, cpus.server, log_dir or Path(scratch)))
                    running[-1].check_answer()
                for server in running:
                    if settings.warmup_s:
                        load(server, scripts[server.spec.workload.name], 16, settings.warmup_s, cpus.load)
                for connections in settings.connections:
                    turns: dict[str, list[Turn]] = {server.spec.name: [] for server in running}
                    for turn_index in range(max(1, settings.duration_s // TURN_S)):
                        for server in round_order(running, turn_index):
                            script = scripts[server.spec.workload.name]
                            turns[server.spec.name].append(
                                measure_turn(server, script, connections, cpus.load)
                            )
                    for name, server_turns in turns.items():
                        measurements.load.append(
                            LoadSample.from_turns(name, round_index, connections, server_turns)
                        )
                        log(describe(measurements.load[-1]))
                for server in running:
                    measurements.servers.append(
                        ServerSample(server.spec.name, round_index, server.cold_start_s, server.rss_mb())
                    )
            finally:
                for server in running:
                    server.stop()
    return measurements


def load(server: RunningServer, script: Path, connections: int, duration_s: int, load_cpu: int) -> LoadResult:
    """Run wrk against `server`; any failed call or a dead server is an error."""
    result = run_wrk(
        f"http://127.0.0.1:{server.port}{PERFORM_PATH}", script, connections, duration_s, load_cpu
    )
    if result.error_count or server.process.poll() is not None:
        raise server.failure(
            f"{result.error_count} failed calls at {connections} connections: {result.errors}"
        )
    return result


def own_cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (wrk)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure_turn(server: RunningServer, script: Path, connections: int, load_cpu: int) -> Turn:
    cpu_before, own_before = server.cpu_seconds(), own_cpu_seconds()
    server_core, load_core = core_busy_seconds(server.cpu), core_busy_seconds(load_cpu)
    result = load(server, script, connections, TURN_S, load_cpu)
    cpu_used, own_used = server.cpu_seconds() - cpu_before, own_cpu_seconds() - own_before
    foreign = max(
        core_busy_seconds(server.cpu) - server_core - cpu_used,
        core_busy_seconds(load_cpu) - load_core - own_used,
    )
    return Turn(result, cpu_used, max(0.0, foreign) / result.duration_s * 100)


def describe(sample: LoadSample) -> str:
    return (
        f"  {sample.server:<18} c={sample.connections:<3} {sample.calls_per_s:>9,.0f} calls/s  "
        f"p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:7.2f} ms  "
        f"{sample.cpu_us_per_call:6.0f} us CPU/call  interference {sample.interference_pct:3.0f}%"
    )
