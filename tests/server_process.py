"""A real wrapper server process (`python -m racetrack.wrapper run ...`) on a free port, for tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")
WRAPPER_RUN = (sys.executable, "-m", "racetrack.wrapper", "run")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A running server in its own process group, an HTTP client for it and the file its output goes to."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    client: httpx.Client

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, grace: float = 15) -> int:
        """SIGTERM the server, wait up to `grace` seconds, then SIGKILL whatever is left of its group."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()


@contextlib.contextmanager
def job_server(
    args: list[str],
    env: dict[str, str] | None = None,
    wait_path: str = "/ready",
    command: Sequence[str] = WRAPPER_RUN,
    log_dir: Path | None = None,
) -> Iterator[ServerProcess]:
    """Run `command + args` on a free port; the block starts once `wait_path` answers 200, the server stops
    when it ends.

    Its output goes to a file in `log_dir`, or to a temporary file removed at the end when `log_dir` is None.
    """
    port = free_port()
    log_fd, log_name = tempfile.mkstemp(prefix=f"server-{port}-", suffix=".log", dir=log_dir)
    log_path = Path(log_name)
    with os.fdopen(log_fd, "wb") as log:
        process = subprocess.Popen(
            [*command, *args, "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills worker processes too
        )
    url = f"http://127.0.0.1:{port}"
    server = ServerProcess(process, url, log_path, httpx.Client(base_url=url, timeout=30))
    try:
        wait_for(server, wait_path)
        yield server
    finally:
        server.stop()
        if log_dir is None:
            log_path.unlink(missing_ok=True)


def wait_for(server: ServerProcess, path: str, status: int = 200, timeout: float = 60) -> httpx.Response:
    """Poll `path` until it answers `status`; fail with the server's output if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited with {server.process.returncode}:\n{server.output()}")
        with contextlib.suppress(httpx.TransportError):
            response = server.client.get(path, timeout=5)
            if response.status_code == status:
                return response
        time.sleep(0.05)
    raise AssertionError(f"{path} never answered {status} within {timeout} s:\n{server.output()}")


def poll_until(check: Callable[[], T], timeout: float, what: str) -> T:
    """Call `check` until it returns something truthy (returned); fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


def calls_executing(url: str) -> float:
    """The job's fatman_calls_executing gauge, read from /metrics."""
    match = re.search(r"^fatman_calls_executing (\S+)$", httpx.get(url + "/metrics").text, re.M)
    return float(match.group(1)) if match else 0.0
