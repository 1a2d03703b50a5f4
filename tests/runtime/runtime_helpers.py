"""Start the real wrapper server process for runtime tests, and read process CPU time from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).parent
JOB = HERE / "jobs" / "runtime_job.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()


def start_server(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, job: Path = JOB, wait_path: str = "/ready"
) -> Server:
    """`python -m racetrack.wrapper run` for `job` with runtime flags `args` (e.g. `--workers 2`); returns
    once `wait_path` answers 200."""
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    command = [sys.executable, "-m", "racetrack.wrapper", "run", "--entrypoint-path", job.name]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--root", str(job.parent), "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its own process group: teardown kills workers too
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    wait_for(server, wait_path)
    return server


def wait_for(server: Server, path: str, status: int = 200, timeout: float = 30.0) -> httpx.Response:
    """Poll `path` until it answers `status`; fail with the server's output if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            response = httpx.get(server.url + path, timeout=1)
            if response.status_code == status:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} never answered {status} within {timeout} s:\n{server.log()}")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc, None once it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] == "Z":
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
