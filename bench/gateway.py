"""`python -m bench gateway`: sample/python-class called directly and through `racetrack gateway`, in the same
run, interleaved turns; the gateway authorizes with a small in-process control plane (decisions cached)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench import machine
from bench.process import SCRUBBED_ENV, ServerFailed, _cpu_ticks, core_busy_seconds, free_port
from bench.report import update_document
from bench.runner import own_cpu_seconds
from bench.wrk import LoadResult, run_wrk, wrk_path
from racetrack.protocol import ENV_GATEWAY_TOKEN, gateway_token

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "sample" / "python-class"
SECRET = b"bench-gateway-secret"
TOKEN = "bench-token"
NAME, VERSION = "python-class", "0.0.1"
BODY = b'{"x": 20, "y": 5}'
DIRECT_PATH = f"/pub/job/{NAME}/{VERSION}/api/v1/perform"
GATEWAY_PATH = f"/pub/job/{NAME}/latest/api/v1/perform"
TURN_S = 1
TARGET_CONNECTIONS = 16  # the throughput and p50 targets are for 16 connections
LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(headers)s
wrk.body = %(body)s

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %%d, "duration_us": %%d, "connect_errors": %%d, "read_errors": %%d, '
    .. '"write_errors": %%d, "status_errors": %%d, "timeouts": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def control_plane(job_url: str) -> ThreadingHTTPServer:
    """Answers can-call-job for the one job and token: the gateway caches it, so it is asked rarely."""
    decision = json.dumps(
        {
            "job": {
                "name": NAME,
                "version": VERSION,
                "status": "running",
                "replica_internal_names": [job_url],
            },
            "caller": "User bench",
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            ok = self.headers.get("X-Racetrack-Auth") == TOKEN
            body = decision if ok else b'{"error": "bad token"}'
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log: Path

    def cpu_s(self) -> float:
        return _cpu_ticks(self.popen.pid) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start(name: str, argv: list[str], cpu: int, log_dir: Path, env: dict[str, str], ready: str) -> Process:
    port = free_port()
    log = log_dir / f"{name}.log"
    clean = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV} | env
    with log.open("ab") as out:
        popen = subprocess.Popen(
            ["taskset", "-c", str(cpu), *argv, "--host", "127.0.0.1", "--port", str(port)],
            env=clean,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    process = Process(name, popen, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise ServerFailed(f"{name} exited with {popen.returncode}:\n{log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", ready)
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.02)
    process.stop()
    raise ServerFailed(f"{name} never answered {ready}:\n{log.read_text()[-2000:]}")


def check_call(port: int, path: str, headers: dict[str, str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", path, body=BODY, headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200 or json.loads(body) != 100.0:
        raise ServerFailed(f"POST {path} on port {port} answered {response.status} {body[:300]!r}")


@dataclass
class Sample:
    mode: str
    connections: int
    result: LoadResult
    gateway_cpu_s: float
    job_cpu_s: float
    foreign_pct: float  # CPU other processes took on the two cores, as a share of one core


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)

    def of(self, mode: str, connections: int) -> list[Sample]:
        return [s for s in self.samples if s.mode == mode and s.connections == connections]


def measure(
    rounds: int,
    duration_s: int,
    connections: tuple[int, ...],
    log_dir: Path,
    log: Callable[[str], None],
    wrk_beside: str = "gateway",
) -> Results:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise ServerFailed(f"the gateway benchmark needs 2 cores; this process has {cpus}")
    job_cpu, gateway_cpu = cpus[0], cpus[1]
    wrk_cpu = gateway_cpu if wrk_beside == "gateway" else job_cpu
    env = {ENV_GATEWAY_TOKEN: gateway_token(SECRET, NAME, VERSION)}
    job = start(
        "job",
        [
            sys.executable,
            "-m",
            "racetrack.wrapper",
            "run",
            "--manifest",
            str(SAMPLE / "fatman.yaml"),
            "--name",
            NAME,
            "--version",
            VERSION,
        ],
        job_cpu,
        log_dir,
        env,
        "/ready",
    )
    plane = control_plane(f"http://127.0.0.1:{job.port}")
    secret_file = log_dir / "gateway-secret"
    secret_file.write_bytes(SECRET)
    gateway = None
    try:
        gateway = start(
            "gateway",
            [
                sys.executable,
                "-m",
                "racetrack",
                "gateway",
                "--server",
                f"http://127.0.0.1:{plane.server_port}",
                "--secret-file",
                str(secret_file),
                "--data-dir",
                str(log_dir / "gateway-data"),
            ],
            gateway_cpu,
            log_dir,
            {},
            "/pub/live",
        )
        direct_headers = {"X-Racetrack-Gateway-Token": env[ENV_GATEWAY_TOKEN]}
        check_call(job.port, DIRECT_PATH, direct_headers)
        check_call(gateway.port, GATEWAY_PATH, {"X-Racetrack-Auth": TOKEN})
        scripts = {
            "direct": (job.port, DIRECT_PATH, write_lua(log_dir, "direct", direct_headers)),
            "gateway": (
                gateway.port,
                GATEWAY_PATH,
                write_lua(log_dir, "gateway", {"X-Racetrack-Auth": TOKEN}),
            ),
        }
        for port, path, script in scripts.values():  # warm-up
            run_wrk(f"http://127.0.0.1:{port}{path}", script, 16, 1, wrk_cpu)
        results = Results()
        for round_index in range(rounds):
            for count in connections:
                order = ["direct", "gateway"] if round_index % 2 == 0 else ["gateway", "direct"]
                for turn in range(duration_s):
                    for mode in order if turn % 2 == 0 else order[::-1]:
                        port, path, script = scripts[mode]
                        gateway_before, job_before = gateway.cpu_s(), job.cpu_s()
                        own_before = own_cpu_seconds()
                        busy_before = core_busy_seconds(job_cpu) + core_busy_seconds(gateway_cpu)
                        result = run_wrk(f"http://127.0.0.1:{port}{path}", script, count, TURN_S, wrk_cpu)
                        if result.error_count:
                            raise ServerFailed(f"{mode}: errors during load {result.errors}")
                        gateway_used, job_used = gateway.cpu_s() - gateway_before, job.cpu_s() - job_before
                        busy = core_busy_seconds(job_cpu) + core_busy_seconds(gateway_cpu) - busy_before
                        foreign = busy - gateway_used - job_used - (own_cpu_seconds() - own_before)
                        foreign_pct = max(0.0, foreign) / result.duration_s * 100
                        sample = Sample(mode, count, result, gateway_used, job_used, foreign_pct)
                        results.samples.append(sample)
                log(f"round {round_index + 1}/{rounds}, {count} connection(s): done")
        return results
    finally:
        if gateway is not None:
            gateway.stop()
        job.stop()
        plane.shutdown()


def verdict(count: int, direct: Summary, through: Summary) -> str:
    """One line per connection count; the issue's targets are checked at TARGET_CONNECTIONS only."""
    ratio = through.calls_per_s / direct.calls_per_s
    added = through.p50_ms - direct.p50_ms
    line = f"- {count} connection(s): through the gateway **{ratio:.2f}x** the direct calls/s"
    if count == TARGET_CONNECTIONS:
        line += (
            f" (target ≥ 0.50x: {'met' if ratio >= 0.5 else '**NOT met**'}; stretch ≥ 0.75x: "
            f"{'met' if ratio >= 0.75 else 'not met'}); p50 **{added:+.2f} ms** (target ≤ +0.5 ms: "
            f"{'met' if added <= 0.5 else '**NOT met**'});"
        )
    else:
        line += f", p50 **{added:+.2f} ms** (for orientation: the targets are for {TARGET_CONNECTIONS});"
    return line + f" gateway CPU **{through.gateway_cpu_us:.0f} µs** per call."


def write_lua(directory: Path, name: str, headers: dict[str, str]) -> Path:
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    script = directory / f"gateway-{name}.lua"
    script.write_text(LUA % {"headers": lines, "body": json.dumps(BODY.decode())})
    return script


@dataclass(frozen=True)
class Summary:
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    gateway_cpu_us: float
    job_cpu_us: float
    foreign_pct: float


def summarize(samples: list[Sample]) -> Summary:
    requests = sum(s.result.requests for s in samples)
    seconds = sum(s.result.duration_s for s in samples)
    return Summary(
        calls_per_s=requests / seconds,
        p50_ms=statistics.median(s.result.p50_ms for s in samples),
        p99_ms=statistics.median(s.result.p99_ms for s in samples),
        gateway_cpu_us=sum(s.gateway_cpu_s for s in samples) / max(requests, 1) * 1e6,
        job_cpu_us=sum(s.job_cpu_s for s in samples) / max(requests, 1) * 1e6,
        foreign_pct=statistics.median(s.foreign_pct for s in samples),
    )


def render(
    results: Results,
    connections: tuple[int, ...],
    command: str,
    started: str,
    rounds: int,
    duration_s: int,
    elapsed_s: float,
    wrk_beside: str = "gateway",
    load_before: str = "",
) -> str:
    info = machine.describe(REPO_ROOT)
    lines = [
        "## Gateway: sample/python-class direct vs through `racetrack gateway` "
        f"(wrk beside the {wrk_beside})",
        "",
        f"Command: `{command}` — {rounds} round(s); per round and connection count, {duration_s} turn(s) of "
        f"{TURN_S} s each for direct and gateway calls, alternating (D, G, G, D, ...). The job "
        "(`python -m racetrack.wrapper run --manifest sample/python-class/fatman.yaml`, gateway credential "
        "check on) is pinned to core 0 and the gateway (`racetrack gateway`: uvicorn + uvloop + httptools, "
        "its own pooled HTTP/1.1 client to the job) to core 1. The machine has 2 cores, so wrk (1 thread) "
        + (
            "**shares core 1 with the gateway**: in gateway mode the gateway and the load generator compete. "
            if wrk_beside == "gateway"
            else "**shares core 0 with the job** in both modes, leaving core 1 to the gateway alone. "
        )
        + "The control plane is a small in-process fake answering can-call-job; the gateway caches its "
        "answer for 2 s, so it is asked about once per 2 s. Direct calls carry the gateway credential "
        "header, so the job does the same work in both modes. The machine is shared with other work: "
        f"load average {load_before} before, {machine.load_average()} after (1/5/15 min).",
        "",
        f"Measured {started}, took {elapsed_s / 60:.1f} min. CPU: {info.get('CPU', '?')}; "
        f"Python {info.get('Python', '?')}; git {info.get('Git revision', '?')}.",
        "",
        "| connections | mode | calls/s | p50 ms | p99 ms | gateway CPU µs/call | job CPU µs/call "
        "| other processes' CPU (median, % of a core) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for count in connections:
        direct, through = summarize(results.of("direct", count)), summarize(results.of("gateway", count))
        for mode, summary in (("direct", direct), ("gateway", through)):
            gateway_cpu = f"{summary.gateway_cpu_us:.0f}" if mode == "gateway" else "—"
            lines.append(
                f"| {count} | {mode} | {summary.calls_per_s:,.0f} | {summary.p50_ms:.2f} "
                f"| {summary.p99_ms:.2f} | {gateway_cpu} | {summary.job_cpu_us:.0f} "
                f"| {summary.foreign_pct:.0f}% |"
            )
        verdicts.append(verdict(count, direct, through))
    return "\n".join([*lines, "", *verdicts])


def gateway_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--duration", type=int, default=3, help="turns of 1 s per mode, round and count (default 3)"
    )
    parser.add_argument("--connections", default="16,1", help="connection counts (default 16,1)")
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO_ROOT / "docs" / "benchmarks.md",
        help="document to update (default docs/benchmarks.md); '-' prints only",
    )
    parser.add_argument("--log-dir", type=Path, help="keep the processes' logs here")
    parser.add_argument(
        "--wrk-beside",
        choices=("gateway", "job"),
        default="gateway",
        help="which server shares its core with wrk (2 cores: job, gateway); default gateway",
    )


def gateway_bench(args: argparse.Namespace, argv: list[str]) -> int:
    wrk_path()
    connections = tuple(int(c) for c in args.connections.split(",") if c.strip())
    started, clock, load_before = (
        time.strftime("%Y-%m-%d %H:%M %Z"),
        time.perf_counter(),
        machine.load_average(),
    )
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        results = measure(
            args.rounds,
            args.duration,
            connections,
            log_dir,
            lambda line: print(line, flush=True),
            args.wrk_beside,
        )
    text = render(
        results,
        connections,
        " ".join(["python -m bench", *argv]),
        started,
        args.rounds,
        args.duration,
        time.perf_counter() - clock,
        args.wrk_beside,
        load_before,
    )
    print(text)
    section = "gateway" if args.wrk_beside == "gateway" else "gateway-wrk-beside-job"
    if update_document(args.output, section, text):
        print(f"results written to {args.output}")
    return 0
