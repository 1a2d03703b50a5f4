"""Fixtures for runtime tests: real wrapper server processes serving tests/runtime/jobs/runtime_job.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from runtime_helpers import JOB, job_options

from server_process import ServerProcess, job_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """`server(*options, env=..., job=..., wait_path=...)` starts a server for a runtime test job; all are
    stopped afterwards."""
    with ExitStack() as running:

        def start(
            *args: str, env: dict[str, str] | None = None, job: Path = JOB, wait_path: str = "/ready"
        ) -> ServerProcess:
            options = [*job_options(job), *args]
            return running.enter_context(job_server(options, env, wait_path, log_dir=tmp_path))

        yield start


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
