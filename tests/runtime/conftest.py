"""Fixtures for runtime tests: real wrapper server processes serving tests/runtime/jobs/runtime_job.py."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_helpers import Server, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`server(*options, env=...)` starts a server for the runtime test job; all are stopped afterwards."""
    started: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None, **options: Any) -> Server:
        started.append(start_server(tmp_path, *args, env=env, **options))
        return started[-1]

    yield start
    for each in started:
        if each.process.poll() is None:
            os.killpg(each.process.pid, signal.SIGKILL)
            each.process.wait()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
