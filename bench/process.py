"""Start a server pinned to one core, time it to its first ready answer, read its RSS and CPU time."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.apps.fastapi_app import PERFORM_PATH
from bench.servers import Probe, ServerSpec

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
# Variables that would change the wrapper's logging away from how it ships.
SCRUBBED_ENV = (
    "LOG_LEVEL",
    "LOG_STRUCTURED",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONASYNCIODEBUG",
    "PYTHONDEVMODE",
)


class ServerFailed(RuntimeError):
    """A server exited, never became ready, or answered wrongly; the message ends with its log tail."""


@dataclass
class RunningServer:
    spec: ServerSpec
    port: int
    cpu: int
    process: subprocess.Popen[bytes]
    log_path: Path
    cold_start_s: float = 0.0

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def failure(self, message: str) -> ServerFailed:
        return ServerFailed(
            f"{self.spec.name}: {message}\n--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def request(self, probe: Probe, timeout: float = 10.0) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if probe.body is not None else {}
            connection.request(probe.method, probe.path, body=probe.body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def check_answer(self) -> None:
        """Fail unless the server answers the workload's request with the right result."""
        workload = self.spec.workload
        status, body = self.request(Probe("POST", PERFORM_PATH, workload.body))
        if status != 200 or not workload.is_correct(body):
            raise self.failure(
                f"POST {PERFORM_PATH} answered {status} {body[:200]!r}, expected {workload.expected}"
            )

    def rss_mb(self) -> float:
        """Resident memory of the server and all its descendants, in MB (10^6 bytes)."""
        return sum(_rss_kb(pid) for pid in _process_tree(self.process.pid)) * 1024 / 1e6

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far by the server and its live descendants."""
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(_cpu_ticks(pid) for pid in _process_tree(self.process.pid)) / ticks

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(spec: ServerSpec, cpu: int, log_dir: Path) -> RunningServer:
    """Start `spec` on `cpu` and wait until its ready probe answers 200; time that as the cold start."""
    port = free_port()
    log_path = log_dir / f"{spec.name}.log"
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    with log_path.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            ["taskset", "-c", str(cpu), *spec.argv(port)],
            cwd=spec.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RunningServer(spec, port, cpu, process, log_path)
    deadline = started + STARTUP_TIMEOUT_S
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise server.failure(f"exited with code {process.returncode} before it was ready")
        try:
            status, _ = server.request(spec.ready, timeout=STARTUP_TIMEOUT_S)
        except OSError:
            status = 0
        if status == 200:
            server.cold_start_s = time.perf_counter() - started
            return server
        time.sleep(0.005)
    server.stop()
    raise server.failure(
        f"{spec.ready.method} {spec.ready.path} gave no 200 within {STARTUP_TIMEOUT_S:.0f} s"
    )


def core_busy_seconds(cpu: int) -> float:
    """CPU time core `cpu` has spent not idle since boot (all processes, interrupts and steal)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, line.split()[1:9])
            return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    raise ValueError(f"no cpu{cpu} line in /proc/stat")


def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
