"""Real `racetrack server` processes, Racetrack's real client (racetrack-client 2.35.1) and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from server_process import ServerProcess, job_server

IN_CI = os.environ.get("CI") == "true"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

SERVER = (sys.executable, "-m", "racetrack", "server")
CLIENT_VENV = Path(os.environ.get("RACETRACK_CLIENT_VENV", "/opt/racetrack-client-venv"))
POSTGRES_URL = os.environ.get(
    "RACETRACK_TEST_POSTGRES_URL", "postgresql://racetrack:racetrack@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parents[2]
TEST_JOB_PREFIX = "srv-"
SHARED_JOB = "srv-python-class"  # one name, so that later deploys of it reuse the image built first


def unavailable(reason: str) -> None:
    """Skip locally; under CI=true the setup scripts must have provided it, so fail."""
    if IN_CI:
        pytest.fail(f"{reason} (scripts/setup should have installed it)")
    pytest.skip(reason)


@dataclass
class Client:
    """Racetrack's client (or ours) run with its own HOME, so ~/.racetrack/config.yaml is the test's."""

    binary: Path
    home: Path
    ours: Path = field(default_factory=lambda: Path(sys.executable).with_name("racetrack"))

    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home), "COLUMNS": "200"}

    def run(
        self, *args: str, check: bool = True, ours: bool = False, timeout: float = 600, tty: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the client; `tty`: on a pseudo-terminal (Racetrack's client logs progress only to a TTY)."""
        command = [str(self.ours if ours else self.binary), *args]
        if tty:
            result = _run_on_tty(command, self.env(), timeout)
        else:
            result = subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result


def _run_on_tty(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    master, slave = pty.openpty()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the client exited and closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
        process.wait()
    text = ANSI.sub("", b"".join(chunks).decode(errors="replace")).replace("\r\n", "\n")
    return subprocess.CompletedProcess(command, process.returncode, text, "")


@dataclass
class Server:
    """A running `racetrack server` with its data dir; restart() keeps the data dir and the port."""

    data_dir: Path
    database_url: str | None
    process: ServerProcess
    stack: contextlib.ExitStack

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def output(self) -> str:
        return self.process.output()


def start_server(data_dir: Path, database_url: str | None, log_dir: Path, *extra: str) -> Server:
    stack = contextlib.ExitStack()
    args = ["--data-dir", str(data_dir)] + (["--database-url", database_url] if database_url else [])
    args += extra
    process = stack.enter_context(job_server(args, wait_path="/health", command=SERVER, log_dir=log_dir))
    return Server(data_dir, database_url, process, stack)


@pytest.fixture(scope="session")
def client_binary() -> Path:
    binary = CLIENT_VENV / "bin" / "racetrack"
    if not binary.is_file():
        unavailable(
            f"Racetrack's client is not installed at {binary} (run scripts/setup/racetrack-client.sh)"
        )
    return binary


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the test PostgreSQL, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except Exception as error:  # noqa: BLE001 - any failure means no PostgreSQL here
        unavailable(f"no PostgreSQL at {POSTGRES_URL} ({error}); run scripts/setup/postgres.sh")
    name = f"racetrack_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_URL.rsplit("/", 1)[0]
        yield f"{base}/{name}"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_client(binary: Path, tmp: Path, server: Server) -> Client:
    client = Client(binary, tmp / "home")
    client.home.mkdir(parents=True, exist_ok=True)
    client.run("login", server.admin_token, "--remote", server.url)
    client.run("set", "remote", server.url)
    return client


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("server-sqlite")
    remove_test_jobs()
    server = start_server(base / "data", None, base)
    yield server
    server.stack.close()
    remove_test_jobs()


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("server-postgres")
    remove_test_jobs()
    server = start_server(base / "data", postgres_url, base)
    yield server
    server.stack.close()
    remove_test_jobs()


def remove_test_jobs() -> None:
    """Remove the job containers these tests deploy (all named srv-...), left by this run or a failed one."""
    import docker

    try:
        engine = docker.from_env()
    except docker.errors.DockerException:
        return
    for container in engine.containers.list(all=True, filters={"label": "racetrack.deployment"}):
        if (container.labels.get("racetrack.job.name") or "").startswith(TEST_JOB_PREFIX):
            container.remove(force=True)


def job_copy(sample: str, destination: Path, name: str) -> Path:
    """A copy of a sample job to deploy with Racetrack's client (named `name` through -e)."""
    shutil.copytree(REPO / "sample" / sample, destination)
    return destination
